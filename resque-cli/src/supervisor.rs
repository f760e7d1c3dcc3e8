//! `--count N`: a supervisor process that runs N workers, each this same
//! binary re-executed with the same arguments minus `--count`, `--pidfile`
//! and `--background` (and without `COUNT`, `PIDFILE` and `BACKGROUND` in its
//! environment).
//!
//! Like the worker it stays single-threaded: signal handlers only set flags
//! and write to a self-pipe; one loop polls that pipe, passes signals on,
//! reaps children with `waitpid` and starts replacements.
//!
//! - QUIT, TERM and INT go to every worker (QUIT: finish the current job;
//!   TERM/INT: stop now), nothing is restarted any more, and the supervisor
//!   exits once every worker has.
//! - USR1, USR2 and CONT go to every worker.
//! - A worker that exits non-zero, or is killed by a signal the supervisor
//!   did not send it, is restarted after a backoff: 1 s, doubling while it
//!   keeps dying within 30 s of its start, at most 60 s. A worker that exits
//!   0 on its own (its queues drained with `-i 0`, or its own QUIT) is not.
//! - On Linux each worker gets QUIT if the supervisor dies (SIGKILL, say),
//!   so that no worker outlives it unsupervised.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use resque::SignalPipe;

use crate::daemon::Ready;
use crate::{title, CliError};

/// Flags and values the workers must not get: the supervisor alone detaches,
/// writes the pidfile and counts.
const TAKEN_FLAGS: [&str; 3] = ["--count", "--pidfile", "--background"];
const TAKEN_ENV: [&str; 3] = ["COUNT", "PIDFILE", "BACKGROUND"];

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A worker that ran this long before dying restarts after [`FIRST_BACKOFF`].
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// What to run: `count` copies of `program args...`.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    count: u32,
    program: PathBuf,
    args: Vec<OsString>,
    title_prefix: String,
}

impl Plan {
    /// The plan for this process's command line `args` (program name first).
    /// Relative `--config` paths are made absolute against `cwd`, since a
    /// background supervisor runs in `/`.
    pub(crate) fn new(
        count: u32,
        args: &[OsString],
        cwd: &Path,
        title_prefix: Option<&str>,
    ) -> Result<Self, CliError> {
        let program = std::env::current_exe()
            .map_err(|source| CliError::Os { what: "finding this program to run the workers", source })?;
        Ok(Plan {
            count,
            program,
            args: worker_args(args, cwd),
            title_prefix: title_prefix.unwrap_or_default().to_string(),
        })
    }
}

/// The worker's arguments: `args` without the program name and the taken flags.
fn worker_args(args: &[OsString], cwd: &Path) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let Some(text) = arg.to_str() else {
            out.push(arg.clone());
            continue;
        };
        if text == "--" {
            out.push(arg.clone());
            out.extend(rest.cloned());
            break;
        }
        if text == "--background" || TAKEN_FLAGS.iter().any(|f| text.starts_with(&format!("{f}="))) {
            continue;
        }
        if TAKEN_FLAGS.contains(&text) {
            rest.next();
            continue;
        }
        if text == "--config" {
            out.push(arg.clone());
            if let Some(path) = rest.next() {
                out.push(cwd.join(path).into_os_string());
            }
            continue;
        }
        if let Some(path) = text.strip_prefix("--config=") {
            let mut joined = OsString::from("--config=");
            joined.push(cwd.join(path));
            out.push(joined);
            continue;
        }
        out.push(arg.clone());
    }
    out
}

/// Signals passed on to the workers; QUIT, TERM and INT also stop the supervisor.
const FORWARDED: [Signal; 6] =
    [Signal::SIGQUIT, Signal::SIGTERM, Signal::SIGINT, Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGCONT];

/// The supervisor's signals: the forwarded ones and CHLD.
struct Signals(SignalPipe);

impl Signals {
    fn install() -> Result<Self, CliError> {
        let mut all = FORWARDED.to_vec();
        all.push(Signal::SIGCHLD);
        Ok(Signals(SignalPipe::install(&all)?))
    }

