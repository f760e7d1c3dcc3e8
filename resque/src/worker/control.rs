//! What signals ask of a worker (stop, stop the child, pause, resume), and
//! the waits that wake for them.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::signals::Signals;
use super::{StopReason, Worker};
use crate::hooks::WorkerHook;

/// What signals have asked of the worker so far.
#[derive(Debug, Default)]
pub(super) struct Control {
    pub(super) graceful_term: bool,
    pub(super) stop: Option<StopReason>,
    /// TERM or INT was received once: another one stops the worker at once.
    pub(super) terminating: bool,
    /// Paused by USR2 until CONT.
    pub(super) paused: bool,
}

/// What the signals received since the last look ask of the worker.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Requests {
    /// Stop the running child (TERM, INT, USR1).
    pub(super) stop_child: bool,
    /// Kill the running child at once (a second TERM or INT).
    pub(super) kill_child: bool,
}

impl Control {
    /// Takes the signals received since the last look and updates the
    /// state; returns what they ask of a running child.
    pub(super) fn read(&mut self, signals: &Signals, id: &str) -> Requests {
        let mut requests = Requests::default();
        if signals.take_quit() {
            tracing::info!(worker = id, "QUIT: finishing the current job, then stopping");
            self.stop.get_or_insert(StopReason::Quit);
        }
        if signals.take_term() {
            if self.graceful_term {
                tracing::info!(
                    worker = id,
                    "TERM with GRACEFUL_TERM: finishing the current job, then stopping"
                );
                self.stop.get_or_insert(StopReason::Quit);
            } else if self.terminating {
                tracing::info!(worker = id, "second TERM/INT: stopping now");
                requests.kill_child = true;
            } else {
                tracing::info!(worker = id, "TERM/INT: stopping the current job and exiting");
                self.terminating = true;
                self.stop = Some(StopReason::Terminated);
                requests.stop_child = true;
            }
        }
        if signals.take_usr1() {
            tracing::info!(worker = id, "USR1: stopping the current job, then going on");
            requests.stop_child = true;
        }
        if signals.take_usr2() {
            tracing::info!(worker = id, "USR2: pausing after the current job");
            self.paused = true;
        }
        if signals.take_cont() && self.paused {
            tracing::info!(worker = id, "CONT: resuming");
            self.paused = false;
        }
        requests
    }
}

impl Worker {
    /// Runs `before_pause` when a pause starts and `after_pause` when it ends.
    pub(super) fn pause_spell(&mut self, paused: bool) {
        if paused != self.spells.1 {
            self.spells.1 = paused;
            let event = if paused { WorkerHook::BeforePause } else { WorkerHook::AfterPause };
            self.run_hooks(event, None);
        }
    }

    /// Takes the signals received since the last look (see [`Control::read`]).
    pub(super) fn read_signals(&mut self) -> Requests {
        self.control.read(&self.signals, &self.id)
    }

    /// Sleeps up to `duration`, waking at once for a signal.
    pub(super) fn sleep(&mut self, duration: Duration) {
        self.wait(duration, false);
    }

    /// Waits up to `duration` for a signal and, `until_published`, for a
    /// job (see `idle.rs`).
    pub(super) fn wait(&mut self, duration: Duration, until_published: bool) {
        let deadline = Instant::now() + duration;
        let paused = self.control.paused;
        loop {
            self.read_signals();
            if self.control.stop.is_some() || self.control.paused != paused {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            self.heartbeat_if_due();
            let left = (deadline - now).min(self.options.heartbeat_interval);
            let woke = match until_published {
                true => self.wait_for_job(left),
                false => self.wait_for_signal(left, None),
            };
            if woke {
                return;
            }
        }
    }

    /// Waits up to `at_most` for a signal, or for `also` to be readable;
    /// returns whether `also` was.
    pub(super) fn wait_for_signal(
        &self,
        at_most: Duration,
        also: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> bool {
        let timeout = PollTimeout::try_from(at_most).unwrap_or(PollTimeout::MAX);
        let mut fds = vec![PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
        fds.extend(also.map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                tracing::error!("poll failed while sleeping: {e}");
                std::thread::sleep(at_most);
            }
        }
        let also_ready = fds.get(1).and_then(PollFd::revents).is_some_and(|r| !r.is_empty());
        self.signals.drain();
        self.signals.take_child();
        also_ready
    }
}
