//! The worker: register, fetch, fork, wait, record, heartbeat, unregister.
//!
//! The parent process stays single-threaded and runs no async runtime, so
//! that `fork` is safe; each job runs in a child that ends with `_exit` and
//! reports a failure to the parent over a pipe. The parent records every
//! outcome in Redis exactly as Ruby Resque does (see `docs/PROTOCOL.md`).

mod run;
mod signals;

use std::time::{Duration, Instant};

use jiff::Timestamp;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::job::JobFailure;
use crate::keys::stat;
use crate::payload::{self, exception, FailedPayload, JobPayload, NewFailure, ProcessingRecord};
use crate::procline;
use crate::queues::QueueList;
use crate::registry::Registry;
use signals::Signals;

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
    /// TERM or INT: the current job was killed.
    Terminated,
}

/// A worker process's loop.
pub struct Worker {
    client: Client,
    registry: Registry,
    options: WorkerOptions,
    id: String,
    signals: Signals,
    last_heartbeat: Option<Instant>,
    stop: Option<StopReason>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("id", &self.id).field("options", &self.options).finish()
    }
}

/// One job taken from a queue.
struct Taken {
    queue: String,
    raw: String,
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

const FETCH_SCRIPT: &str = r"
local paused = redis.call('GET', KEYS[1])
if paused and string.lower(paused) == 'true' then return {0} end
for i = 2, #KEYS do
  local payload = redis.call('LPOP', KEYS[i])
  if payload then return {i - 1, payload} end
end
return {}
";

enum Fetched {
    Job(Taken),
    Empty,
    Paused,
}

impl Worker {
    /// A worker for `client`'s namespace that runs the jobs in `registry`.
    ///
    /// Installs its signal handlers (QUIT, TERM, INT, CHLD) until dropped.
    pub fn new(client: Client, registry: Registry, options: WorkerOptions) -> Result<Self> {
        let hostname = nix::unistd::gethostname()
            .map_err(|e| Error::os("reading the hostname", std::io::Error::from(e)))?
            .to_string_lossy()
            .into_owned();
        let id = format!("{hostname}:{}:{}", std::process::id(), options.queues);
        Ok(Worker {
            client,
            registry,
            options,
            id,
            signals: Signals::install()?,
            last_heartbeat: None,
            stop: None,
        })
    }

    /// The worker id: `<hostname>:<pid>:<queues as given>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Registers, works until told to stop (or, with interval zero, until
    /// the queues are empty), and unregisters.
    pub fn work(&mut self) -> Result<StopReason> {
        procline::set("Starting");
        self.heartbeat()?;
        self.register()?;
        tracing::info!(worker = %self.id, "worker started");
        let result = self.work_loop();
        if let Err(e) = self.unregister() {
            tracing::error!(worker = %self.id, "could not unregister: {e}");
        }
        tracing::info!(worker = %self.id, "worker stopped");
        result
    }

    fn work_loop(&mut self) -> Result<StopReason> {
        let mut backoff = Duration::ZERO;
        loop {
            self.check_signals();
            if let Some(reason) = self.stop {
                return Ok(reason);
            }
            self.heartbeat_if_due();
            match self.fetch() {
                Ok(Fetched::Job(taken)) => {
                    backoff = Duration::ZERO;
                    self.process(taken);
                }
                Ok(Fetched::Empty) => {
                    backoff = Duration::ZERO;
                    if self.options.interval.is_zero() {
                        return Ok(StopReason::Drained);
                    }
                    procline::set(&format!("Waiting for {}", self.options.queues));
                    self.sleep(self.options.interval);
                }
                Ok(Fetched::Paused) => {
                    procline::set("Paused");
                    self.sleep(self.options.interval.max(Duration::from_millis(100)));
                }
                Err(e) => {
                    backoff = (backoff * 2).clamp(Duration::from_millis(250), MAX_BACKOFF);
                    tracing::warn!(worker = %self.id, "cannot fetch a job: {e}; retrying in {backoff:?}");
                    self.sleep(backoff);
                }
            }
        }
    }

    fn check_signals(&mut self) {
        if self.signals.term_requested() {
            self.stop = Some(StopReason::Terminated);
        } else if self.signals.quit_requested() && self.stop.is_none() {
            self.stop = Some(StopReason::Quit);
        }
    }

    /// Sleeps up to `duration`, waking at once for a signal.
    fn sleep(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        loop {
            self.check_signals();
            if self.stop.is_some() {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            self.heartbeat_if_due();
            let left = (deadline - now).min(self.options.heartbeat_interval);
            let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    tracing::error!("poll failed while sleeping: {e}");
                    std::thread::sleep(left);
                }
            }
            self.signals.drain();
            self.signals.take_child();
        }
    }

