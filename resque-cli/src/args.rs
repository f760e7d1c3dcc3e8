//! The command line's definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use resque::failure::FailureRef;

mod delayed;
mod retries;
mod schedule;

pub use delayed::{DelayedArgs, DelayedCancelArgs, DelayedCommand, DelayedListArgs, DelayedShowArgs};
pub use retries::{RetriesArgs, RetriesCommand, RetriesListArgs, RetrySelector};
pub use schedule::{ScheduleArgs, ScheduleCommand, ScheduleListArgs, ScheduleNameArg, ScheduleSetArgs};

/// Resque workers and tools, compatible with Ruby Resque's Redis layout.
#[derive(Debug, Parser)]
#[command(name = "resque-cli", version, about, propagate_version = true)]
pub struct Cli {
    /// Redis: a URL (redis://, rediss://) or `host:port[:db][/namespace]`.
    /// Default: RESQUE_REDIS, else REDIS_URL, else redis://127.0.0.1:6379.
    #[arg(short = 'r', long, global = true, value_name = "ADDRESS", help_heading = "Redis")]
    pub redis: Option<String>,

    /// Key namespace. Default: the address's, else RESQUE_NAMESPACE, else `resque`.
    #[arg(short = 'N', long, global = true, help_heading = "Redis")]
    pub namespace: Option<String>,

    /// A resque.yml (environment name → Redis address); the environment is
    /// RESQUE_ENV, else development.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Redis")]
    pub config: Option<PathBuf>,

