//! The `resque-cli` command line, as a library so that a worker binary can
//! link its jobs and run the same CLI:
//!
//! ```no_run
//! // src/bin/worker.rs in your application
//! use my_jobs as _; // links the crate whose #[resque::job]s this worker runs
//! # mod my_jobs {}
//!
//! fn main() -> std::process::ExitCode {
//!     resque_cli::main()
//! }
//! ```

mod args;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use resque::queues::QueueList;
use resque::{Client, Registry, Worker, WorkerOptions};

pub use args::{Cli, Command, WorkArgs};

/// Errors the CLI reports before exiting non-zero.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// From the library.
    #[error(transparent)]
    Resque(#[from] resque::Error),
    /// A flag or environment variable with a value that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// `work` in a binary that links no job.
    #[error(
        "this binary has no jobs registered, so a worker here could run nothing.\n\
         Jobs are linked in at build time: build a worker binary in your application that uses \
         the crate defining your #[resque::job] functions and runs this CLI:\n\n\
         \x20   // src/bin/worker.rs\n\
         \x20   use my_jobs as _;\n\
         \x20   fn main() -> std::process::ExitCode {{ resque_cli::main() }}\n\n\
         then run `cargo run --bin worker -- work -q '*'`."
    )]
    NoJobs,
}

/// Runs the CLI on this process's arguments; prints errors; returns the exit code.
pub fn main() -> ExitCode {
    match run(std::env::args_os()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("resque-cli: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the CLI on the given arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode, CliError> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS });
        }
    };
    init_logging(cli.verbosity());
    match &cli.command {
        Command::Work(work) => run_work(&cli, work),
        Command::Jobs => {
            let registry = Registry::linked()?;
            for class in registry.classes() {
                if let Some(entry) = registry.get(class) {
                    println!("{class}\tqueue {}\t{}", entry.queue, entry.location());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging(verbosity: u8) {
    let default = match verbosity {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The client the global flags describe: `-r`, else `--config`, else the
/// environment; namespace from `-N`, else the address, else
/// `RESQUE_NAMESPACE`, else `resque`.
pub fn client(cli: &Cli) -> Result<Client, CliError> {
    let client = match (&cli.redis, &cli.config) {
        (Some(addr), _) => Client::new(addr)?,
        (None, Some(path)) => Client::from_config(path)?,
        (None, None) => Client::from_env()?,
    };
    Ok(match &cli.namespace {
        Some(ns) => Client::with_namespace(client.address().clone(), ns)?,
        None => client,
    })
}

fn run_work(cli: &Cli, work: &WorkArgs) -> Result<ExitCode, CliError> {
    let registry = Registry::linked()?;
    if registry.is_empty() {
        return Err(CliError::NoJobs);
    }
    let queues = work.queue_list()?;
    let mut options = WorkerOptions::new(queues);
    options.interval = work.interval()?;
    options.fork_per_job = work.fork_per_job()?;
    options.heartbeat_interval = work.heartbeat_interval()?;
    options.job_timeout = work.job_timeout.as_deref().map(|t| seconds("job timeout", t)).transpose()?;
    options.term_child = work.term_child;
    options.pre_shutdown_timeout = seconds("pre-shutdown timeout", &work.pre_shutdown_timeout)?;
    options.term_timeout = seconds("term timeout", &work.term_timeout)?;
    options.graceful_term = work.graceful_term;
    options.procline_prefix = work.procline_prefix.clone().filter(|p| !p.is_empty());
    let client = client(cli)?;
    client.ping()?;
    let mut worker = Worker::new(client, registry, options)?;
    tracing::info!(worker = worker.id(), "starting");
    let reason = worker.work()?;
    tracing::info!(?reason, "worker stopped");
    Ok(ExitCode::SUCCESS)
}

fn seconds(what: &str, text: &str) -> Result<Duration, CliError> {
    let text = text.trim();
    let secs: f64 = text.parse().map_err(|_| {
        CliError::Usage(format!("invalid {what} {text:?}: expected seconds, such as 5 or 0.1"))
    })?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| CliError::Usage(format!("invalid {what} {text:?}: expected seconds, zero or more")))
}

impl WorkArgs {
    /// `-q`, else `QUEUES`, else `QUEUE`.
    pub fn queue_list(&self) -> Result<QueueList, CliError> {
        let given = self
            .queues
            .clone()
            .or_else(|| std::env::var("QUEUE").ok().filter(|q| !q.trim().is_empty()))
            .ok_or_else(|| {
                CliError::Usage(
                    "no queues given: pass -q/--queues (for example -q 'critical,*') or set QUEUES".into(),
                )
            })?;
        Ok(QueueList::parse(&given)?)
    }

    /// `-i` / `INTERVAL`, in seconds (fractions allowed).
    pub fn interval(&self) -> Result<Duration, CliError> {
        seconds("interval", &self.interval)
    }

    /// `--heartbeat-interval` / `RESQUE_HEARTBEAT_INTERVAL`, in seconds.
    pub fn heartbeat_interval(&self) -> Result<Duration, CliError> {
        let every = seconds("heartbeat interval", &self.heartbeat_interval)?;
        if every.is_zero() {
            return Err(CliError::Usage("invalid heartbeat interval 0: it must be more than zero".into()));
        }
        Ok(every)
    }

    /// `--no-fork`, or `FORK_PER_JOB=false`.
    pub fn fork_per_job(&self) -> Result<bool, CliError> {
        if self.no_fork {
            return Ok(false);
        }
        match std::env::var("FORK_PER_JOB") {
            Err(_) => Ok(true),
            Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
                "" | "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                other => {
                    Err(CliError::Usage(format!("invalid FORK_PER_JOB {other:?}: expected true or false")))
                }
            },
        }
    }
}
