//! A job in a forked child: the fork, the child's set-up, run and `_exit`,
//! and the parent's watch over it (heartbeat, signals, the time limit),
//! with whatever ends the child turned into a [`JobFailure`].

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use serde_json::Value;

use super::signals::{self, Signals};
use crate::error::{Error, Result};
use crate::job::JobFailure;
use crate::payload::exception;
use crate::perform::perform;
use crate::registry::JobEntry;

/// What the parent learns about a finished child.
pub(crate) struct ChildOutcome {
    pub(crate) result: Result<(), JobFailure>,
    /// The child reported the outcome itself (and so ran the job's
    /// `on_failure` hooks); when not, the worker runs them.
    pub(crate) reported: bool,
}

/// What the worker wants done with a running child, checked at every wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildAction {
    /// Let it run.
    Continue,
    /// Stop it as the [`StopPolicy`] says (TERM, INT, USR1).
    Stop,
    /// Kill it now (a second TERM or INT).
    StopNow,
}

/// How a child is stopped: Ruby's `TERM_CHILD`, `RESQUE_PRE_SHUTDOWN_TIMEOUT`
/// and `RESQUE_TERM_TIMEOUT`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopPolicy {
    pub(crate) term_child: bool,
    pub(crate) pre_shutdown: Duration,
    pub(crate) term_timeout: Duration,
}

/// Where a child being stopped is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopping {
    No,
    /// Given `pre_shutdown` to finish before TERM.
    Grace {
        term_at: Instant,
    },
    /// Sent TERM; KILL follows.
    Termed {
        kill_at: Instant,
    },
    Killed,
}

/// The parent's view of one running child.
struct Watch {
    child: Pid,
    policy: StopPolicy,
    stopping: Stopping,
    deadline: Option<Instant>,
    timed_out: Option<Duration>,
}

impl Watch {
    fn signal(&self, signal: Signal) {
        tracing::info!(pid = self.child.as_raw(), %signal, "stopping the job's child");
        let _ = kill(self.child, signal);
    }

    fn term(&mut self, now: Instant) {
        self.signal(Signal::SIGTERM);
        self.stopping = Stopping::Termed { kill_at: now + self.policy.term_timeout };
    }

    fn kill_now(&mut self) {
        if self.stopping != Stopping::Killed {
            self.signal(Signal::SIGKILL);
            self.stopping = Stopping::Killed;
        }
    }

    fn act(&mut self, action: ChildAction, now: Instant) {
        match action {
            ChildAction::Continue => {}
            ChildAction::StopNow => self.kill_now(),
            ChildAction::Stop if self.stopping == Stopping::No => {
                if !self.policy.term_child {
                    self.kill_now();
                } else if self.policy.pre_shutdown.is_zero() {
                    self.term(now);
                } else {
                    self.stopping = Stopping::Grace { term_at: now + self.policy.pre_shutdown };
                }
            }
            ChildAction::Stop => {}
        }
    }

    /// Moves the stop along and enforces the job's deadline.
    fn advance(&mut self, now: Instant, limit: Option<Duration>) {
        if let (Some(deadline), Some(limit)) = (self.deadline, limit) {
            if now >= deadline && self.timed_out.is_none() {
                self.timed_out = Some(limit);
                if matches!(self.stopping, Stopping::No | Stopping::Grace { .. }) {
                    self.term(now);
                }
            }
        }
        match self.stopping {
            Stopping::Grace { term_at } if now >= term_at => self.term(now),
            Stopping::Termed { kill_at } if now >= kill_at => self.kill_now(),
            _ => {}
        }
    }

    /// The next instant something is due.
    fn next_due(&self) -> Option<Instant> {
        let stop = match self.stopping {
            Stopping::Grace { term_at } => Some(term_at),
            Stopping::Termed { kill_at } => Some(kill_at),
            _ => None,
        };
        let deadline = self.deadline.filter(|_| self.timed_out.is_none());
        stop.into_iter().chain(deadline).min()
    }
}