    /// More logging: -v for each job, -vv for everything (env VERBOSE, VVERBOSE).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log lines as text, or as JSON objects, one per line (on stderr).
    #[arg(
        long,
        env = "RESQUE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// `-v` count, raised by `VERBOSE` (1) and `VVERBOSE` (2).
    pub fn verbosity(&self) -> u8 {
        let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
        let env = if set("VVERBOSE") {
            2
        } else if set("VERBOSE") {
            1
        } else {
            0
        };
        self.verbose.max(env)
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's JSON format).
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
// Parsed once per process: the size of the `work` variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run a worker: take jobs from the queues and run each in a forked child.
    Work(WorkArgs),
    /// Run the scheduler: promote delayed jobs when due and enqueue
    /// recurring schedules (resque-scheduler's keys); one leads at a time.
    Scheduler(crate::scheduler::SchedulerArgs),
    /// List the jobs linked into this binary.
    Jobs,
    /// List the queues with how many jobs wait in each.
    Queues(JsonFlag),
    /// An overview: pending, processed and failed jobs, queues, workers, and
    /// whether workers are paused (Ruby's `Resque.info`).
    Info(JsonFlag),
    /// List the registered workers: host, pid, queues, start, heartbeat, job.
    Workers(JsonFlag),
    /// Inspect, retry and remove failed jobs (the `failed` list).
    Failed(FailedArgs),
    /// Inspect, queue now and cancel delayed jobs (resque-scheduler's keys).
    Delayed(DelayedArgs),
    /// List the failed jobs waiting to be retried (resque-retry's keys), run
    /// one now or cancel it.
    Retries(RetriesArgs),
    /// List recurring schedules, enqueue one now, set or remove a dynamic
    /// one (resque-scheduler's `persistent_schedules`).
    Schedule(ScheduleArgs),
    /// Push a job by class name and JSON args, as any producer would; in a
    /// binary that links the job, its class, args and queue are checked first.
    Enqueue(EnqueueArgs),
    /// Delete a queue and every job waiting in it.
    RemoveQueue(RemoveQueueArgs),
    /// Unregister a worker (a dead one, or one to forget) and put the jobs it
    /// had in flight back at the head of their queues.
    RemoveWorker(RemoveWorkerArgs),
    /// Prune dead workers now (expired heartbeat, or a gone process on this
    /// host) and put their in-flight jobs back.
    Prune(PruneArgs),
    /// Pause every worker, Ruby's included (sets `pause-all-workers`).
    Pause,
    /// Serve the monitoring app: resque-web's pages (Overview, Working,
    /// Failed, Queues, Workers, Stats, Delayed, Retries, Schedule), `/metrics` for
    /// Prometheus and a JSON API (`/api/info`, `/api/queues`,
    /// `/api/workers`, `/api/failed`, `/api/delayed`, `/api/retries`,
    /// `/api/schedules`).
    #[cfg(feature = "web")]
    Web(WebArgs),
    /// Let paused workers go on (deletes `pause-all-workers`).
    Resume,
    /// Print a shell completion script for this command to stdout, e.g.
    /// `resque-cli completions bash > /etc/bash_completion.d/resque-cli`.
    Completions(CompletionsArgs),
    /// Print this command's manual page (roff) to stdout, e.g.
    /// `resque-cli man | man -l -`.
    Man,
}

/// `completions`' argument.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `--json` for a read command.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `failed`'s subcommands.
#[derive(Debug, Args)]
pub struct FailedArgs {
    /// What to do with the failed list.
    #[command(subcommand)]
    pub command: FailedCommand,
}

/// What `failed` does. A failure is named by its id (12 hex digits, as
/// `failed list` shows: the entry seen, wherever it is now) or by its index
/// (from 0, oldest first, as resque-web's: whatever is there now).
#[derive(Debug, Subcommand)]
pub enum FailedCommand {
    /// List failures, oldest first (default: the last 20), with their ids.
    List(FailedListArgs),
    /// Show one failure in full: payload, error, backtrace.
    Show(FailedShowArgs),
    /// Retry one failure: push its job back to its queue and mark it retried.
    Retry(FailureArg),
    /// Retry every failure, those already retried included (they run again);
    /// with --not-retried, only those not retried yet.
    RetryAll(RetryAllArgs),
    /// Remove one failure.
    Remove(FailureArg),
    /// Remove every failure.
    Clear,
    /// Remove every failure that was retried.
    ClearRetried,
}

/// A page of a list that is read earliest first (`delayed list`,
/// `retries list`).
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Position of the first one to list (from 0, earliest first).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub start: usize,
    /// How many to list.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub count: usize,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `failed list`'s flags.
#[derive(Debug, Args)]
pub struct FailedListArgs {
    /// Index of the first failure to list (default: so that the last --count are listed).
    #[arg(long, value_name = "N")]
    pub start: Option<usize>,
    /// How many failures to list.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub count: usize,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `failed show`'s arguments.
#[derive(Debug, Args)]
pub struct FailedShowArgs {
    /// The failure's id (12 hex digits) or index (from 0, oldest first).
    #[arg(value_name = "ID|INDEX")]
    pub failure: FailureRef,
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One failure, by id or index.
#[derive(Debug, Args)]
pub struct FailureArg {
    /// The failure's id (12 hex digits, as `failed list` shows: that entry,
    /// wherever it is now) or index (from 0, oldest first: whatever is
    /// there now).
    #[arg(value_name = "ID|INDEX")]
    pub failure: FailureRef,
}

/// `failed retry-all`'s flags.
#[derive(Debug, Args)]
pub struct RetryAllArgs {
    /// Retry only the failures not retried yet (no `retried_at`): running
    /// it again retries nothing twice.
    #[arg(long)]
    pub not_retried: bool,
}

/// `enqueue`'s arguments.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The job's class, as workers know it (`Archive`, `Admin::Archive`).
    pub class: String,
    /// The job's arguments: a JSON array, such as '[44,"masterbrew"]'.
    #[arg(value_name = "JSON_ARGS", allow_hyphen_values = true)]
    pub args: String,
    /// The queue to push to. Default: the job's own queue, in a binary that
    /// links the job; the stock resque-cli needs it.
    #[arg(short = 'q', long, value_name = "QUEUE")]
    pub queue: Option<String>,
    /// Create the queue even when its name is almost that of a known queue
    /// (without it, such a name, neither a known queue nor a linked job's,
    /// is refused as a likely typo).
    #[arg(long)]
    pub new_queue: bool,
    /// Push a class this binary does not link, or args that do not fit the
    /// linked job, unchecked (for workers elsewhere, Ruby's say).
    #[arg(long)]
    pub unchecked: bool,
}

/// `remove-queue`'s argument.
#[derive(Debug, Args)]
pub struct RemoveQueueArgs {
    /// The queue to delete.
    pub queue: String,
}

/// `remove-worker`'s argument.
#[derive(Debug, Args)]
pub struct RemoveWorkerArgs {
    /// The worker's id, `<host>:<pid>:<queues>`, as `workers` lists it.
    pub id: String,
}

/// `prune`'s flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The workers' heartbeat interval in seconds: a worker whose heartbeat
    /// is older than five of these is dead.
    #[arg(long, env = "RESQUE_HEARTBEAT_INTERVAL", default_value = "60", value_name = "SECONDS")]
    pub heartbeat_interval: String,
}

/// `work`'s flags.
#[derive(Debug, Args)]
pub struct WorkArgs {
    /// Queues in priority order, comma-separated; `*` is every queue, globs
    /// (`file_*`) and exclusions (`!slow`) work. Env QUEUES, then QUEUE.
    #[arg(short = 'q', long, env = "QUEUES", value_name = "LIST")]
    pub queues: Option<String>,

