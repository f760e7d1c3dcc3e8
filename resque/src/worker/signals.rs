//! Signals set flags and wake the worker's waits through a self-pipe; the
//! loop reads the flags. Nothing else runs in a signal handler.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{self as nix_signal, SigHandler};
use signal_hook::consts::{SIGCHLD, SIGCONT, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::SigId;

use crate::error::{Error, Result};
use crate::signal_mask::HANDLED;

/// The flags the worker's signal handlers set. Each is taken (reset) by the
/// code that acts on it, so a signal that arrives again is seen again.
pub(crate) struct Signals {
    wake: UnixStream,
    quit: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
    usr1: Arc<AtomicBool>,
    usr2: Arc<AtomicBool>,
    cont: Arc<AtomicBool>,
    child: Arc<AtomicBool>,
    ids: Vec<SigId>,
}

impl Signals {
    pub(crate) fn install() -> Result<Self> {
        let pipe_error = |e| Error::os("creating the signal pipe", e);
        let (wake, notify) = UnixStream::pair().map_err(pipe_error)?;
        wake.set_nonblocking(true).map_err(pipe_error)?;
        notify.set_nonblocking(true).map_err(pipe_error)?;
        let mut signals = Signals {
            wake,
            quit: Arc::default(),
            term: Arc::default(),
            usr1: Arc::default(),
            usr2: Arc::default(),
            cont: Arc::default(),
            child: Arc::default(),
            ids: Vec::new(),
        };
        let flags = [
            (SIGQUIT, signals.quit.clone()),
            (SIGTERM, signals.term.clone()),
            (SIGINT, signals.term.clone()),
            (SIGUSR1, signals.usr1.clone()),
            (SIGUSR2, signals.usr2.clone()),
            (SIGCONT, signals.cont.clone()),
            (SIGCHLD, signals.child.clone()),
        ];
        for (sig, flag) in flags {
            let register = |e| Error::os(format!("installing the handler for signal {sig}"), e);
            signals.ids.push(signal_hook::flag::register(sig, flag).map_err(register)?);
            let pipe = notify.try_clone().map_err(register)?;
            signals.ids.push(signal_hook::low_level::pipe::register(sig, pipe).map_err(register)?);
        }
        Ok(signals)
    }

    /// The read end to poll: readable when a signal arrived.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Empties the wake pipe after a wake-up.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// QUIT arrived since the last call.
    pub(crate) fn take_quit(&self) -> bool {
        self.quit.swap(false, Ordering::SeqCst)
    }

    /// TERM or INT arrived since the last call.
    pub(crate) fn take_term(&self) -> bool {
        self.term.swap(false, Ordering::SeqCst)
    }

    /// USR1 arrived since the last call.
    pub(crate) fn take_usr1(&self) -> bool {
        self.usr1.swap(false, Ordering::SeqCst)
    }

    /// USR2 arrived since the last call.
    pub(crate) fn take_usr2(&self) -> bool {
        self.usr2.swap(false, Ordering::SeqCst)
    }

    /// CONT arrived since the last call.
    pub(crate) fn take_cont(&self) -> bool {
        self.cont.swap(false, Ordering::SeqCst)
    }

    /// CHLD arrived since the last call.
    pub(crate) fn take_child(&self) -> bool {
        self.child.swap(false, Ordering::SeqCst)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
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