/// How the parent supervises a child: its callbacks and limits.
pub(crate) struct Supervision<'a> {
    pub(crate) signals: &'a Signals,
    /// Called once the child runs, before waiting for it.
    pub(crate) started: &'a mut dyn FnMut(),
    /// Called once, when the child has run this long.
    pub(crate) running_long: Option<(Duration, &'a mut dyn FnMut())>,
    /// Called at every wake-up: what to do with the child.
    pub(crate) on_wake: &'a mut dyn FnMut() -> ChildAction,
    /// Called every `tick_every` (the heartbeat).
    pub(crate) tick: &'a mut dyn FnMut(),
    pub(crate) tick_every: Duration,
    pub(crate) policy: StopPolicy,
    /// The job's hard time limit.
    pub(crate) timeout: Option<Duration>,
}

/// Forks a child that sets `child_title` (a whole process title) and runs the job, then waits for it
/// while beating the heart, watching for signals and enforcing the timeout.
pub(crate) fn in_child(
    entry: &JobEntry,
    queue: &str,
    args: Vec<Value>,
    child_title: &str,
    after_fork: &dyn Fn(),
    supervision: Supervision<'_>,
) -> Result<ChildOutcome> {
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::os("creating the job's result pipe", std::io::Error::from(e)))?;
    let worker = nix::unistd::getpid();
    #[allow(unsafe_code)]
    // SAFETY: the worker parent is single-threaded (it runs no async runtime
    // and spawns no threads), so no lock is held by another thread at this
    // point and the child may allocate and run the job. The child never
    // returns from this function: it ends with `_exit`.
    let forked = unsafe { fork() };
    match forked.map_err(|e| Error::os("forking a child for the job", std::io::Error::from(e)))? {
        ForkResult::Child => {
            die_with(worker);
            drop(read_end);
            child_main(entry, queue, args, child_title, after_fork, write_end)
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            crate::procline::set(&format!("Forked {child} at {}", jiff::Timestamp::now().as_second()));
            tracing::debug!(pid = child.as_raw(), class = entry.class, "forked a child for the job");
            (supervision.started)();
            wait_for_child(child, read_end, supervision)
        }
    }
}

/// In a forked child, first of all: the child gets SIGKILL when `worker`
/// (its parent, which forked it from its only thread) dies, so that no job
/// runs on without its worker; the job is then recovered from the dead
/// worker's in-flight list and runs again. If the worker died before the
/// request took effect (the child was already handed to another parent),
/// the child ends at once, as the signal would have ended it.
#[cfg(target_os = "linux")]
fn die_with(worker: Pid) {
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL) {
        // Only a sandbox forbidding prctl gets here: the job still runs.
        tracing::warn!("the job's child cannot ask to die with its worker: {e}");
    }
    if nix::unistd::getppid() != worker {
        let _ = kill(nix::unistd::getpid(), Signal::SIGKILL);
        signal_hook::low_level::exit(1)
    }
}

/// Elsewhere a child whose worker dies runs its job to the end.
#[cfg(not(target_os = "linux"))]
fn die_with(_worker: Pid) {}

