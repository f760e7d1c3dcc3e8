//! The worker: register, take jobs, fork, wait, record, heartbeat,
//! unregister. One Redis step per job records the job that ran, the job that
//! starts and takes the next ones (see `store.rs` and `docs/PROTOCOL.md`).
//!
//! The parent process stays single-threaded and runs no async runtime, so
//! that `fork` is safe; each job runs in a child that ends with `_exit` and
//! reports a failure to the parent over a pipe. The parent records every
//! outcome in Redis exactly as Ruby Resque does (see `docs/PROTOCOL.md`).

mod prune;
mod run;
mod signals;
mod store;
mod wake;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::client::Client;
use crate::error::Result;
use crate::hooks::{JobContext, WorkerContext, WorkerHook, WorkerHookFn};
use crate::job::JobFailure;
use crate::payload::{self, exception, FailedPayload, JobPayload, NewFailure};
use crate::procline;
use crate::queues::QueueList;
use crate::registry::Registry;
use crate::worker_id::WorkerId;
pub use prune::{heartbeat_expired, Pruned, EXPIRY_INTERVALS};
use run::{ChildAction, StopPolicy, Supervision};
use signals::Signals;
pub use store::{FailureDestination, Recovered};
use store::{Queues, Ran, SentStep, Step, Taken, Took};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The queues to take jobs from, in priority order.
    pub queues: QueueList,
    /// How long to sleep when every queue is empty. Zero means: work until
    /// the queues are empty, then stop (Ruby's `work(0)`).
    pub interval: Duration,
    /// Run each job in a forked child (the default), or in this process.
    pub fork_per_job: bool,
    /// How often the worker writes its heartbeat (Ruby: 60 s).
    pub heartbeat_interval: Duration,
    /// Hard time limit for jobs that set none of their own.
    pub job_timeout: Option<Duration>,
    /// Stop a child with TERM (then KILL after `term_timeout`) instead of KILL.
    pub term_child: bool,
    /// With `term_child`: how long a child may go on before it is sent TERM.
    pub pre_shutdown_timeout: Duration,
    /// How long a child has between TERM and KILL (Ruby: 4 s).
    pub term_timeout: Duration,
    /// TERM behaves as QUIT.
    pub graceful_term: bool,
    /// Text put before `resque-<version>` in process titles.
    pub procline_prefix: Option<String>,
    /// Where failures are recorded (Ruby's failure backends; several at once
    /// is Ruby's `Multiple`). Default: the `failed` list.
    pub failure_backends: Vec<FailureDestination>,
}

impl WorkerOptions {
    /// Ruby's defaults for a queue list: poll every 5 s, fork per job.
    ///
    /// ```
    /// let list = resque::queues::QueueList::parse("critical,*").unwrap();
    /// let options = resque::WorkerOptions::new(list);
    /// assert!(options.fork_per_job);
    /// assert_eq!(options.interval.as_secs(), 5);
    /// ```
    pub fn new(queues: QueueList) -> Self {
        WorkerOptions {
            queues,
            interval: Duration::from_secs(5),
            fork_per_job: true,
            heartbeat_interval: Duration::from_secs(60),
            job_timeout: None,
            term_child: false,
            pre_shutdown_timeout: Duration::ZERO,
            term_timeout: Duration::from_secs(4),
            graceful_term: false,
            procline_prefix: None,
            failure_backends: vec![FailureDestination::Redis],
        }
    }
}

/// Why [`Worker::work`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Interval zero, and every queue was empty.
    Drained,
    /// QUIT: the current job finished, then the worker stopped.
    Quit,
    /// TERM or INT: the current job was stopped.
    Terminated,
}

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
    /// The job that ran last, its outcome not recorded yet: the next step
    /// records it.
    ran: Option<Ran>,
    /// Jobs whose outcome was sent in a step whose reply was lost: recorded
    /// again (safely: a finish happens once) before the next step.
    unconfirmed: Vec<Ran>,
    /// The keys of this worker's steps.
    step_keys: store::StepKeys,
    /// Steps sent and not yet answered, oldest first. Nothing else uses the
    /// connection until they are (see [`Worker::sync`]).
    outstanding: VecDeque<Pending>,
}

