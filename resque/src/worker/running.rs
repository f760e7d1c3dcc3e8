//! Running one job: its payload checked, its class looked up, run forked
//! or in process, and its outcome turned into a failure entry when it
//! failed.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::ahead::LONG_JOB;
use super::child::{self, ChildAction, StopPolicy, Supervision};
use super::step::{Ran, Taken};
use super::watchdog;
use super::{presence::note_beat, run_worker_hooks, Worker};
use crate::failure::log_failure;
use crate::hooks::{JobContext, WorkerHook};
use crate::job::JobFailure;
use crate::keys::Keys;
use crate::payload::{self, exception, FailedPayload, JobPayload, NewFailure};
use crate::perform;
use crate::procline;
use crate::retries::{self, Attempt, RetryFinish, Then};
use crate::retry;
use crate::roster;

/// From this size on, a payload is let go while its job runs (see
/// [`Worker::run_job`]).
const RELEASED_FROM: usize = 64 * 1024;

/// Reads a payload let go while its job ran back from its in-flight entry.
fn restore_payload(taken: &mut Taken) {
    match payload::inflight_payload(&taken.entry) {
        Ok(raw) => taken.raw = raw,
        Err(e) => {
            tracing::error!(queue = taken.queue, "cannot read the payload back from its in-flight entry: {e}")
        }
    }
}

/// What the worker does while a job runs, besides watching it.
pub(super) struct WhileRunning<'a> {
    /// Reads the replies to steps sent ahead: called once a forked child
    /// runs, or before the attempt of a job with a retry policy is counted
    /// (a command of its own on the connection those replies are due on).
    pub(super) replies_due: &'a mut dyn FnMut(),
    /// Called once a forked child has run for [`LONG_JOB`]: hands back the
    /// jobs taken ahead.
    pub(super) running_long: &'a mut dyn FnMut(),
}

impl Worker {
    /// Runs one job and keeps its outcome for the next step to record.
    /// Never fails: a bad payload or a failing job becomes a failure entry.
    /// A forking worker reads the replies to the steps it sent while the
    /// child runs.
    pub(super) fn process(&mut self, taken: Taken) {
        let client = self.client.clone();
        let forking = self.options.fork_per_job;
        // Only a forking worker hands back from here (see `running_long`).
        let id = if forking { self.id.clone() } else { String::new() };
        // A forking worker reads every reply due while its child runs; one
        // running jobs in process keeps its window of steps in flight, and
        // reads them here only when the job needs the connection itself.
        let pending = RefCell::new(std::mem::take(&mut self.outstanding));
        let answered = RefCell::new(Vec::new());
        let mut ahead = if forking { std::mem::take(&mut self.ready) } else { VecDeque::new() };
        let receive =
            || answered.borrow_mut().extend(pending.borrow_mut().drain(..).map(|p| p.receive(&client)));
        let mut while_running = WhileRunning {
            replies_due: &mut || receive(),
            running_long: &mut || {
                receive();
                for a in answered.borrow_mut().iter_mut() {
                    ahead.extend(a.take_jobs());
                }
                Worker::hand_back(&client, &id, &mut ahead);
            },
        };
        let mut taken = taken;
        let started = Instant::now();
        if let Some(watchdog) = &self.watchdog {
            watchdog.arm(self.ready.len());
        }
        let payload_sha1 = Keys::recovery_field(&taken.raw);
        let (failure, retry) = self.run_job(&mut taken, &mut while_running);
        self.short_jobs = started.elapsed() < LONG_JOB;
        if let Some(watchdog) = &self.watchdog {
            let mut returned = watchdog.disarm();
            watchdog::drop_returned(&mut self.ready, &mut returned, |t| &t.entry);
            self.handed_back.extend(returned);
        }
        if forking {
            receive();
        }
        self.ran = Some(Ran::with_sha1(taken, payload_sha1, failure, retry));
        self.ready.extend(ahead);
        for a in answered.into_inner() {
            self.absorb(a);
        }
        // Not read early: still in flight, oldest first.
        self.outstanding = pending.into_inner();
    }