    /// Seconds to sleep when the queues are empty; 0 drains them and exits.
    #[arg(
        short = 'i',
        long,
        env = "INTERVAL",
        default_value = "5",
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub interval: String,

    /// Seconds between heartbeats, which tell other workers this one is alive.
    #[arg(long, env = "RESQUE_HEARTBEAT_INTERVAL", default_value = "60", value_name = "SECONDS")]
    pub heartbeat_interval: String,

    /// Run jobs in the worker process instead of a forked child per job
    /// (env FORK_PER_JOB=false).
    #[arg(long)]
    pub no_fork: bool,

    /// Hard time limit for a job without its own `timeout`: the child is
    /// sent TERM, then KILL after --term-timeout, and the job fails.
    #[arg(long, env = "RESQUE_JOB_TIMEOUT", value_name = "SECONDS", help_heading = "Stopping")]
    pub job_timeout: Option<String>,

    /// On TERM, INT and USR1, send TERM to the child (then KILL after
    /// --term-timeout) instead of KILL at once.
    #[arg(long, env = "TERM_CHILD", value_parser = clap::builder::FalseyValueParser::new(), help_heading = "Stopping")]
    pub term_child: bool,

    /// With --term-child: seconds to let the child finish before it is sent TERM.
    #[arg(
        long,
        env = "RESQUE_PRE_SHUTDOWN_TIMEOUT",
        default_value = "0",
        value_name = "SECONDS",
        help_heading = "Stopping"
    )]
    pub pre_shutdown_timeout: String,

    /// Seconds between TERM and KILL for a child being stopped.
    #[arg(
        long,
        env = "RESQUE_TERM_TIMEOUT",
        default_value = "4",
        value_name = "SECONDS",
        help_heading = "Stopping"
    )]
    pub term_timeout: String,

    /// TERM behaves as QUIT: finish the current job, then exit.
    #[arg(long, env = "GRACEFUL_TERM", value_parser = clap::builder::FalseyValueParser::new(), help_heading = "Stopping")]
    pub graceful_term: bool,

    /// Where failures are recorded: redis (the `failed` list),
    /// redis_multi_queue (`<queue>_failed` lists), log, or several, comma-separated.
    #[arg(long, env = "FAILURE_BACKEND", default_value = "redis", value_name = "BACKENDS")]
    pub failure_backend: String,

    /// Keep at most N entries in each failed list, the oldest trimmed.
    #[arg(long, env = "RESQUE_FAILED_MAX", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub failed_max: Option<u64>,

    /// Record every failed run of a job with a retry policy in the failed
    /// lists, retried or not (Ruby's default without resque-retry's
    /// MultipleWithRetrySuppression); by default only the run it gives up on.
    #[arg(long, env = "RESQUE_RECORD_RETRIED_FAILURES", value_parser = clap::builder::FalseyValueParser::new())]
    pub record_retried_failures: bool,

    /// Text before `resque-<version>` in process titles, to tell apps apart in `ps`.
    #[arg(long, env = "RESQUE_PROCLINE_PREFIX", value_name = "TEXT")]
    pub procline_prefix: Option<String>,

    /// Run N worker processes under a supervisor that restarts any that die
    /// and passes QUIT, TERM, INT, USR1, USR2 and CONT on to them.
    #[arg(
        long,
        env = "COUNT",
        default_value = "1",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        help_heading = "Processes"
    )]
    pub count: u32,

    /// --pidfile and --background.
    #[command(flatten)]
    pub process: ProcessArgs,

    /// Also run a scheduler, in a child process of this worker: one leads
    /// among every worker started with this flag (see `scheduler`).
    #[arg(long, help_heading = "Scheduler")]
    pub scheduler: bool,

    /// With --scheduler: the schedule YAML it runs.
    #[arg(long, value_name = "FILE", requires = "scheduler", help_heading = "Scheduler")]
    pub schedule: Option<PathBuf>,
}