/// A step sent before a job started, its reply read once the job runs.
struct Pending {
    sent: SentStep,
    /// What the step recorded as finished, in case its reply is lost.
    ran: Option<Ran>,
    /// How many jobs it asked for.
    take: usize,
    queues: Arc<Queues>,
}

impl Pending {
    /// Reads the step's reply.
    fn receive(self, client: &Client) -> Answered {
        let reply = store::recv_step(client, self.sent, &self.queues);
        Answered { ran: self.ran, take: self.take, reply }
    }
}

/// A step sent before a job started, and its reply.
struct Answered {
    ran: Option<Ran>,
    take: usize,
    reply: Result<Took>,
}

/// How many steps a `--no-fork` worker sends ahead of their replies.
const WINDOW: usize = 8;

/// How many jobs a `--no-fork` worker takes in one step, from one queue.
/// They wait in its in-flight list (recovered if it dies) and go back to
/// the head of their queue if it stops or pauses first.
pub(crate) const IN_PROCESS_BATCH: usize = 16;

/// What signals have asked of the worker so far.
#[derive(Debug, Default)]
struct Control {
    graceful_term: bool,
    stop: Option<StopReason>,
    /// TERM or INT was received once: another one stops the worker at once.
    terminating: bool,
    /// Paused by USR2 until CONT.
    paused: bool,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("id", &self.id).field("options", &self.options).finish()
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the signals received since the last look ask of the worker.
#[derive(Debug, Default, Clone, Copy)]
struct Requests {
    /// Stop the running child (TERM, INT, USR1).
    stop_child: bool,
    /// Kill the running child at once (a second TERM or INT).
    kill_child: bool,
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
        let step_keys = store::StepKeys::new(&client, &id);
        let static_queues = (!options.queues.is_dynamic())
            .then(|| Arc::new(Queues::new(&client, options.queues.resolve_bytes(&[]))));
        Ok(Worker {
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
            hooks: crate::hooks::WORKER_HOOKS.iter().map(|h| (h.event, h.hook)).collect(),
            spells: (false, false, false),
            fetch_failed: false,
            static_queues,
            ready: VecDeque::new(),
            ran: None,
            unconfirmed: Vec::new(),
            outstanding: VecDeque::new(),
            step_keys,
        })
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
    /// workers, then registration.
    pub fn work(&mut self) -> Result<StopReason> {
        if let Some(prefix) = &self.options.procline_prefix {
            procline::set_prefix(prefix);
        }
        procline::set("Starting");
        run::install_panic_hook();
        if !self.options.fork_per_job && self.options.job_timeout.is_some() {
            tracing::warn!(worker = %self.id, "job timeouts need a forked child per job; --no-fork ignores them");
        }
        signals::defer_during_redis(true);
        self.heartbeat()?;
        self.prune();
        self.register()?;
        self.wake = Some(wake::Wake::new(self.client.clone()));
        tracing::info!(worker = %self.id, "worker started");
        self.run_hooks(WorkerHook::BeforeFirstFork, None);
        let result = self.work_loop();
        if !self.spells.2 {
            self.run_hooks(WorkerHook::Shutdown, None);
        }
        if let Err(e) = self.unregister() {
            tracing::error!(worker = %self.id, "could not unregister: {e}");
        }
        tracing::info!(worker = %self.id, "worker stopped");
        signals::defer_during_redis(false);
        self.run_hooks(WorkerHook::WorkerExit, None);
        result
    }