    /// Takes the next job: the first non-empty queue in priority order, in
    /// one round trip that also honours `pause-all-workers`.
    fn fetch(&self) -> Result<Fetched> {
        let queues = if self.options.queues.is_dynamic() {
            self.options.queues.resolve(&self.client.queues()?)
        } else {
            self.options.queues.resolve(&[])
        };
        let keys = self.client.keys();
        let script = redis::Script::new(FETCH_SCRIPT);
        let mut invocation = script.key(keys.pause_all());
        for q in &queues {
            invocation.key(keys.queue(q));
        }
        let reply: (Option<usize>, Option<String>) = self.client.with_conn(|c| {
            let v: Vec<redis::Value> = invocation.invoke(c)?;
            let mut it = v.into_iter();
            let index = it.next().map(redis::from_redis_value::<usize>).transpose()?;
            let payload = it.next().map(redis::from_redis_value::<String>).transpose()?;
            Ok((index, payload))
        })?;
        Ok(match reply {
            (Some(0), _) => Fetched::Paused,
            (Some(i), Some(raw)) => match queues.get(i - 1) {
                Some(queue) => Fetched::Job(Taken { queue: queue.clone(), raw }),
                None => Fetched::Empty,
            },
            _ => Fetched::Empty,
        })
    }

    /// Runs one job and records its outcome. Never fails: a bad payload or a
    /// failing job becomes a failure entry.
    fn process(&mut self, taken: Taken) {
        let started = Instant::now();
        let Taken { queue, raw } = taken;
        let parsed = JobPayload::parse(&raw);
        let raw_json: Option<&RawValue> = serde_json::from_str(&raw).ok();
        let (payload, raw_json) = match (parsed, raw_json) {
            (Ok(p), Some(r)) => (p, r),
            (parsed, raw_json) => {
                let why = match parsed {
                    Err(e) => e.to_string(),
                    Ok(_) => "not valid JSON".to_string(),
                };
                let failure = JobFailure::new(
                    exception::BAD_PAYLOAD,
                    format!("payload in queue {queue:?} is not a job (an object with \"class\" and an \"args\" array): {why}"),
                );
                let stored = match raw_json {
                    Some(r) => FailedPayload::Json(r),
                    None => FailedPayload::Text(&raw),
                };
                tracing::error!(queue, "{}", failure.error);
                self.finish(&queue, &stored, Err(&failure));
                return;
            }
        };
        let run_at = payload::time::run_at(Timestamp::now());
        let record = ProcessingRecord { queue: &queue, run_at, payload: raw_json }.to_json();
        let worker_key = self.client.keys().worker(&self.id);
        if let Err(e) =
            self.client.with_conn(|c| redis::cmd("SET").arg(&worker_key).arg(&record).query::<()>(c))
        {
            tracing::warn!(worker = %self.id, "could not record the job being worked on: {e}");
        }
        let result = match self.registry.get(&payload.class) {
            None => Err(JobFailure::new(
                exception::UNKNOWN_CLASS,
                format!(
                    "no job is registered for class {:?} in this worker (it runs: {})",
                    payload.class,
                    self.registry.classes().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(entry) if self.options.fork_per_job => {
                let since = Timestamp::now().as_second();
                let child_title = format!("Processing {queue} since {since} [{}]", payload.class);
                let id = self.id.clone();
                let client = self.client.clone();
                let mut beat_at = self.last_heartbeat;
                let every = self.options.heartbeat_interval;
                let signals = &self.signals;
                let run = run::in_child(
                    entry,
                    payload.args,
                    &child_title,
                    signals,
                    |_| {
                        if let Err(e) = write_heartbeat(&client, &id) {
                            tracing::warn!(worker = %id, "heartbeat failed: {e}");
                        } else {
                            beat_at = Some(Instant::now());
                        }
                    },
                    every,
                );
                self.last_heartbeat = beat_at;
                match run {
                    Ok(outcome) => {
                        if outcome.terminated {
                            self.stop = Some(StopReason::Terminated);
                        }
                        outcome.result
                    }
                    Err(e) => {
                        Err(JobFailure::new(exception::DIRTY_EXIT, format!("could not run the job: {e}")))
                    }
                }
            }
            Some(entry) => run::perform(entry, payload.args),
        };
        if let Err(f) = &result {
            tracing::warn!(worker = %self.id, queue, class = payload.class, "job failed: {f}");
        } else {
            tracing::info!(worker = %self.id, queue, class = payload.class, elapsed = ?started.elapsed(), "job done");
        }
        self.finish(&queue, &FailedPayload::Json(raw_json), result.as_ref().map(|_| ()));
    }

    /// Records a finished job in one round trip: the failure entry and
    /// counters when it failed, then `DEL worker:<id>` and the processed
    /// counters. Retries until Redis takes it or the worker must stop.
    fn finish(
        &mut self,
        queue: &str,
        stored: &FailedPayload<'_>,
        result: std::result::Result<(), &JobFailure>,
    ) {
        let keys = self.client.keys();
        let mut pipe = redis::pipe();
        if let Err(failure) = result {
            let entry = NewFailure {
                failed_at: payload::time::failed_at(Timestamp::now()),
                payload: match stored {
                    FailedPayload::Json(r) => FailedPayload::Json(r),
                    FailedPayload::Text(t) => FailedPayload::Text(t),
                },
                exception: &failure.exception,
                error: &failure.error,
                backtrace: &failure.backtrace,
                worker: &self.id,
                queue,
            };
            pipe.rpush(keys.failed(), entry.to_json())
                .ignore()
                .incr(keys.stat(stat::FAILED), 1)
                .ignore()
                .incr(keys.worker_stat(stat::FAILED, &self.id), 1)
                .ignore();
        }
        pipe.del(keys.worker(&self.id))
            .ignore()
            .incr(keys.stat(stat::PROCESSED), 1)
            .ignore()
            .incr(keys.worker_stat(stat::PROCESSED, &self.id), 1)
            .ignore();
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.client.with_conn(|c| pipe.query::<()>(c)) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(worker = %self.id, "cannot record a finished job: {e}; retrying in {backoff:?}");
                    if self.signals.term_requested() {
                        tracing::error!(worker = %self.id, "stopping with a finished job unrecorded");
                        return;
                    }
                    self.sleep_ignoring_quit(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn sleep_ignoring_quit(&self, duration: Duration) {
        let timeout = PollTimeout::try_from(duration).unwrap_or(PollTimeout::MAX);
        let fd = self.signals.fd();
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let _ = poll(&mut fds, timeout);
        self.signals.drain();
    }

    fn heartbeat(&mut self) -> Result<()> {
        write_heartbeat(&self.client, &self.id)?;
        self.last_heartbeat = Some(Instant::now());
        Ok(())
    }

    fn heartbeat_if_due(&mut self) {
        let due = self.last_heartbeat.is_none_or(|t| t.elapsed() >= self.options.heartbeat_interval);
        if due {
            if let Err(e) = self.heartbeat() {
                tracing::warn!(worker = %self.id, "heartbeat failed: {e}");
            }
        }
    }

    /// `SADD workers <id>` + `SET worker:<id>:started <time>`.
    fn register(&self) -> Result<()> {
        let keys = self.client.keys();
        let started = payload::time::started(Timestamp::now());
        self.client.with_conn(|c| {
            redis::pipe()
                .sadd(keys.workers(), &self.id)
                .ignore()
                .set(keys.worker_started(&self.id), started)
                .ignore()
                .query::<()>(c)
        })
    }

    /// Removes every trace of this worker; a job still recorded as being
    /// worked on is first recorded as failed (`Resque::DirtyExit`).
    fn unregister(&mut self) -> Result<()> {
        let keys = self.client.keys().clone();
        let leftover: Option<String> =
            self.client.with_conn(|c| redis::cmd("GET").arg(keys.worker(&self.id)).query(c))?;
        if let Some(record) = leftover {
            if let Ok(working) = serde_json::from_str::<payload::WorkingOn>(&record) {
                let raw = serde_json::to_string(&working.payload).unwrap_or_default();
                if let Ok(raw) = RawValue::from_string(raw) {
                    let failure =
                        JobFailure::new(exception::DIRTY_EXIT, "Worker exited while the job was running");
                    self.finish(&working.queue, &FailedPayload::Json(&raw), Err(&failure));
                }
            }
        }
        self.client.with_conn(|c| {
            redis::pipe()
                .srem(keys.workers(), &self.id)
                .ignore()
                .del(keys.worker(&self.id))
                .ignore()
                .del(keys.worker_started(&self.id))
                .ignore()
                .hdel(keys.heartbeat(), &self.id)
                .ignore()
                .del(keys.worker_stat(stat::PROCESSED, &self.id))
                .ignore()
                .del(keys.worker_stat(stat::FAILED, &self.id))
                .ignore()
                .query::<()>(c)
        })
    }
}

/// `HSET workers:heartbeat <id> <Redis TIME as ISO-8601>`.
fn write_heartbeat(client: &Client, id: &str) -> Result<()> {
    let now = payload::time::heartbeat(client.redis_time()?);
    let key = client.keys().heartbeat();
    client.with_conn(|c| redis::cmd("HSET").arg(&key).arg(id).arg(&now).query::<()>(c))?;
    tracing::debug!(worker = id, at = now, "heartbeat");
    Ok(())
}