/// How a long-running command (`work`, `scheduler`) runs as a process.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Write this process's pid here (with `work --count`, the supervisor's), and
    /// remove the file on exit. Refuses to start while it names a running
    /// process.
    #[arg(long, env = "PIDFILE", value_name = "PATH", help_heading = "Processes")]
    pub pidfile: Option<PathBuf>,

    /// Detach from the terminal and run as a daemon (env BACKGROUND, any
    /// non-empty value). Returns once the daemon is running; its pid goes to
    /// --pidfile.
    #[arg(
        long,
        env = "BACKGROUND",
        action = clap::ArgAction::SetTrue,
        value_parser = non_empty,
        default_value = "",
        help_heading = "Processes"
    )]
    pub background: bool,
}

/// `BACKGROUND`'s rule: any non-empty value means yes (as Ruby's `if ENV['BACKGROUND']`).
fn non_empty(value: &str) -> Result<bool, std::convert::Infallible> {
    Ok(!value.is_empty())
}

/// `web`'s flags, as resque-web's.
#[cfg(feature = "web")]
#[derive(Debug, Args)]
pub struct WebArgs {
    /// Port to listen on.
    #[arg(short = 'p', long, default_value_t = 5678)]
    pub port: u16,

    /// Address to listen on; the default answers this machine only.
    #[arg(short = 'o', long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,

    /// Require HTTP basic auth, as `user:password` (env RESQUE_WEB_AUTH).
    #[arg(long, env = "RESQUE_WEB_AUTH", value_name = "USER:PASSWORD", hide_env_values = true)]
    pub auth: Option<String>,

    /// Call a worker stale (and offer to prune it) once its heartbeat is
    /// this many seconds old: Ruby's prune interval, five heartbeats.
    #[arg(long, value_name = "SECONDS", default_value_t = resque_web::DEFAULT_STALE_AFTER.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub stale_after: u64,

    /// A schedule YAML whose static schedules the Schedule tab lists too
    /// (besides the dynamic ones and those declared on linked jobs).
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,

    /// Also answer requests for this host name (repeatable): the name a
    /// reverse proxy or browsers reach the app by. Without it, only the
    /// listening address, localhost, 127.0.0.1 and [::1] are served (any IP
    /// when listening on 0.0.0.0 or ::); other names get 421, which stops
    /// DNS rebinding.
    #[arg(long = "allowed-host", value_name = "NAME", value_parser = host_name)]
    pub allowed_host: Vec<String>,
}

