//! `scheduler`: a standalone scheduler process (delayed and recurring jobs,
//! see `resque::scheduler`), and the one `work --scheduler` starts beside
//! its worker.
//!
//! `work --scheduler` runs the scheduler in a child process of its own (this
//! binary re-executed as `scheduler`), not in a thread: the worker forks per
//! job and stays single-threaded. The child leads only if it takes the
//! master lock, so any number of workers may carry the flag; it is sent
//! QUIT if the worker dies (Linux), and TERM when the worker stops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use resque::scheduler::{ScheduleEntry, Scheduler, SchedulerOptions};

use crate::{Cli, CliError, LogFormat};

/// Set in the environment of a worker's scheduler child: the worker's pid.
const PARENT_ENV: &str = "RESQUE_SCHEDULER_PARENT";

/// `scheduler`'s flags.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// resque-scheduler's schedule YAML: name → `cron` (with an optional
    /// time zone) or `every`, `class`, `queue`, `args`, `description`.
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,

    /// --pidfile (PIDFILE) and --background (BACKGROUND), as `work` has them.
    #[command(flatten)]
    pub process: crate::ProcessArgs,
}

/// `scheduler`: reads the schedule, detaches if asked, writes the pidfile,
/// and runs until QUIT, TERM or INT.
pub(crate) fn run(cli: &Cli, args: &SchedulerArgs) -> Result<ExitCode, CliError> {
    if let Some(code) = follow_parent() {
        return Ok(code);
    }
    let mut options = SchedulerOptions::from_env();
    if let Some(path) = &args.schedule {
        options.schedules = ScheduleEntry::load_file(path)?;
    }
    let cwd = std::env::current_dir()
        .map_err(|source| CliError::Os { what: "reading the current directory", source })?;
    let pidfile = args.process.pidfile.as_ref().map(|p| cwd.join(p));
    if let Some(path) = &pidfile {
        crate::pidfile::check(path)?;
    }
    let client = crate::client(cli)?;
    client.ping()?;
    let (client, mut ready) = match crate::detach(client, args.process.background)? {
        crate::Detached::Parent(code) => return Ok(code),
        crate::Detached::Here(client, ready) => (client, ready),
    };
    let result = (|| -> Result<ExitCode, CliError> {
        let _pidfile = pidfile.as_deref().map(crate::pidfile::Pidfile::create).transpose()?;
        let mut scheduler = Scheduler::new(client, options)?;
        if let Some(ready) = ready.take() {
            ready.ok();
        }
        scheduler.run()?;
        Ok(ExitCode::SUCCESS)
    })();
    if let (Err(e), Some(ready)) = (&result, ready.take()) {
        ready.fail(&e.to_string());
        return Ok(ExitCode::FAILURE);
    }
    result
}

/// In a worker's scheduler child: asks for QUIT when the worker dies, and
/// exits at once if it already has.
fn follow_parent() -> Option<ExitCode> {
    let parent: i32 = std::env::var(PARENT_ENV).ok()?.parse().ok()?;
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGQUIT) {
        tracing::warn!("the scheduler cannot follow its worker's exit: {e}");
    }
    if nix::unistd::getppid().as_raw() != parent {
        tracing::info!(worker = parent, "the worker that started this scheduler is gone");
        return Some(ExitCode::SUCCESS);
    }
    None
}

/// A worker's scheduler child.
#[derive(Debug)]
pub(crate) struct SchedulerChild(Child);

impl SchedulerChild {
    /// Starts this binary as `scheduler` with the worker's Redis flags.
    pub(crate) fn spawn(cli: &Cli, schedule: Option<&Path>, cwd: &Path) -> Result<Self, CliError> {
        let program = std::env::current_exe()
            .map_err(|source| CliError::Os { what: "finding this program to start its scheduler", source })?;
        let mut cmd = Command::new(program);
        if let Some(redis) = &cli.redis {
            cmd.arg("--redis").arg(redis);
        }
        if let Some(namespace) = &cli.namespace {
            cmd.arg("--namespace").arg(namespace);
        }
        if let Some(config) = &cli.config {
            cmd.arg("--config").arg(cwd.join(config));
        }
        for _ in 0..cli.verbose {
            cmd.arg("-v");
        }
        if cli.log_format == LogFormat::Json {
            cmd.args(["--log-format", "json"]);
        }
        cmd.arg("scheduler");
        if let Some(schedule) = schedule {
            cmd.arg("--schedule").arg(cwd.join(schedule));
        }
        // The worker alone detaches and writes the pidfile.
        cmd.env_remove("PIDFILE").env_remove("BACKGROUND").env(PARENT_ENV, std::process::id().to_string());
        let child = cmd.spawn().map_err(|source| CliError::Os { what: "starting the scheduler", source })?;
        tracing::info!(pid = child.id(), "started the scheduler");
        Ok(SchedulerChild(child))
    }

    /// Stops it (TERM, then KILL after 10 s) and reaps it.
    pub(crate) fn stop(mut self) {
        let pid = Pid::from_raw(self.0.id() as i32);
        if let Ok(Some(status)) = self.0.try_wait() {
            tracing::warn!(%status, "the scheduler had exited");
            return;
        }
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.0.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => return,
            }
        }
        tracing::warn!("the scheduler did not stop within 10 s of TERM: killing it");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