    fn work_loop(&mut self) -> Result<StopReason> {
        let mut backoff = Duration::ZERO;
        loop {
            self.read_signals();
            if self.ready.is_empty()
                || self.control.stop.is_some()
                || self.control.paused
                || self.heartbeat_due()
            {
                self.sync();
            }
            if let Some(reason) = self.control.stop {
                self.settle();
                self.spells.2 = true;
                self.run_hooks(WorkerHook::Shutdown, None);
                return Ok(reason);
            }
            self.heartbeat_if_due();
            if self.control.paused {
                self.settle();
                self.pause_spell(true);
                procline::set("Paused");
                self.sleep(self.options.interval.max(Duration::from_millis(100)));
                continue;
            }
            if self.fetch_failed {
                self.settle();
                match store::return_own_inflight(&self.client, &self.id) {
                    Ok(returned) => {
                        self.fetch_failed = false;
                        if returned.requeued > 0 {
                            tracing::warn!(worker = %self.id, "put back a job whose fetch reply was lost");
                        }
                    }
                    Err(e) => tracing::debug!(worker = %self.id, "cannot check the in-flight list yet: {e}"),
                }
            }
            if let Some(next) = self.ready.pop_front() {
                self.start_next(next);
                continue;
            }
            if let Some(wake) = self.wake.as_mut() {
                // Published before this fetch: the fetch will see it.
                wake.drain();
            }
            match self.take_jobs() {
                Ok(Took::Jobs(jobs)) => {
                    backoff = Duration::ZERO;
                    self.pause_spell(false);
                    self.spells.0 = false;
                    let mut jobs = jobs.into_iter();
                    if let Some(first) = jobs.next() {
                        self.ready.extend(jobs);
                        self.process(first);
                    }
                }
                Ok(Took::Empty) => {
                    backoff = Duration::ZERO;
                    self.pause_spell(false);
                    if !self.spells.0 {
                        self.spells.0 = true;
                        self.run_hooks(WorkerHook::QueueEmpty, None);
                    }
                    if self.options.interval.is_zero() {
                        return Ok(StopReason::Drained);
                    }
                    procline::set(&format!("Waiting for {}", self.options.queues));
                    self.idle(self.options.interval);
                }
                Ok(Took::Paused) => {
                    self.pause_spell(true);
                    procline::set("Paused");
                    self.sleep(self.options.interval.max(Duration::from_millis(100)));
                }
                Err(e) => {
                    self.fetch_failed = true;
                    backoff = (backoff * 2).clamp(Duration::from_millis(250), MAX_BACKOFF);
                    tracing::warn!(worker = %self.id, "cannot fetch a job: {e}; retrying in {backoff:?}");
                    self.sleep(backoff);
                }
            }
        }
    }

    /// How many jobs a step takes: a forking worker keeps one job ahead, so
    /// that the step that starts a job also takes the next; a `--no-fork`
    /// worker takes [`IN_PROCESS_BATCH`].
    fn batch(&self) -> usize {
        if self.options.fork_per_job {
            1
        } else {
            IN_PROCESS_BATCH
        }
    }

    /// Waiting for the queues: one step (see [`store::Step`]) that records
    /// the last job's outcome and takes the next jobs, the first of which
    /// starts at once.
    fn take_jobs(&mut self) -> Result<Took> {
        let queues = self.queues()?;
        let ran = self.ran.take();
        let step = Step {
            finish: ran.as_ref(),
            start: None,
            // The one to start, and the batch after it.
            take: 1 + self.batch(),
            start_first: true,
            queues: &queues,
        };
        let command =
            store::step_command(&self.client, &self.step_keys, &step, &self.options.failure_backends);
        store::step(&self.client, &command, &queues).inspect_err(|_| self.ran = ran)
    }

