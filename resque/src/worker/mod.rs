//! The worker: register, take jobs, fork, wait, record, heartbeat,
//! unregister. One Redis step per job records the job that ran, the job that
//! starts and takes the next ones (see `step.rs` and `docs/PROTOCOL.md`).
//!
//! A forking worker's process stays single-threaded and runs no async
//! runtime, so that `fork` is safe (a `--no-fork` worker, which never
//! forks, has one more thread: its watchdog); each job runs in a child that ends with `_exit` and
//! reports a failure to the parent over a pipe. The parent records every
//! outcome in Redis exactly as Ruby Resque does (see `docs/PROTOCOL.md`).
//!
//! Where each part is: `options.rs` (how it runs), `work_loop.rs` (the
//! loop), `step.rs` + `step.lua` (taking and recording in Redis),
//! `ahead.rs` (jobs taken ahead, replies read late), `running.rs` (one job),
//! `child.rs` (the forked child), `watchdog.rs` (a `--no-fork` worker's
//! hand-back of jobs taken ahead of a long one), `control.rs` and
//! `signals.rs` (what signals ask), `presence.rs` (registered, heartbeat,
//! pruning peers), `idle.rs` (waiting for a job) and `crate::wake` (instant
//! pick-up: the wake channel, shared with the scheduler, and waits on the
//! lists).

mod ahead;
mod child;
mod control;
mod heap;
mod idle;
mod link;
mod options;
mod presence;
mod running;
mod signals;
mod start;
mod step;
mod watchdog;
mod work_loop;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::client::Client;
use crate::error::Result;
pub use crate::failure::FailureDestination;
use crate::hooks::{JobContext, WorkerContext, WorkerHook, WorkerHookFn};
use crate::payload;
use crate::procline;
use crate::registry::Registry;
pub use crate::roster::{heartbeat_expired, Pruned, Recovered, EXPIRY_INTERVALS};
use crate::signal_mask;
use crate::wake;
use crate::worker_id::WorkerId;
use ahead::Pending;
use control::Control;
pub use options::{StopReason, WorkerOptions};
use signals::Signals;
use step::{Queues, Ran, Taken};

/// A worker process's loop.
pub struct Worker {
    client: Client,
    registry: Registry,
    options: WorkerOptions,
    id: String,
    hostname: String,
    started: String,
    signals: Signals,
    control: Control,
    last_heartbeat: Option<Instant>,
    /// When this worker's heartbeats started landing again after a gap of
    /// more than three intervals (Redis was unreachable): until they have
    /// landed for two intervals, nobody's expired heartbeat proves a death.
    beats_resumed: Option<Instant>,
    /// The wake-up subscription, while working.
    wake: Option<wake::Wake>,
    /// Blocking waits on the queues' lists, while idle.
    lists: wake::ListWaits,
    /// The last wait was ended by a list that had a job.
    woken_by_list: bool,
    /// Worker hooks: those registered with `#[resque::hook]`, then
    /// [`Worker::add_hook`]'s.
    hooks: Vec<(WorkerHook, WorkerHookFn)>,
    /// Which of the once-per-spell hooks have run: (queue empty, paused,
    /// shutdown).
    spells: (bool, bool, bool),
    /// A fetch failed: its job may be in this worker's in-flight list
    /// without the worker knowing (the reply was lost).
    fetch_failed: bool,
    /// The queue list, resolved once, when it has no wildcard or exclusion.
    static_queues: Option<Arc<Queues>>,
    /// Jobs taken ahead (in `inflight:<id>`, not started), in queue order.
    ready: VecDeque<Taken>,
    /// The last job ran shorter than [`ahead::LONG_JOB`]: taking jobs ahead
    /// pays (and keeps no job waiting long behind another).
    short_jobs: bool,
    /// A `--no-fork` worker's watchdog, which hands back the jobs taken
    /// ahead of a long job (see `watchdog.rs`).
    watchdog: Option<watchdog::Watchdog>,
    /// In-flight entries the watchdog handed back that are in replies not
    /// read yet: dropped from them when they are.
    handed_back: Vec<Vec<u8>>,
    /// The job that ran last, its outcome not recorded yet: the next step
    /// records it.
    ran: Option<Ran>,
    /// Jobs whose outcome was sent in a step whose reply was lost: recorded
    /// again (safely: a finish happens once) before the next step.
    unconfirmed: Vec<Ran>,
    /// The keys of this worker's steps.
    step_keys: step::StepKeys,
    /// Whether Redis answers (its loss and return are logged once each).
    link: link::RedisLink,
    /// Steps sent and not yet answered, oldest first. Nothing else uses the
    /// connection until they are (see [`Worker::sync`]).
    outstanding: VecDeque<Pending>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("id", &self.id).field("options", &self.options).finish()
    }
}

/// The `tracing` target of the few lines a worker logs at info level that a
/// quiet log (warnings only) still shows: that it started (its id, queues,
/// how it runs jobs, its Redis and jobs) and that it has Redis back after
/// losing it. `resque-cli` logs it at its default level (`warn`), as the
/// filter `warn,resque::worker::status=info` would.
pub const STATUS_TARGET: &str = "resque::worker::status";

/// The longest pause between attempts to reach Redis again: a restarted
/// server, or the master a failover promoted, is back in use within it.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The shortest a wait on a list lasts before it is sent again (unless a
/// longer interval): it only bounds how long a silently dead connection
/// goes unnoticed, as the interval's poll finds jobs meanwhile anyway.
const LIST_WAIT: Duration = Duration::from_secs(30);