fn child_main(
    entry: &JobEntry,
    queue: &str,
    args: Vec<Value>,
    title: &str,
    after_fork: &dyn Fn(),
    report: OwnedFd,
) -> ! {
    signals::reset_in_child();
    crate::procline::set_title(title);
    after_fork();
    let result = perform(entry, queue, args);
    let code = match &result {
        Ok(()) => 0,
        Err(failure) => {
            let mut pipe = std::fs::File::from(report);
            let message = serde_json::to_vec(&ChildReport::from(failure)).unwrap_or_default();
            let _ = pipe.write_all(&message);
            1
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    signal_hook::low_level::exit(code)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ChildReport {
    exception: String,
    error: String,
    backtrace: Vec<String>,
}

impl From<&JobFailure> for ChildReport {
    fn from(f: &JobFailure) -> Self {
        ChildReport { exception: f.exception.clone(), error: f.error.clone(), backtrace: f.backtrace.clone() }
    }
}

fn wait_for_child(child: Pid, report: OwnedFd, sup: Supervision<'_>) -> Result<ChildOutcome> {
    let Supervision { signals, on_wake, tick, tick_every, policy, timeout, running_long, .. } = sup;
    let started = Instant::now();
    let mut running_long = running_long.map(|(after, call)| (started + after, call));
    let mut watch = Watch {
        child,
        policy,
        stopping: Stopping::No,
        deadline: timeout.map(|t| started + t),
        timed_out: None,
    };
    let mut report = Some(std::fs::File::from(report));
    let mut message = Vec::new();
    let mut next_tick = started + tick_every;
    loop {
        if let Some(status) = reap(child)? {
            if let Some(mut pipe) = report.take() {
                set_nonblocking(&pipe);
                let _ = pipe.read_to_end(&mut message);
            }
            let reported = matches!(status, WaitStatus::Exited(..)) && !message.is_empty();
            let result = match watch.timed_out {
                Some(limit) => Err(timeout_failure(limit, status)),
                None => outcome(status, &message),
            };
            return Ok(ChildOutcome { result, reported: reported && watch.timed_out.is_none() });
        }
        let now = Instant::now();
        watch.act(on_wake(), now);
        watch.advance(now, timeout);
        if now >= next_tick {
            tick();
            next_tick = now + tick_every;
        }
        if running_long.as_ref().is_some_and(|(at, _)| now >= *at) {
            if let Some((_, call)) = running_long.take() {
                call();
            }
        }
        let mut due = watch.next_due().map_or(next_tick, |d| d.min(next_tick));
        if let Some((at, _)) = &running_long {
            due = due.min(*at);
        }
        let wait = due.saturating_duration_since(now).min(Duration::from_secs(1));
        let wait = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        let mut fds = vec![PollFd::new(signals.fd(), PollFlags::POLLIN)];
        if let Some(pipe) = &report {
            fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, wait) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::os("waiting for the job's child", std::io::Error::from(e))),
        }
        let pipe_ready = fds.get(1).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
        signals.drain();
        signals.take_child();
        if pipe_ready {
            if let Some(pipe) = report.as_mut() {
                let mut buf = [0u8; 8192];
                match pipe.read(&mut buf) {
                    Ok(0) => report = None,
                    Ok(n) => message.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => report = None,
                }
            }
        }
    }
}

fn timeout_failure(limit: Duration, status: WaitStatus) -> JobFailure {
    let how = match status {
        WaitStatus::Signaled(_, signal, _) => format!("stopped with {}", signal.as_str()),
        WaitStatus::Exited(_, code) => format!("exited with status {code} after SIGTERM"),
        _ => "stopped".to_string(),
    };
    JobFailure::new(
        exception::JOB_TIMEOUT,
        format!("the job ran longer than its timeout of {limit:?} and was {how}"),
    )
}

fn set_nonblocking(file: &std::fs::File) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    if let Ok(flags) = fcntl(file, FcntlArg::F_GETFL) {
        let _ = fcntl(file, FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK));
    }
}

fn reap(child: Pid) -> Result<Option<WaitStatus>> {
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(Some(status)),
            Ok(_) => return Ok(None),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("waiting for the job's child", std::io::Error::from(e))),
        }
    }
}

fn outcome(status: WaitStatus, message: &[u8]) -> Result<(), JobFailure> {
    let reported = serde_json::from_slice::<ChildReport>(message).ok();
    match status {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Exited(_, code) => Err(match reported {
            Some(r) => JobFailure { exception: r.exception, error: r.error, backtrace: r.backtrace },
            None => {
                JobFailure::new(exception::DIRTY_EXIT, format!("Child process exited with status {code}"))
            }
        }),
        WaitStatus::Signaled(_, signal, _) => Err(JobFailure::new(
            exception::DIRTY_EXIT,
            format!("Child process received unhandled signal {} ({})", signal.as_str(), signal as i32),
        )),
        _ => Err(JobFailure::new(exception::DIRTY_EXIT, "Child process ended in an unknown state")),
    }
}
