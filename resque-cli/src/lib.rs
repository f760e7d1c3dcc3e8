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
//!
//! The `web` feature, on by default, adds the `web` subcommand (resque-web's
//! pages, on axum and tokio); without it (`default-features = false`) a
//! worker binary links no web stack.

mod admin;
mod args;
mod daemon;
mod pidfile;
mod scheduler;
mod supervisor;
mod title;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use resque::queues::QueueList;
use resque::{Client, Registry, Worker, WorkerOptions};

pub use args::CompletionsArgs;
#[cfg(feature = "web")]
pub use args::WebArgs;
pub use args::{
    Cli, Command, EnqueueArgs, FailedArgs, FailedCommand, FailedListArgs, FailedShowArgs, FailureArg,
    JsonFlag, LogFormat, ProcessArgs, PruneArgs, RemoveQueueArgs, RemoveWorkerArgs, RetryAllArgs, WorkArgs,
};
pub use scheduler::SchedulerArgs;

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
    /// The pidfile cannot be read or written.
    #[error("cannot {action} pidfile {}: {source}", path.display())]
    Pidfile {
        /// The pidfile.
        path: PathBuf,
        /// `read` or `write`.
        action: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The pidfile names a process that is running.
    #[error(
        "pidfile {} names pid {pid}, which is still running: is this worker already running? \
         Stop it first (kill -QUIT {pid}), or remove the file if that process is not a worker.",
        path.display()
    )]
    PidfileInUse {
        /// The pidfile.
        path: PathBuf,
        /// The running process it names.
        pid: i32,
    },
    /// The web server could not start or stopped.
    #[cfg(feature = "web")]
    #[error(transparent)]
    Web(#[from] resque_web::WebError),
    /// A system call the CLI needs failed.
    #[error("{what}: {source}")]
    Os {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// `--background`: the daemon could not start.
    #[error("could not start in the background: {0}")]
    Background(String),
}

/// Runs the CLI on this process's arguments; prints errors; returns the exit code.
pub fn main() -> ExitCode {
    match run(std::env::args_os()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("resque-cli: error: {e}");
            e.exit_code()
        }
    }
}

impl CliError {
    /// 2 for a usage error (as clap's own), else 1.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}

/// Runs the CLI on the given arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode, CliError> {
    // Kept: a supervisor (--count) starts its workers with these arguments.
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS });
        }
    };
    init_logging(cli.verbosity(), cli.log_format);
    match &cli.command {
        Command::Work(work) => run_work(&cli, work, &args),
        Command::Scheduler(scheduler) => scheduler::run(&cli, scheduler),
        Command::Jobs => admin::jobs().map(|()| ExitCode::SUCCESS),
        Command::Completions(shell) => {
            admin::completions(args.first().map(OsString::as_os_str), shell).map(|()| ExitCode::SUCCESS)
        }
        Command::Man => admin::man(args.first().map(OsString::as_os_str)).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "web")]
        Command::Web(web) => run_web(&cli, web),
        admin => admin::run(&cli, admin),
    }
}

/// `web`: the monitoring app in a process of its own, on its own runtime
/// (workers never start one).
#[cfg(feature = "web")]
fn run_web(cli: &Cli, web: &WebArgs) -> Result<ExitCode, CliError> {
    let auth = match &web.auth {
        None => None,
        Some(pair) => match pair.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Some((user.to_string(), password.to_string()))
            }
            _ => return Err(CliError::Usage("invalid --auth: expected user:password".into())),
        },
    };
    let schedules = web.schedule.as_deref().map(resque::scheduler::ScheduleEntry::load_file).transpose()?;
    // No ping: the app starts without Redis and its pages say so until it answers.
    let client = client(cli)?;
    let addr = std::net::SocketAddr::new(web.host, web.port);
    if auth.is_none() && !web.host.is_loopback() {
        tracing::warn!(%addr, "serving without --auth on an address other machines can reach");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Os { what: "starting the web server's runtime", source })?;
    let mut options = resque_web::WebOptions::new()
        .with_stale_after(Duration::from_secs(web.stale_after))
        .with_allowed_hosts(web.allowed_host.iter().cloned());
    if let Some((user, password)) = auth {
        options = options.with_auth(user, password);
    }
    if let Some(schedules) = schedules {
        options = options.with_schedules(schedules);
    }
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| resque_web::WebError::Bind { addr, source })?;
        // Said once the port is ours, so that the address printed answers.
        eprintln!("resque-cli web: serving {} on http://{addr}", client.address());
        resque_web::serve_on(listener, client, options).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr: warnings and the worker's status lines (that it started,
