//! Signals as flags plus a self-pipe: a handler only sets its flag and
//! writes a byte, and a loop that polls the pipe wakes at once and reads
//! the flags. The worker and the `resque-cli` supervisor both wait so.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use signal_hook::SigId;

use crate::error::{Error, Result};

/// Handlers for a set of signals, each setting a flag of its own, and the
/// pipe they wake a waiting loop through. Dropping it removes the handlers.
///
/// ```
/// use std::time::Duration;
/// use nix::sys::signal::Signal;
///
/// let pipe = resque::SignalPipe::install(&[Signal::SIGUSR1]).unwrap();
/// nix::sys::signal::raise(Signal::SIGUSR1).unwrap();
/// pipe.wait(Duration::from_secs(5));
/// assert!(pipe.take(Signal::SIGUSR1));
/// assert!(!pipe.take(Signal::SIGUSR1)); // taken once
/// ```
pub struct SignalPipe {
    wake: UnixStream,
    flags: Vec<(Signal, Arc<AtomicBool>)>,
    ids: Vec<SigId>,
}

impl SignalPipe {
    /// Installs a handler for each of `signals`.
    pub fn install(signals: &[Signal]) -> Result<Self> {
        let pipe_error = |e| Error::os("creating the signal pipe", e);
        let (wake, notify) = UnixStream::pair().map_err(pipe_error)?;
        wake.set_nonblocking(true).map_err(pipe_error)?;
        notify.set_nonblocking(true).map_err(pipe_error)?;
        let mut pipe = SignalPipe { wake, flags: Vec::new(), ids: Vec::new() };
        for &sig in signals {
            let register = |e| Error::os(format!("installing the handler for signal {sig}"), e);
            let flag = Arc::new(AtomicBool::new(false));
            pipe.ids.push(signal_hook::flag::register(sig as i32, flag.clone()).map_err(register)?);
            let notify = notify.try_clone().map_err(register)?;
            pipe.ids.push(signal_hook::low_level::pipe::register(sig as i32, notify).map_err(register)?);
            pipe.flags.push((sig, flag));
        }
        Ok(pipe)
    }

    /// Whether `signal` arrived since the last call (and resets it).
    pub fn take(&self, signal: Signal) -> bool {
        self.flags.iter().filter(|(s, _)| *s == signal).any(|(_, flag)| flag.swap(false, Ordering::SeqCst))
    }

    /// The read end to poll along with other descriptors: readable when a
    /// signal arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Empties the pipe after a wake-up.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Waits up to `timeout` for a signal, then empties the pipe.
    pub fn wait(&self, timeout: Duration) {
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                tracing::error!("poll failed while waiting for signals: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.drain();
    }
}

impl std::fmt::Debug for SignalPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalPipe")
            .field("signals", &self.flags.iter().map(|(s, _)| s).collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