    /// The forwarded signals that arrived since the last call, in a fixed order.
    fn take(&self) -> Vec<Signal> {
        self.0.take(Signal::SIGCHLD);
        FORWARDED.into_iter().filter(|sig| self.0.take(*sig)).collect()
    }

    /// Waits up to `timeout` for a signal.
    fn wait(&self, timeout: Duration) {
        self.0.wait(timeout);
    }
}

/// One worker place.
struct Slot {
    number: u32,
    pid: Option<Pid>,
    started: Instant,
    /// Signals sent to the current process.
    sent: Vec<Signal>,
    /// When to (re)start the worker, if it is to run.
    start_at: Option<Instant>,
    /// Deaths in a row, each soon after its start.
    failures: u32,
}

/// The supervisor's loop.
struct Supervisor {
    plan: Plan,
    signals: Signals,
    slots: Vec<Slot>,
    stopping: bool,
}

/// Runs the plan until QUIT, TERM or INT (passed on to the workers) and
/// every worker has exited, or until every worker has exited 0 by itself.
pub(crate) fn run(plan: Plan, ready: &mut Option<Ready>) -> Result<ExitCode, CliError> {
    let signals = Signals::install()?;
    let now = Instant::now();
    let slots = (1..=plan.count)
        .map(|number| Slot {
            number,
            pid: None,
            started: now,
            sent: Vec::new(),
            start_at: Some(now),
            failures: 0,
        })
        .collect();
    let mut supervisor = Supervisor { plan, signals, slots, stopping: false };
    tracing::info!(
        workers = supervisor.plan.count,
        program = %supervisor.plan.program.display(),
        "supervising {} workers",
        supervisor.plan.count
    );
    supervisor.start_due();
    if let Some(ready) = ready.take() {
        ready.ok();
    }
    supervisor.run_loop();
    tracing::info!("supervisor stopped");
    Ok(ExitCode::SUCCESS)
}

impl Supervisor {
    fn run_loop(&mut self) {
        loop {
            for sig in self.signals.take() {
                self.forward(sig);
            }
            self.reap();
            if !self.stopping {
                self.start_due();
            }
            let running = self.slots.iter().any(|s| s.pid.is_some());
            let pending = self.slots.iter().filter_map(|s| s.start_at).min();
            if !running && (self.stopping || pending.is_none()) {
                return;
            }
            let timeout = match pending {
                Some(at) if !self.stopping => at.saturating_duration_since(Instant::now()),
                _ => Duration::from_secs(1),
            };
            self.signals.wait(timeout.min(Duration::from_secs(1)));
        }
    }

    fn forward(&mut self, sig: Signal) {
        let stop = matches!(sig, Signal::SIGQUIT | Signal::SIGTERM | Signal::SIGINT);
        if stop && !self.stopping {
            self.stopping = true;
            for slot in &mut self.slots {
                slot.start_at = None;
            }
        }
        let mut pids = Vec::new();
        for slot in &mut self.slots {
            if let Some(pid) = slot.pid {
                if !slot.sent.contains(&sig) {
                    slot.sent.push(sig);
                }
                match kill(pid, sig) {
                    Ok(()) => pids.push(pid.as_raw()),
                    Err(e) => tracing::warn!(pid = pid.as_raw(), "could not send {sig} to worker: {e}"),
                }
            }
        }
        tracing::info!(?pids, "passed {sig} on to {} workers", pids.len());
        self.set_title();
    }