    /// Starts a job taken ahead: sends the step that records the last job's
    /// outcome and this job's `worker:<id>` (and, for the last job ahead,
    /// takes the next ones), then runs the job while Redis answers.
    fn start_next(&mut self, next: Taken) {
        if !self.unconfirmed.is_empty() {
            self.record_unconfirmed();
        }
        let taking = self.outstanding.iter().any(|p| p.take > 0);
        let mut take =
            if self.ready.len() < self.batch() && !taking && !self.fetch_failed { self.batch() } else { 0 };
        let queues = match take {
            0 => Arc::new(Queues::NONE),
            _ => self.queues().unwrap_or_else(|e| {
                tracing::warn!(worker = %self.id, "cannot list the queues: {e}");
                take = 0;
                Arc::new(Queues::NONE)
            }),
        };
        let ran = self.ran.take();
        let step =
            Step { finish: ran.as_ref(), start: Some(&next), take, start_first: false, queues: &queues };
        let command =
            store::step_command(&self.client, &self.step_keys, &step, &self.options.failure_backends);
        match store::send_step(&self.client, &command) {
            Ok(sent) => self.outstanding.push_back(Pending { sent, ran, take, queues }),
            Err(e) => {
                tracing::warn!(worker = %self.id, "cannot record the job that starts: {e}");
                self.unconfirmed.extend(ran);
                self.fetch_failed |= take > 0;
            }
        }
        self.process(next);
        if !self.options.fork_per_job {
            while self.outstanding.len() > WINDOW {
                self.receive_one();
            }
        }
    }

    /// Reads the oldest unanswered step's reply.
    fn receive_one(&mut self) {
        if let Some(pending) = self.outstanding.pop_front() {
            let answered = pending.receive(&self.client);
            self.absorb(answered);
        }
    }

    /// Reads every unanswered step's reply: before anything else uses the
    /// connection.
    fn sync(&mut self) {
        while !self.outstanding.is_empty() {
            self.receive_one();
        }
    }

    /// Takes in the answer to a step sent before a job started.
    fn absorb(&mut self, answered: Answered) {
        match answered.reply {
            Ok(Took::Jobs(jobs)) => self.ready.extend(jobs),
            Ok(Took::Empty | Took::Paused) => {}
            Err(e) => {
                tracing::warn!(worker = %self.id, "lost the reply to a step: {e}; recording it again");
                self.unconfirmed.extend(answered.ran);
                self.fetch_failed |= answered.take > 0;
            }
        }
    }

    /// Reads every unanswered step's reply, then records again the jobs
    /// whose step lost its reply.
    fn record_unconfirmed(&mut self) {
        self.sync();
        for lost in std::mem::take(&mut self.unconfirmed) {
            self.record(lost);
        }
    }

    /// Records whatever is unrecorded and puts back the jobs taken ahead:
    /// before the worker stops, pauses or looks for stray in-flight jobs.
    fn settle(&mut self) {
        self.record_unconfirmed();
        if let Some(ran) = self.ran.take() {
            self.record(ran);
        }
        if !self.ready.is_empty() {
            let ready: Vec<Taken> = self.ready.drain(..).collect();
            if let Err(e) = store::return_taken(&self.client, &self.id, &ready) {
                tracing::warn!(worker = %self.id, "cannot put back the jobs taken ahead yet: {e}");
                self.fetch_failed = true;
            }
        }
    }

    /// Runs `before_pause` when a pause starts and `after_pause` when it ends.
    fn pause_spell(&mut self, paused: bool) {
        if paused != self.spells.1 {
            self.spells.1 = paused;
            let event = if paused { WorkerHook::BeforePause } else { WorkerHook::AfterPause };
            self.run_hooks(event, None);
        }
    }

    /// Takes the signals received since the last look (see [`Control::read`]).
    fn read_signals(&mut self) -> Requests {
        self.control.read(&self.signals, &self.id)
    }

    /// Waits up to `interval` for a job: wakes at once when one is
    /// published on the wake channel, or for a signal.
    fn idle(&mut self, interval: Duration) {
        if let Some(wake) = self.wake.as_mut() {
            wake.ensure();
        }
        self.wait(interval, true);
    }

    /// Sleeps up to `duration`, waking at once for a signal.
    fn sleep(&mut self, duration: Duration) {
        self.wait(duration, false);
    }