/// A `--allowed-host` value: a host name or IP literal, optionally with a
/// port, and nothing else (no scheme, path or credentials).
#[cfg(feature = "web")]
fn host_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("an empty host name".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| matches!(c, '/' | '@' | '?' | '#' | '\\') || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{raw:?} is not a host name (it holds {bad:?}): give the name alone, as in resque.example.com"
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn process_flags_parse() {
        let cli = Cli::try_parse_from([
            "w",
            "--log-format",
            "json",
            "work",
            "--count",
            "3",
            "--background",
            "--pidfile",
            "w.pid",
        ]);
        let Ok(Cli { log_format, command: Command::Work(work), .. }) = cli else {
            panic!("did not parse: {cli:?}");
        };
        assert_eq!(log_format, LogFormat::Json);
        assert_eq!(work.count, 3);
        assert!(work.process.background);
        assert_eq!(work.process.pidfile, Some(PathBuf::from("w.pid")));
        assert!(Cli::try_parse_from(["w", "work", "--count", "0"]).is_err());
        assert!(Cli::try_parse_from(["w", "work", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn admin_commands_parse() {
        let cli = Cli::try_parse_from(["w", "failed", "list", "--start", "3", "--count", "5", "--json"]);
        let Ok(Cli { command: Command::Failed(FailedArgs { command: FailedCommand::List(list) }), .. }) = cli
        else {
            panic!("did not parse: {cli:?}");
        };
        assert_eq!((list.start, list.count, list.json), (Some(3), 5, true));
        let cli = Cli::try_parse_from(["w", "enqueue", "Archive", "[44]", "-q", "file_serve"]);
        let Ok(Cli { command: Command::Enqueue(enqueue), .. }) = cli else {
            panic!("did not parse: {cli:?}");
        };
        assert_eq!((enqueue.class.as_str(), enqueue.args.as_str()), ("Archive", "[44]"));
        assert_eq!(enqueue.queue.as_deref(), Some("file_serve"));
        for args in [
            &["w", "queues", "--json"][..],
            &["w", "info"],
            &["w", "workers", "--json"],
            &["w", "failed", "retry-all"],
            &["w", "failed", "retry-all", "--not-retried"],
            &["w", "failed", "retry", "3db87e6340c9"],
            &["w", "failed", "remove", "0"],
            &["w", "failed", "show", "3DB87E6340C9", "--json"],
            &["w", "failed", "clear-retried"],
            &["w", "delayed", "list", "--json"],
            &["w", "delayed", "show", "1764633600"],
            &["w", "delayed", "show", "2025-12-02 00:00:00 +0000", "--json"],
            &["w", "delayed", "queue-now", "1764633600"],
            &["w", "delayed", "cancel", "1764633600"],
            &["w", "delayed", "cancel", "--class", "Archive", "--args", "[44]", "-q", "file_serve"],
            &["w", "delayed", "clear"],
            &["w", "schedule", "list", "--json", "--schedule", "s.yml"],
            &["w", "schedule", "enqueue-now", "nightly"],
            &["w", "schedule", "set", "dyn", r#"{"every":"1h","class":"A"}"#],
            &["w", "schedule", "remove", "dyn"],
            &["w", "remove-queue", "q"],
            &["w", "remove-worker", "h:1:q"],
            &["w", "prune", "--heartbeat-interval", "5"],
            &["w", "pause"],
            &["w", "resume"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
        assert!(Cli::try_parse_from(["w", "failed", "show", "x"]).is_err());
        for bad in [
            &["w", "delayed", "show", "soon"][..],
            &["w", "delayed", "cancel"],
            &["w", "delayed", "cancel", "1764633600", "--class", "Archive", "--args", "[]"],
            &["w", "delayed", "cancel", "--class", "Archive"],
            &["w", "delayed", "cancel", "--args", "[]"],
            &["w", "schedule", "set", "dyn"],
            &["w", "schedule", "remove"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        let cli = Cli::try_parse_from(["w", "delayed", "show", "2025-12-02 00:00:00 +0000"]);
        let Ok(Cli {
            command: Command::Delayed(DelayedArgs { command: DelayedCommand::Show(show) }), ..
        }) = cli
        else {
            panic!("did not parse: {cli:?}");
        };
        assert_eq!(show.at, 1_764_633_600);
        assert!(Cli::try_parse_from(["w", "failed", "remove", "3db87e6340c"]).is_err());
        let cli = Cli::try_parse_from(["w", "failed", "remove", "3db87e6340c9"]);
        let Ok(Cli { command: Command::Failed(FailedArgs { command: FailedCommand::Remove(arg) }), .. }) =
            cli
        else {
            panic!("did not parse: {cli:?}");
        };
        assert_eq!(arg.failure.to_string(), "3db87e6340c9");
        assert!(matches!(arg.failure, FailureRef::Id(_)));
    }
}