    /// Runs a job, forked or in process; returns its failure entry for the
    /// failed lists if it failed and is not retried, and, for a job with a
    /// retry policy, what its finishing step does about the retry.
    pub(super) fn run_job(
        &mut self,
        taken: &mut Taken,
        while_running: &mut WhileRunning<'_>,
    ) -> (Option<String>, Option<RetryFinish>) {
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
                return (Some(self.failure_entry(taken, &failure, None)), None);
            }
        };
        let payload = match JobPayload::parse(text) {
            Ok(payload) => payload,
            Err(why) => {
                let failure = self.registry.check_unparsed_integers(text).unwrap_or_else(|| {
                    JobFailure::new(
                        exception::BAD_PAYLOAD,
                        format!(
                            "payload in queue {:?} is not a job (an object with \"class\" and an \"args\" array): {why}",
                            taken.queue
                        ),
                    )
                });
                tracing::error!(queue = taken.queue, "{}", failure.error);
                return (Some(self.failure_entry(taken, &failure, None)), None);
            }
        };
        let title = procline::title(&format!(
            "Processing {} since {} [{}]",
            taken.queue,
            Timestamp::now().as_second(),
            payload.class
        ));
        let entry = self.registry.get(&payload.class);
        let integers = entry.map(|e| e.check_integers(text));
        // A payload the job cannot hold (an integer beyond 64 bits) fails the
        // same way on every run: not retried.
        let policy = entry
            .filter(|_| integers.as_ref().is_some_and(Result::is_ok))
            .and_then(|e| e.retry)
            .filter(|_| !crate::inline::inline());
        let attempt = policy.as_ref().and_then(|policy| {
            (while_running.replies_due)();
            Attempt::begin(&self.client, &payload.class, policy, &payload.args)
                .map_err(|e| {
                    tracing::warn!(
                        class = payload.class,
                        "could not count the attempt, so it will not be retried: {e}"
                    )
                })
                .ok()
        });
        let exhausted = match (&policy, &attempt) {
            (Some(policy), Some(attempt)) => {
                policy.retry_limit().is_some_and(|limit| attempt.number > limit.saturating_add(1))
            }
            _ => false,
        };
        retry::set_current_attempt(attempt.as_ref().map_or(1, |a| a.number));
        // A large payload, parsed, is not needed while the job runs (nor in
        // a forked child) unless a retry policy decides on it afterwards:
        // it is read again from the in-flight entry if the job fails.
        let released = policy.is_none() && taken.raw.len() >= RELEASED_FROM;
        if released {
            taken.raw = Vec::new();
        }
        let result = match entry.zip(integers) {
            None => Err(JobFailure::new(
                exception::UNKNOWN_CLASS,
                format!(
                    "no job is registered for class {:?} in this worker (it runs: {})",
                    payload.class,
                    self.registry.classes().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(_) if exhausted => Err(JobFailure::new(
                exception::DIRTY_EXIT,
                format!(
                    "not run again: this is attempt {} and its retry policy allows {} runs; \
                     the runs before it did not finish (their worker died)",
                    attempt.as_ref().map_or(0, |a| a.number),
                    policy.and_then(|p| p.retry_limit()).map_or(0, |l| u64::from(l) + 1)
                ),
            )),
            Some((entry, integers)) => match integers {
                Err(failure) => Err(failure),
                Ok(()) if self.options.fork_per_job => {
                    let timeout = entry.timeout.or(self.options.job_timeout);
                    self.run_in_child(entry, &taken.queue, payload.args, &title, timeout, while_running)
                }
                Ok(()) => {
                    procline::set_title(&title);
                    perform::perform(entry, &taken.queue, payload.args)
                }
            },
        };
        retry::set_current_attempt(1);
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
        let failure = result.err();
        if released && failure.is_some() {
            restore_payload(taken);
        }
        let entry =
            failure.as_ref().map(|f| self.failure_entry(taken, f, attempt.as_ref().map(|a| a.number)));
        let (Some(policy), Some(attempt)) = (policy, attempt) else { return (entry, None) };
        let number = attempt.number;
        let decided = retries::decide(
            &policy,
            attempt,
            failure.as_ref().zip(entry.as_deref()),
            &taken.raw,
            &taken.queue,
            self.options.record_retried_failures,
        );
        match &decided.finish.then {
            Then::Now => tracing::info!(class = payload.class, attempt = number, "retrying the job now"),
            Then::Later { at, .. } => {
                tracing::info!(class = payload.class, attempt = number, at, "retrying the job later")
            }
            Then::Clear if failure.is_some() => {
                tracing::warn!(class = payload.class, attempts = number, "giving up on the job")
            }
            Then::Clear => {}
        }
        (entry.filter(|_| decided.record), Some(decided.finish))
    }

    /// A failure entry's JSON, with the payload as it was (as text when it
    /// is not JSON); logged when a failure backend is the log.
    pub(super) fn failure_entry(&self, taken: &Taken, failure: &JobFailure, attempts: Option<u32>) -> String {
        let entry = NewFailure {
            failed_at: payload::time::failed_at(Timestamp::now()),
            payload: FailedPayload::of(&taken.raw),
            exception: &failure.exception,
            error: &failure.error,
            backtrace: &failure.backtrace,
            worker: &self.id,
            queue: &taken.queue,
            raw_queue: taken.raw_queue.as_deref(),
            attempts,
        }
        .to_json();
        log_failure(&self.options.failure_backends, &self.id, &entry);
        entry
    }

    pub(super) fn run_in_child(
        &mut self,
        entry: &'static crate::registry::JobEntry,
        queue: &str,
        args: Vec<serde_json::Value>,
        title: &str,
        timeout: Option<Duration>,
        while_running: &mut WhileRunning<'_>,
    ) -> Result<(), JobFailure> {
        let ctx_args = if entry.hooks.any || !self.hooks.is_empty() { args.clone() } else { Vec::new() };
        let ctx = JobContext { class: entry.class, queue, args: &ctx_args };
        self.run_hooks(WorkerHook::BeforeFork, Some(ctx));
        let policy = StopPolicy {
            term_child: self.options.term_child,
            pre_shutdown: self.options.pre_shutdown_timeout,
            term_timeout: self.options.term_timeout,
        };
        let Worker {
            client, id, signals, control, options, hooks, last_heartbeat, beats_resumed, link, ..
        } = self;
        let after_fork = || run_worker_hooks(hooks, id, WorkerHook::AfterFork, Some(ctx));
        let interval = options.heartbeat_interval;
        let mut tick = || match roster::write_heartbeat(client, id) {
            Ok(()) => {
                link.answered(client.address(), id);
                note_beat(last_heartbeat, beats_resumed, Instant::now(), interval, id)
            }
            Err(e) => link.failed(client.address(), id, &e, format_args!("heartbeat failed: {e}")),
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
        let run = child::in_child(
            entry,
            queue,
            args,
            title,
            &after_fork,
            Supervision {
                signals,
                started: while_running.replies_due,
                running_long: Some((LONG_JOB, &mut *while_running.running_long)),
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
                perform::run_on_failure(entry, failure, &ctx);
            }
        }
        result
    }
}