/// Runs the hooks for `event`, in order; a panicking hook is logged and skipped.
fn run_worker_hooks(
    hooks: &[(WorkerHook, WorkerHookFn)],
    id: &str,
    event: WorkerHook,
    job: Option<JobContext<'_>>,
) {
    let ctx = WorkerContext { worker_id: id, job };
    for (_, hook) in hooks.iter().filter(|(e, _)| *e == event) {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&ctx))).is_err() {
            tracing::error!(worker = id, ?event, "a worker hook panicked");
        }
    }
}

impl Worker {
    /// A worker for `client`'s namespace that runs the jobs in `registry`.
    ///
    /// Installs its signal handlers (QUIT, TERM, INT, USR1, USR2, CONT,
    /// CHLD) until dropped.
    pub fn new(client: Client, registry: Registry, options: WorkerOptions) -> Result<Self> {
        let worker_id = WorkerId::for_this_process(&options.queues.to_string())?;
        let hostname = worker_id.host().to_string();
        let id = worker_id.to_string();
        let control = Control { graceful_term: options.graceful_term, ..Control::default() };
        let step_keys = step::StepKeys::new(&client, &id);
        let static_names = (!options.queues.is_dynamic()).then(|| options.queues.resolve_bytes(&[]));
        let static_queues = static_names.clone().map(|names| Arc::new(Queues::new(&client, names)));
        let lists = wake::ListWaits::new(client.clone(), options.interval.max(LIST_WAIT));
        let mut worker = Worker {
            client,
            registry,
            options,
            id,
            hostname,
            started: payload::time::started(Timestamp::now()),
            signals: Signals::install()?,
            control,
            last_heartbeat: None,
            beats_resumed: None,
            wake: None,
            lists,
            woken_by_list: false,
            hooks: crate::hooks::WORKER_HOOKS.iter().map(|h| (h.event, h.hook)).collect(),
            spells: (false, false, false),
            fetch_failed: false,
            static_queues,
            ready: VecDeque::new(),
            short_jobs: false,
            watchdog: None,
            handed_back: Vec::new(),
            ran: None,
            unconfirmed: Vec::new(),
            outstanding: VecDeque::new(),
            step_keys,
            link: link::RedisLink::default(),
        };
        if let Some(names) = static_names {
            worker.watch_lists(&names);
        }
        Ok(worker)
    }

    /// The worker id: `<hostname>:<pid>:<queues as given>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Adds a worker hook, after those registered with `#[resque::hook]`.
    ///
    /// ```no_run
    /// use resque::hooks::{WorkerContext, WorkerHook};
    /// # fn main() -> resque::Result<()> {
    /// fn hello(ctx: &WorkerContext<'_>) {
    ///     println!("{} starts", ctx.worker_id);
    /// }
    /// let list = resque::queues::QueueList::parse("*")?;
    /// let mut worker = resque::Worker::new(
    ///     resque::Client::from_env()?,
    ///     resque::Registry::linked()?,
    ///     resque::WorkerOptions::new(list),
    /// )?;
    /// worker.add_hook(WorkerHook::BeforeFirstFork, hello);
    /// # Ok(()) }
    /// ```
    pub fn add_hook(&mut self, event: WorkerHook, hook: WorkerHookFn) -> &mut Self {
        self.hooks.push((event, hook));
        self
    }

    /// Runs the hooks for `event`; a panicking hook is logged and skipped.
    fn run_hooks(&self, event: WorkerHook, job: Option<JobContext<'_>>) {
        run_worker_hooks(&self.hooks, &self.id, event, job);
    }

    /// Registers, works until told to stop (or, with interval zero, until
    /// the queues are empty), and unregisters.
    ///
    /// As Ruby Resque does: the first heartbeat, then pruning of dead
    /// workers, then registration. It then logs that it started (on
    /// [`STATUS_TARGET`]), with a warning for each thing it will not do as
    /// asked (no linked job uses its queues; a job's own timeout in a
    /// worker that does not fork).
    ///
    /// It installs a panic hook first, which its forked children inherit:
    /// a job's panic keeps its backtrace for the failure entry and, when a
    /// `tracing` subscriber is installed, is logged as one event instead of
    /// std's text on stderr (the hook set before is called only when no
    /// subscriber is).
    pub fn work(&mut self) -> Result<StopReason> {
        if let Some(prefix) = &self.options.procline_prefix {
            procline::set_prefix(prefix);
        }
        procline::set("Starting");
        crate::perform::install_panic_hook();
        heap::return_large_blocks();
        signal_mask::defer_during_redis(true);
        self.heartbeat()?;
        self.prune();
        self.register()?;
        // A worker on a fixed list of queues waits on every one of them (up
        // to 16), and hears of any push there: subscribing to the wake
        // channel as well would cost Redis a connection per worker and a
        // message to each for every push. A wildcard's queues change, and
        // one that appears later is announced on the channel.
        if !(self.static_queues.is_some() && self.lists.waits_on_every_list()) {
            self.wake = Some(wake::Wake::new(self.client.clone(), self.client.keys().wake_channel()));
        }
        if !self.options.fork_per_job {
            self.watchdog = watchdog::Watchdog::start(&self.client, &self.id);
        }
        self.announce();
        self.run_hooks(WorkerHook::BeforeFirstFork, None);
        let result = self.work_loop();
        if !self.spells.2 {
            self.run_hooks(WorkerHook::Shutdown, None);
        }
        if let Err(e) = self.unregister() {
            tracing::error!(worker = %self.id, "could not unregister: {e}");
        }
        tracing::info!(worker = %self.id, "worker stopped");
        signal_mask::defer_during_redis(false);
        self.run_hooks(WorkerHook::WorkerExit, None);
        result
    }
}