    /// Collects every exited worker and decides on its replacement.
    fn reap(&mut self) {
        loop {
            let (pid, exit) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, Err(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, Ok(sig)),
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => {
                    tracing::error!("waitpid failed in the supervisor: {e}");
                    return;
                }
            };
            let stopping = self.stopping;
            let Some(slot) = self.slots.iter_mut().find(|s| s.pid == Some(pid)) else { continue };
            slot.pid = None;
            // Ok(signal) when killed by a signal, Err(status) when it exited.
            let (how, expected) = match exit {
                Err(code) => (format!("exited with status {code}"), code == 0),
                Ok(sig) => (format!("was killed by {sig}"), slot.sent.contains(&sig)),
            };
            let (number, pid) = (slot.number, pid.as_raw());
            if stopping || expected {
                tracing::info!(worker = number, pid, "worker {how}");
            } else {
                if slot.started.elapsed() >= STABLE_AFTER {
                    slot.failures = 0;
                }
                let delay = FIRST_BACKOFF.saturating_mul(1 << slot.failures.min(6)).min(MAX_BACKOFF);
                slot.failures += 1;
                slot.start_at = Some(Instant::now() + delay);
                tracing::warn!(worker = number, pid, "worker {how}; restarting it in {delay:?}");
            }
            self.set_title();
        }
    }

    /// Starts every worker whose time has come.
    fn start_due(&mut self) {
        let now = Instant::now();
        let mut changed = false;
        for slot in &mut self.slots {
            if slot.pid.is_some() || slot.start_at.is_none_or(|at| at > now) {
                continue;
            }
            slot.start_at = None;
            slot.sent.clear();
            slot.started = now;
            changed = true;
            match spawn(&self.plan) {
                Ok(pid) => {
                    slot.pid = Some(pid);
                    tracing::info!(worker = slot.number, pid = pid.as_raw(), "started worker");
                }
                Err(e) => {
                    let delay = FIRST_BACKOFF.saturating_mul(1 << slot.failures.min(6)).min(MAX_BACKOFF);
                    slot.failures += 1;
                    slot.start_at = Some(now + delay);
                    tracing::error!(
                        worker = slot.number,
                        "could not start worker: {e}; retrying in {delay:?}"
                    );
                }
            }
        }
        if changed {
            self.set_title();
        }
    }

    fn set_title(&self) {
        let pids: Vec<String> =
            self.slots.iter().filter_map(|s| s.pid).map(|p| p.as_raw().to_string()).collect();
        let status = if self.stopping {
            format!("Stopping, waiting for {} workers ({})", pids.len(), pids.join(" "))
        } else {
            format!("Supervising {} workers ({})", self.plan.count, pids.join(" "))
        };
        title::set(&format!("{}{}: {status}", self.plan.title_prefix, title::SUPERVISOR));
    }
}

fn spawn(plan: &Plan) -> std::io::Result<Pid> {
    let mut cmd = Command::new(&plan.program);
    cmd.args(&plan.args);
    for var in TAKEN_ENV {
        cmd.env_remove(var);
    }
    quit_with_parent(&mut cmd);
    let child = cmd.spawn()?;
    // The child is reaped by `waitpid(-1)` in the loop; dropping the handle
    // neither waits for nor kills it.
    Ok(Pid::from_raw(child.id() as i32))
}

/// On Linux: the worker is sent QUIT when the supervisor dies.
#[cfg(target_os = "linux")]
fn quit_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid();
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec and only makes
    // two async-signal-safe system calls (prctl, getppid); building the error
    // from an errno allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGQUIT).map_err(std::io::Error::from)?;
            if nix::unistd::getppid() != parent {
                // The supervisor died before the prctl took effect.
                return Err(std::io::Error::from(Errno::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn quit_with_parent(_cmd: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn strs(args: &[OsString]) -> Vec<&str> {
        args.iter().map(|a| a.to_str().unwrap_or("?")).collect()
    }

    #[test]
    fn worker_args_drop_what_only_the_supervisor_does() {
        let args = os(&[
            "/bin/worker",
            "-v",
            "work",
            "--count",
            "3",
            "-q",
            "a,b",
            "--pidfile=/run/w.pid",
            "--background",
            "--config",
            "config/resque.yml",
            "--count=4",
            "--pidfile",
            "p",
            "-i",
            "0.5",
        ]);
        let out = worker_args(&args, Path::new("/srv/app"));
        assert_eq!(
            strs(&out),
            ["-v", "work", "-q", "a,b", "--config", "/srv/app/config/resque.yml", "-i", "0.5"]
        );
        let out =
            worker_args(&os(&["w", "work", "--config=/etc/r.yml", "--log-format", "json"]), Path::new("/"));
        assert_eq!(strs(&out), ["work", "--config=/etc/r.yml", "--log-format", "json"]);
    }
}