    fn wait(&mut self, duration: Duration, until_published: bool) {
        let deadline = Instant::now() + duration;
        let paused = self.control.paused;
        loop {
            self.read_signals();
            if self.control.stop.is_some() || self.control.paused != paused {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            self.heartbeat_if_due();
            let left = (deadline - now).min(self.options.heartbeat_interval);
            let wake = self.wake.as_ref().filter(|_| until_published).and_then(wake::Wake::fd);
            if self.wait_for_signal(left, wake) {
                return;
            }
        }
    }

    /// Waits up to `at_most` for a signal, or for `also` to be readable;
    /// returns whether `also` was.
    fn wait_for_signal(&self, at_most: Duration, also: Option<std::os::fd::BorrowedFd<'_>>) -> bool {
        let timeout = PollTimeout::try_from(at_most).unwrap_or(PollTimeout::MAX);
        let mut fds = vec![PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
        fds.extend(also.map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                tracing::error!("poll failed while sleeping: {e}");
                std::thread::sleep(at_most);
            }
        }
        let also_ready = fds.get(1).and_then(PollFd::revents).is_some_and(|r| !r.is_empty());
        self.signals.drain();
        self.signals.take_child();
        also_ready
    }

    /// The queues to take from, resolved, in priority order.
    fn queues(&self) -> Result<Arc<Queues>> {
        match &self.static_queues {
            Some(queues) => Ok(queues.clone()),
            None => {
                let names = self.options.queues.resolve_bytes(&self.client.workable_queues()?);
                Ok(Arc::new(Queues::new(&self.client, names)))
            }
        }
    }

    /// Runs one job and keeps its outcome for the next step to record.
    /// Never fails: a bad payload or a failing job becomes a failure entry.
    /// A forking worker reads the replies to the steps it sent while the
    /// child runs.
    fn process(&mut self, taken: Taken) {
        let client = self.client.clone();
        let mut pending =
            if self.options.fork_per_job { std::mem::take(&mut self.outstanding) } else { VecDeque::new() };
        let mut answered = Vec::new();
        let mut receive = || answered.extend(pending.drain(..).map(|p| p.receive(&client)));
        let failure = self.run_job(&taken, &mut receive);
        receive();
        self.ran = Some(Ran { taken, failure });
        for a in answered {
            self.absorb(a);
        }
    }

    /// Runs a job, forked or in process; returns its failure entry if it
    /// failed. `child_started` is called once a forked child runs.
    fn run_job(&mut self, taken: &Taken, child_started: &mut dyn FnMut()) -> Option<String> {
        let started = Instant::now();
        let text = match std::str::from_utf8(&taken.raw) {
            Ok(text) => text,
            Err(not_utf8) => {
                let failure = JobFailure::new(
                    exception::BAD_PAYLOAD,
                    format!(
                        "payload in queue {:?} is not valid UTF-8 (byte 0x{:02x} at offset {}), so it was not run",
                        taken.queue,
                        taken.raw.get(not_utf8.valid_up_to()).copied().unwrap_or_default(),
                        not_utf8.valid_up_to()
                    ),
                );
                tracing::error!(queue = taken.queue, "{}", failure.error);
                return Some(self.failure_entry(taken, &failure));
            }
        };
        let payload = match JobPayload::parse(text) {
            Ok(payload) => payload,
            Err(why) => {
                let failure = crate::job::check_unparsed_integers(&self.registry, text).unwrap_or_else(|| {
                    JobFailure::new(
                        exception::BAD_PAYLOAD,
                        format!(
                            "payload in queue {:?} is not a job (an object with \"class\" and an \"args\" array): {why}",
                            taken.queue
                        ),
                    )
                });
                tracing::error!(queue = taken.queue, "{}", failure.error);
                return Some(self.failure_entry(taken, &failure));
            }
        };
        let title = procline::title(&format!(
            "Processing {} since {} [{}]",
            taken.queue,
            Timestamp::now().as_second(),
            payload.class
        ));
        let result = match self.registry.get(&payload.class) {
            None => Err(JobFailure::new(
                exception::UNKNOWN_CLASS,
                format!(
                    "no job is registered for class {:?} in this worker (it runs: {})",
                    payload.class,
                    self.registry.classes().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(entry) => match crate::job::check_integers(entry, text) {
                Err(failure) => Err(failure),
                Ok(()) if self.options.fork_per_job => {
                    let timeout = entry.timeout.or(self.options.job_timeout);
                    self.run_in_child(entry, &taken.queue, payload.args, &title, timeout, child_started)
                }
                Ok(()) => {
                    procline::set_title(&title);
                    run::perform(entry, &taken.queue, payload.args)
                }
            },
        };
        match &result {
            Err(f) => {
                tracing::warn!(worker = %self.id, queue = taken.queue, class = payload.class, "job failed: {f}")
            }
            Ok(()) => tracing::info!(
                worker = %self.id,
                queue = taken.queue,
                class = payload.class,
                elapsed = ?started.elapsed(),
                "job done"
            ),
        }
        result.err().map(|f| self.failure_entry(taken, &f))
    }

    /// A failure entry's JSON, with the payload as it was (as text when it
    /// is not JSON); logged when a failure backend is the log.
    fn failure_entry(&self, taken: &Taken, failure: &JobFailure) -> String {
        let entry = NewFailure {
            failed_at: payload::time::failed_at(Timestamp::now()),
            payload: FailedPayload::of(&taken.raw),
            exception: &failure.exception,
            error: &failure.error,
            backtrace: &failure.backtrace,
            worker: &self.id,
            queue: &taken.queue,
            raw_queue: taken.raw_queue.as_deref(),
        }
        .to_json();
        if self.options.failure_backends.contains(&FailureDestination::Log) {
            tracing::error!(worker = %self.id, failure = entry.as_str(), "job failed");
        }
        entry
    }

    fn run_in_child(
        &mut self,
        entry: &'static crate::registry::JobEntry,
        queue: &str,
        args: Vec<serde_json::Value>,
        title: &str,
        timeout: Option<Duration>,
        started: &mut dyn FnMut(),
    ) -> std::result::Result<(), JobFailure> {
        let ctx_args = if entry.hooks.any || !self.hooks.is_empty() { args.clone() } else { Vec::new() };
        let ctx = JobContext { class: entry.class, queue, args: &ctx_args };
        self.run_hooks(WorkerHook::BeforeFork, Some(ctx));
        let policy = StopPolicy {
            term_child: self.options.term_child,
            pre_shutdown: self.options.pre_shutdown_timeout,
            term_timeout: self.options.term_timeout,
        };
        let Worker { client, id, signals, control, options, hooks, last_heartbeat, beats_resumed, .. } = self;
        let after_fork = || run_worker_hooks(hooks, id, WorkerHook::AfterFork, Some(ctx));
        let interval = options.heartbeat_interval;
        let mut tick = || match write_heartbeat(client, id) {
            Ok(()) => note_beat(last_heartbeat, beats_resumed, Instant::now(), interval, id),
            Err(e) => tracing::warn!(worker = %id, "heartbeat failed: {e}"),
        };
        let mut on_wake = || {
            let requests = control.read(signals, id);
            if requests.kill_child {
                ChildAction::StopNow
            } else if requests.stop_child {
                ChildAction::Stop
            } else {
                ChildAction::Continue
            }
        };
        let run = run::in_child(
            entry,
            queue,
            args,
            title,
            &after_fork,
            Supervision {
                signals,
                started,
                on_wake: &mut on_wake,
                tick: &mut tick,
                tick_every: options.heartbeat_interval,
                policy,
                timeout,
            },
        );
        let (result, reported) = match run {
            Ok(outcome) => (outcome.result, outcome.reported),
            Err(e) => {
                (Err(JobFailure::new(exception::DIRTY_EXIT, format!("could not run the job: {e}"))), false)
            }
        };
        if let Err(failure) = &result {
            if !reported {
                // The child died or ran out of time before it could.
                run::run_on_failure(entry, failure, &ctx);
            }
        }
        result
    }

    /// Records a job's outcome in a step of its own (see [`store::Step`]),
    /// retrying while Redis is unreachable. A worker told to stop at once
    /// gives up; the job then stays in its in-flight list and is recovered
    /// later.
    fn record(&mut self, ran: Ran) {
        let step =
            Step { finish: Some(&ran), start: None, take: 0, start_first: false, queues: &Queues::NONE };
        let command =
            store::step_command(&self.client, &self.step_keys, &step, &self.options.failure_backends);
        let mut backoff = Duration::from_millis(100);
        loop {
            match store::step(&self.client, &command, &Queues::NONE) {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(worker = %self.id, "cannot record a finished job: {e}; retrying in {backoff:?}");
                    if self.read_signals().kill_child {
                        tracing::error!(worker = %self.id, "stopping with a finished job unrecorded; it stays in flight");
                        return;
                    }
                    self.wait_for_signal(backoff, None);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn heartbeat(&mut self) -> Result<()> {
        write_heartbeat(&self.client, &self.id)?;
        let interval = self.options.heartbeat_interval;
        note_beat(&mut self.last_heartbeat, &mut self.beats_resumed, Instant::now(), interval, &self.id);
        Ok(())
    }

    /// Whether an expired heartbeat may be taken for a dead worker now: not
    /// within two heartbeat intervals of this worker's own beats resuming
    /// after a gap, the time every live worker needs to beat again.
    fn trusts_expiry(&self) -> bool {
        self.beats_resumed.is_none_or(|t| t.elapsed() >= self.options.heartbeat_interval * 2)
    }

    fn heartbeat_due(&self) -> bool {
        self.last_heartbeat.is_none_or(|t| t.elapsed() >= self.options.heartbeat_interval)
    }

    /// Beats when due, makes sure this worker is still registered (a Redis
    /// that restarted empty forgets it), and prunes dead workers.
    fn heartbeat_if_due(&mut self) {
        if !self.heartbeat_due() {
            return;
        }
        match self.heartbeat() {
            Ok(()) => {
                if let Err(e) = self.register() {
                    tracing::warn!(worker = %self.id, "cannot refresh the registration: {e}");
                }
                self.prune();
            }
            Err(e) => tracing::warn!(worker = %self.id, "heartbeat failed: {e}"),
        }
    }

    /// Prunes dead workers and recovers their jobs, when no other worker is.
    fn prune(&self) {
        let pruner = prune::Pruner {
            id: &self.id,
            hostname: &self.hostname,
            queues: &self.options.queues,
            heartbeat_interval: self.options.heartbeat_interval,
            failures: &self.options.failure_backends,
            trust_expiry: self.trusts_expiry(),
        };
        match prune::prune_dead_workers(&self.client, &pruner) {
            Ok(Some(pruned)) if !pruned.workers.is_empty() || pruned.recovered != Default::default() => {
                tracing::info!(
                    worker = %self.id,
                    pruned = ?pruned.workers,
                    requeued = pruned.recovered.requeued,
                    failed = pruned.recovered.failed,
                    "pruned dead workers"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(worker = %self.id, "cannot prune dead workers: {e}"),
        }
    }

    /// `SADD workers <id>` + `SET worker:<id>:started <time>` (kept if set).
    fn register(&self) -> Result<()> {
        let keys = self.client.keys();
        self.client.with_conn(|c| {
            redis::pipe()
                .sadd(keys.workers(), &self.id)
                .ignore()
                .cmd("SET")
                .arg(keys.worker_started(&self.id))
                .arg(&self.started)
                .arg("NX")
                .ignore()
                .query::<()>(c)
        })
    }

    /// Puts back anything still in flight (a finished job Redis never heard
    /// of, at worst run twice), then removes every trace of this worker.
    fn unregister(&mut self) -> Result<()> {
        let recovered = store::recover_inflight(&self.client, &self.id, &self.options.failure_backends)?;
        if recovered != Recovered::default() {
            tracing::warn!(worker = %self.id, ?recovered, "put back jobs left in flight");
        }
        store::unregister(&self.client, &self.id)
    }
}

impl Control {
    /// Takes the signals received since the last look and updates the
    /// state; returns what they ask of a running child.
    fn read(&mut self, signals: &Signals, id: &str) -> Requests {
        let mut requests = Requests::default();
        if signals.take_quit() {
            tracing::info!(worker = id, "QUIT: finishing the current job, then stopping");
            self.stop.get_or_insert(StopReason::Quit);
        }
        if signals.take_term() {
            if self.graceful_term {
                tracing::info!(
                    worker = id,
                    "TERM with GRACEFUL_TERM: finishing the current job, then stopping"
                );
                self.stop.get_or_insert(StopReason::Quit);
            } else if self.terminating {
                tracing::info!(worker = id, "second TERM/INT: stopping now");
                requests.kill_child = true;
            } else {
                tracing::info!(worker = id, "TERM/INT: stopping the current job and exiting");
                self.terminating = true;
                self.stop = Some(StopReason::Terminated);
                requests.stop_child = true;
            }
        }
        if signals.take_usr1() {
            tracing::info!(worker = id, "USR1: stopping the current job, then going on");
            requests.stop_child = true;
        }
        if signals.take_usr2() {
            tracing::info!(worker = id, "USR2: pausing after the current job");
            self.paused = true;
        }
        if signals.take_cont() && self.paused {
            tracing::info!(worker = id, "CONT: resuming");
            self.paused = false;
        }
        requests
    }
}

/// Prunes dead workers as a worker listening on every queue of this host
/// would (see `docs/PROTOCOL.md`), and puts their in-flight jobs back.
/// A heartbeat older than [`EXPIRY_INTERVALS`] heartbeat intervals is dead;
/// the pruning lock is held for one interval. `None` when another worker
/// holds the lock.
pub(crate) fn prune_now(client: &Client, heartbeat_interval: Duration) -> Result<Option<Pruned>> {
    let worker_id = WorkerId::for_this_process("resque-cli-prune")?;
    let (id, hostname) = (worker_id.to_string(), worker_id.host().to_string());
    let all = QueueList::parse("*")?;
    let pruner = prune::Pruner {
        id: &id,
        hostname: &hostname,
        queues: &all,
        heartbeat_interval,
        failures: &[FailureDestination::Redis],
        trust_expiry: true,
    };
    prune::prune_dead_workers(client, &pruner)
}

/// Unregisters a worker and puts its in-flight jobs back; a job recorded
/// as running with nothing in flight (a Ruby or node-resque worker's) is
/// failed as `Resque::DirtyExit`, as Ruby's `unregister_worker` does.
pub(crate) fn remove_worker(client: &Client, id: &str) -> Result<Recovered> {
    let removed = prune::prune_worker(
        client,
        id.as_bytes(),
        None,
        &[FailureDestination::Redis],
        prune::Removal::Removed,
    )?;
    Ok(removed.unwrap_or_default())
}

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

/// See [`signals::deferred`].
pub(crate) fn deferred_signals() -> Option<impl Drop> {
    signals::deferred()
}

/// Runs a job in this process, panics caught, as `--no-fork` does.
pub(crate) fn perform_inline(
    entry: &crate::registry::JobEntry,
    queue: &str,
    args: Vec<serde_json::Value>,
) -> std::result::Result<(), JobFailure> {
    run::perform(entry, queue, args)
}

/// Notes a heartbeat that reached Redis at `at`, and whether it ends a gap
/// of more than three intervals since the last one (see
/// [`Worker::beats_resumed`]).
fn note_beat(
    last: &mut Option<Instant>,
    resumed: &mut Option<Instant>,
    at: Instant,
    interval: Duration,
    id: &str,
) {
    let gap = last.map(|last| at.saturating_duration_since(last));
    if gap.is_some_and(|gap| gap > interval * 3) {
        tracing::info!(
            worker = id,
            ?gap,
            "heartbeats land again: expired heartbeats prove nothing for a while"
        );
        *resumed = Some(at);
    }
    *last = Some(at);
}

/// `HSET workers:heartbeat <id> <Redis TIME as ISO-8601>`.
fn write_heartbeat(client: &Client, id: &str) -> Result<()> {
    let now = payload::time::heartbeat(client.redis_time()?);
    let key = client.keys().heartbeat();
    client.with_conn(|c| redis::cmd("HSET").arg(&key).arg(id).arg(&now).query::<()>(c))?;
    tracing::debug!(worker = id, at = now, "heartbeat");
    Ok(())
}
