//! `--background`: the classic daemon sequence, done before the worker
//! installs a signal handler and while the process has a single thread.
//!
//! fork; the child calls setsid (a new session, no controlling terminal) and
//! forks again, so that the daemon is not a session leader and can never
//! acquire a terminal; the daemon changes to `/`, reads stdin from
//! `/dev/null`, and keeps stdout and stderr unless they are a terminal (then
//! they go to `/dev/null` too), so that a service manager's or a shell
//! redirection's log file keeps receiving the logs. The process that was
//! started waits until the daemon reports that it is ready (pidfile written,
//! worker or supervisor set up) or failed, and exits accordingly.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};

use crate::CliError;

/// Which side of [`daemonize`] this process is on.
pub(crate) enum Daemonized {
    /// The process that was started: the daemon is ready; exit with this.
    Parent(ExitCode),
    /// The daemon: carry on, and report through this once ready.
    Daemon(Ready),
}

/// The daemon's line back to the process that started it.
#[derive(Debug)]
pub(crate) struct Ready {
    pipe: File,
}

impl Ready {
    /// Tells the starting process that the daemon is running.
    pub(crate) fn ok(mut self) {
        let _ = writeln!(self.pipe, "ok {}", std::process::id());
    }

    /// Tells the starting process that the daemon could not start, and why.
    pub(crate) fn fail(mut self, message: &str) {
        let _ = write!(self.pipe, "error {message}");
    }
}

fn os(what: &'static str) -> impl Fn(nix::errno::Errno) -> CliError {
    move |e| CliError::Os { what, source: std::io::Error::from(e) }
}

/// Detaches from the terminal. Returns [`Daemonized::Parent`] in the process
/// that called it (once the daemon has called [`Ready::ok`] or
/// [`Ready::fail`], or exited) and [`Daemonized::Daemon`] in the daemon.
pub(crate) fn daemonize() -> Result<Daemonized, CliError> {
    ensure_single_threaded()?;
    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(os("creating a pipe"))?;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    #[allow(unsafe_code)]
    // SAFETY: the process has one thread (checked above; the CLI starts no
    // thread and no async runtime before this point), so no other thread can
    // hold a lock or be mid-update of state the child inherits; the child
    // goes on running ordinary single-threaded Rust code.
    let forked = unsafe { fork() }.map_err(os("forking the background process"))?;
    match forked {
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut report = String::new();
            let _ = File::from(read_end).read_to_string(&mut report);
            let _ = waitpid(child, None);
            if let Some(pid) = report.strip_prefix("ok ") {
                tracing::info!(pid = pid.trim(), "running in the background");
                Ok(Daemonized::Parent(ExitCode::SUCCESS))
            } else if let Some(message) = report.strip_prefix("error ") {
                Err(CliError::Background(message.to_string()))
            } else {
                Err(CliError::Background(
                    "the background process exited before it was ready (its stderr has the reason)".into(),
                ))
            }
        }
        ForkResult::Child => {
            drop(read_end);
            let mut pipe = File::from(write_end);
            if let Err(e) = detach() {
                let _ = write!(pipe, "error {e}");
                signal_hook::low_level::exit(1);
            }
            Ok(Daemonized::Daemon(Ready { pipe }))
        }
    }
}

/// In the first child: new session, second fork (the middle process exits),
/// then the daemon's working directory and standard streams.
fn detach() -> Result<(), CliError> {
    nix::unistd::setsid().map_err(os("starting a new session (setsid)"))?;
    #[allow(unsafe_code)]
    // SAFETY: as in `daemonize`: this process is the single-threaded child of
    // a single-threaded process.
    let forked = unsafe { fork() }.map_err(os("forking the daemon"))?;
    if let ForkResult::Parent { .. } = forked {
        // The session leader goes; `_exit` skips destructors and atexit
        // handlers, which belong to the daemon now.
        signal_hook::low_level::exit(0);
    }
    nix::unistd::chdir("/").map_err(os("changing to /"))?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|source| CliError::Os { what: "opening /dev/null", source })?;
    nix::unistd::dup2_stdin(&null).map_err(os("redirecting stdin"))?;
    if std::io::stdout().is_terminal() {
        nix::unistd::dup2_stdout(&null).map_err(os("redirecting stdout"))?;
    }
    if std::io::stderr().is_terminal() {
        nix::unistd::dup2_stderr(&null).map_err(os("redirecting stderr"))?;
    }
    Ok(())
}

/// fork copies only the calling thread; refuse if there is any other.
fn ensure_single_threaded() -> Result<(), CliError> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return Ok(()) };
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(1);
    if threads > 1 {
        return Err(CliError::Background(format!(
            "cannot daemonize a process with {threads} threads: only the calling thread survives fork"
        )));
    }
    Ok(())
}
