//! The signals a worker handles, and keeping them away from a Redis call:
//! a read cut short by a signal handler loses its reply, and the caller
//! would not know whether the command ran. Every Redis call of the client
//! runs with them deferred in a working worker parent.

use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::signal::{self as nix_signal, SigSet, SigmaskHow, Signal};

/// Every signal the worker handles; a forked child puts them back to default.
pub(crate) const HANDLED: [Signal; 7] = [
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGCONT,
    Signal::SIGCHLD,
];

/// The pid of the process whose Redis calls defer its signals (the worker
/// parent while it works), or 0.
static DEFER_IN: AtomicU32 = AtomicU32::new(0);

/// Turns deferring on (for this process) or off.
pub(crate) fn defer_during_redis(on: bool) {
    DEFER_IN.store(if on { std::process::id() } else { 0 }, Ordering::SeqCst);
}

/// While alive, the worker's signals are blocked on this thread, so that a
/// Redis call is not cut short: a read on a socket with a timeout fails with
/// EINTR after any signal handler, `SA_RESTART` or not, and a reply lost
/// that way leaves the caller not knowing whether the command ran. The
/// signals arrive when it is dropped (a few microseconds later).
pub(crate) struct Deferred(SigSet);

impl Drop for Deferred {
    fn drop(&mut self) {
        let _ = nix_signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

/// A [`Deferred`] when this process is a working worker parent.
pub(crate) fn deferred() -> Option<Deferred> {
    if DEFER_IN.load(Ordering::SeqCst) != std::process::id() {
        return None;
    }
    let mut set = SigSet::empty();
    for sig in HANDLED {
        set.add(sig);
    }
    let mut old = SigSet::empty();
    nix_signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).ok()?;
    Some(Deferred(old))
}