/// that it has Redis back) by default, everything at info with -v, at
/// debug with -vv; `RUST_LOG` instead when set.
fn init_logging(verbosity: u8, format: LogFormat) {
    let default = match verbosity {
        0 => format!("warn,{}=info", resque::worker::STATUS_TARGET),
        1 => "info".to_string(),
        _ => "debug".to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

/// The client the global flags describe: `-r`, else `--config`, else the
/// environment; namespace from `-N`, else the address, else
/// `RESQUE_NAMESPACE`, else `resque`.
pub fn client(cli: &Cli) -> Result<Client, CliError> {
    if let Some(ns) = &cli.namespace {
        let address: resque::RedisAddress = match (&cli.redis, &cli.config) {
            (Some(addr), _) => addr.parse()?,
            (None, Some(path)) => {
                resque::config::Config::load(path)?.address_for(&resque::config::environment())?.parse()?
            }
            (None, None) => resque::RedisAddress::from_env()?,
        };
        return Ok(Client::with_namespace(address, ns)?);
    }
    Ok(match (&cli.redis, &cli.config) {
        (Some(addr), _) => Client::new(addr)?,
        (None, Some(path)) => Client::from_config(path)?,
        (None, None) => Client::from_env()?,
    })
}

/// `work`: checks everything it can while still attached to the terminal,
/// then detaches (`--background`), writes the pidfile, and works or
/// supervises (`--count`).
fn run_work(cli: &Cli, work: &WorkArgs, args: &[OsString]) -> Result<ExitCode, CliError> {
    let registry = Registry::linked()?;
    if registry.is_empty() {
        return Err(CliError::NoJobs);
    }
    let options = work.worker_options()?;
    let cwd = std::env::current_dir()
        .map_err(|source| CliError::Os { what: "reading the current directory", source })?;
    // Absolute, since a daemon changes to `/`.
    let pidfile = work.process.pidfile.as_ref().map(|p| cwd.join(p));
    if let Some(path) = &pidfile {
        pidfile::check(path)?;
    }
    let client = client(cli)?;
    client.ping()?;
    let plan = match work.count {
        0 | 1 => None,
        n => Some(supervisor::Plan::new(n, args, &cwd, options.procline_prefix.as_deref())?),
    };
    let (client, mut ready) = match detach(client, work.process.background)? {
        Detached::Parent(code) => return Ok(code),
        Detached::Here(client, ready) => (client, ready),
    };
    // Each worker (not a --count supervisor) starts its own scheduler child.
    let scheduler = match (&plan, work.scheduler) {
        (None, true) => Some(scheduler::SchedulerChild::spawn(cli, work.schedule.as_deref(), &cwd)?),
        _ => None,
    };
    let result = work_or_supervise(client, registry, options, pidfile, plan, &mut ready);
    if let Some(scheduler) = scheduler {
        scheduler.stop();
    }
    if let (Err(e), Some(ready)) = (&result, ready.take()) {
        // The starting process prints it: two writers on one stderr would
        // interleave their lines.
        ready.fail(&e.to_string());
        return Ok(ExitCode::FAILURE);
    }
    result
}

/// Where a command goes on after `--background`.
enum Detached {
    /// The starting process: exit with this code once the daemon is up.
    Parent(ExitCode),
    /// This process (the daemon, or the only one): its client, and the
    /// daemon's report back to the starting process.
    Here(Client, Option<daemon::Ready>),
}

/// Detaches when `background` is set; the daemon gets a fresh connection,
/// so that nothing opened before the forks is reused.
fn detach(client: Client, background: bool) -> Result<Detached, CliError> {
    if !background {
        return Ok(Detached::Here(client, None));
    }
    let (address, namespace) = (client.address().clone(), client.namespace().to_string());
    drop(client);
    match daemon::daemonize()? {
        daemon::Daemonized::Parent(code) => Ok(Detached::Parent(code)),
        daemon::Daemonized::Daemon(ready) => {
            Ok(Detached::Here(Client::with_namespace(address, &namespace)?, Some(ready)))
        }
    }
}

fn work_or_supervise(
    client: Client,
    registry: Registry,
    options: WorkerOptions,
    pidfile: Option<PathBuf>,
    plan: Option<supervisor::Plan>,
    ready: &mut Option<daemon::Ready>,
) -> Result<ExitCode, CliError> {
    let _pidfile = pidfile.as_deref().map(pidfile::Pidfile::create).transpose()?;
    if let Some(plan) = plan {
        drop(client);
        return supervisor::run(plan, ready);
    }
    let mut worker = Worker::new(client, registry, options)?;
    if let Some(ready) = ready.take() {
        ready.ok();
    }
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
    /// The worker's options from these flags and the environment.
    pub fn worker_options(&self) -> Result<WorkerOptions, CliError> {
        let mut options = WorkerOptions::new(self.queue_list()?);
        options.interval = self.interval()?;
        options.fork_per_job = self.fork_per_job()?;
        options.heartbeat_interval = self.heartbeat_interval()?;
        options.job_timeout = self.job_timeout.as_deref().map(|t| seconds("job timeout", t)).transpose()?;
        options.term_child = self.term_child;
        options.pre_shutdown_timeout = seconds("pre-shutdown timeout", &self.pre_shutdown_timeout)?;
        options.term_timeout = seconds("term timeout", &self.term_timeout)?;
        options.graceful_term = self.graceful_term;
        options.procline_prefix = self.procline_prefix.clone().filter(|p| !p.is_empty());
        options.failure_backends = self.failure_backends()?;
        options.failed_max = self.failed_max;
        options.record_retried_failures = self.record_retried_failures;
        Ok(options)
    }

    /// `--failure-backend` / `FAILURE_BACKEND`: one or several, comma-separated.
    pub fn failure_backends(&self) -> Result<Vec<resque::FailureDestination>, CliError> {
        let mut backends = Vec::new();
        for name in self.failure_backend.split(',').filter(|n| !n.trim().is_empty()) {
            let backend = name.parse().map_err(CliError::Usage)?;
            if !backends.contains(&backend) {
                backends.push(backend);
            }
        }
        if backends.is_empty() {
            return Err(CliError::Usage(
                "no failure backend given: expected redis, redis_multi_queue or log".into(),
            ));
        }
        Ok(backends)
    }

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
        QueueList::parse(&given).map_err(|e| CliError::Usage(e.to_string()))
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
