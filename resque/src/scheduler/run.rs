//! The scheduler's loop: hold the lock, fire due schedules, promote due
//! items, then sleep until the earliest due second (no fixed poll), woken
//! at once by a signal or by `delayed_wake`, and never longer than
//! `check_interval`. Redis being away is logged and retried, never fatal.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use super::plan::{self, Plan};
use super::{promote, Scheduler};
use crate::error::Result;
use crate::signal_pipe::SignalPipe;
use crate::wake::Wake;

/// What one look did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Whether this scheduler leads.
    pub leading: bool,
    /// Delayed items promoted.
    pub promoted: usize,
    /// Schedule runs enqueued.
    pub enqueued: usize,
    /// How long to sleep before the next look.
    pub wait: Duration,
}

impl Scheduler {
    /// Runs until QUIT, TERM or INT, then releases the lock if it is ours.
    pub fn run(&mut self) -> Result<()> {
        let signals = SignalPipe::install(&[Signal::SIGQUIT, Signal::SIGTERM, Signal::SIGINT])?;
        self.wake = Some(Wake::new(self.client.clone(), self.client.keys().delayed_wake_channel()));
        let (key, value) = self.lock();
        tracing::info!(lock = key, value, "scheduler starting");
        let mut failing = false;
        loop {
            if [Signal::SIGQUIT, Signal::SIGTERM, Signal::SIGINT].iter().any(|s| signals.take(*s)) {
                break;
            }
            if let Some(wake) = self.wake.as_mut() {
                // Published before this look: the look sees it.
                let _ = wake.drain();
                wake.ensure();
            }
            let was_leading = self.leading;
            let wait = match self.run_once() {
                Ok(tick) => {
                    if failing {
                        tracing::info!("Redis answers again");
                        failing = false;
                    }
                    if tick.leading != was_leading {
                        tracing::info!(
                            leading = tick.leading,
                            "{}",
                            if tick.leading { "leading" } else { "not leading" }
                        );
                    }
                    tick.wait
                }
                Err(e) => {
                    if !failing {
                        tracing::error!("scheduler cannot reach Redis, retrying: {e}");
                        failing = true;
                    }
                    self.leading = false;
                    self.options.check_interval
                }
            };
            self.sleep(&signals, wait);
        }
        match self.lock.release(&self.client) {
            Ok(true) => tracing::info!("scheduler stopped; lock released"),
            Ok(false) => tracing::info!("scheduler stopped"),
            Err(e) => tracing::warn!("scheduler stopped; could not release the lock (it expires): {e}"),
        }
        Ok(())
    }

    /// Sleeps up to `wait`, woken by a signal or a publish on `delayed_wake`.
    fn sleep(&mut self, signals: &SignalPipe, wait: Duration) {
        if wait.is_zero() {
            return;
        }
        // Rounded up, so the look after it is on or past the due instant.
        let ms = wait.as_micros().div_ceil(1000);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds = vec![PollFd::new(signals.fd(), PollFlags::POLLIN)];
        if let Some(fd) = self.wake.as_ref().and_then(Wake::fd) {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                tracing::error!("poll failed while sleeping: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// One look: takes or renews the lock; when leading, reloads changed
    /// dynamic schedules, fires due slots and promotes due items. Returns
    /// how long to sleep before the next look.
    pub fn run_once(&mut self) -> Result<Tick> {
        let started = Instant::now();
        let mut tick = Tick { leading: false, promoted: 0, enqueued: 0, wait: self.options.check_interval };
        let was_leading = self.leading;
        self.leading = self.lock.hold(&self.client)?;
        if !self.leading {
            self.plan = Plan::default();
            return Ok(tick);
        }
        if !was_leading {
            tick.enqueued = self.start_plan()?;
        } else if self.options.dynamic {
            self.plan.reload_changed(&self.client, self.registry.as_ref())?;
        }
        let fired = self.plan.fire_due(&self.client, &self.lock, Timestamp::now())?;
        tick.enqueued += fired.enqueued;
        let promoted = if fired.deposed {
            promote::Promoted { moved: 0, deposed: true }
        } else {
            promote::promote_due(&self.client, &self.lock, Timestamp::now().as_second())?
        };
        tick.promoted = promoted.moved;
        if fired.deposed || promoted.deposed {
            self.leading = false;
            self.plan = Plan::default();
            return Ok(tick);
        }
        tick.leading = true;
        let now = Timestamp::now();
        let mut wake_at = promote::earliest(&self.client)?.and_then(|s| Timestamp::from_second(s).ok());
        if let Some(next) = self.plan.next() {
            wake_at = Some(wake_at.map_or(next, |at| at.min(next)));
        }
        if let Some(at) = wake_at {
            let until = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
            tick.wait = tick.wait.min(until);
        }
        let took = started.elapsed();
        if tick.promoted + tick.enqueued > 0 {
            tracing::debug!(promoted = tick.promoted, enqueued = tick.enqueued, ?took, "look");
        }
        Ok(tick)
    }

    /// Becomes leader: loads the dynamic schedules (emptying
    /// `schedules_changed`, as Ruby's scheduler does at load) and plans
    /// every schedule from its last run. Returns how many missed slots it
    /// enqueued.
    fn start_plan(&mut self) -> Result<usize> {
        let dynamic = if self.options.dynamic {
            let key = self.client.keys().schedules_changed();
            self.client.with_conn(|conn| redis::cmd("DEL").arg(&key).query::<()>(conn))?;
            plan::dynamic_schedules(&self.client)?
        } else {
            Vec::new()
        };
        let schedules = plan::merged(&self.options.schedules, dynamic);
        // A slot within a lock's lifetime (and a look) of now was missed by
        // the leader change, not by downtime.
        let grace = self.options.lock_ttl + self.options.check_interval + Duration::from_secs(1);
        let (plan, fired) = Plan::start(&self.client, &self.lock, schedules, self.registry.as_ref(), grace)?;
        self.plan = plan;
        if fired.deposed {
            self.leading = false;
        }
        Ok(fired.enqueued)
    }
}
