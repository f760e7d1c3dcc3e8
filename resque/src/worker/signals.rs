//! The worker's signals: flags and a self-pipe (see `SignalPipe`) that
//! wake its waits; the loop reads the flags. Nothing else runs in a signal
//! handler.

use std::os::fd::BorrowedFd;

use nix::sys::signal::{self as nix_signal, SigHandler, Signal};

use crate::error::Result;
use crate::signal_mask::HANDLED;
use crate::signal_pipe::SignalPipe;

/// The worker's signals (see [`HANDLED`]), each taken (reset) by the code
/// that acts on it, so a signal that arrives again is seen again.
pub(crate) struct Signals(SignalPipe);

impl Signals {
    pub(crate) fn install() -> Result<Self> {
        SignalPipe::install(&HANDLED).map(Signals)
    }

    /// The read end to poll: readable when a signal arrived.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.0.fd()
    }

    /// Empties the wake pipe after a wake-up.
    pub(crate) fn drain(&self) {
        self.0.drain();
    }

    /// QUIT arrived since the last call.
    pub(crate) fn take_quit(&self) -> bool {
        self.0.take(Signal::SIGQUIT)
    }

    /// TERM or INT arrived since the last call.
    pub(crate) fn take_term(&self) -> bool {
        let term = self.0.take(Signal::SIGTERM);
        self.0.take(Signal::SIGINT) | term
    }

    /// USR1 arrived since the last call.
    pub(crate) fn take_usr1(&self) -> bool {
        self.0.take(Signal::SIGUSR1)
    }

    /// USR2 arrived since the last call.
    pub(crate) fn take_usr2(&self) -> bool {
        self.0.take(Signal::SIGUSR2)
    }

    /// CONT arrived since the last call.
    pub(crate) fn take_cont(&self) -> bool {
        self.0.take(Signal::SIGCONT)
    }

    /// CHLD arrived since the last call.
    pub(crate) fn take_child(&self) -> bool {
        self.0.take(Signal::SIGCHLD)
    }
}

/// In a forked child: every signal the worker handles back to its default,
/// so that TERM and INT end the job and QUIT does what it does to any process.
pub(crate) fn reset_in_child() {
    for sig in HANDLED {
        #[allow(unsafe_code)]
        // SAFETY: called in the freshly forked, single-threaded child before
        // the job runs; installing SIG_DFL runs no handler code and replaces
        // the parent's handlers, which must not run in the child.
        let _ = unsafe { nix_signal::signal(sig, SigHandler::SigDfl) };
    }
}
