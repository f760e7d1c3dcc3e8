//! Taking jobs ahead: the step that takes the next jobs is sent before the
//! current one runs and its reply read while it runs; jobs taken ahead wait
//! in the worker's in-flight list, and outcomes whose reply was lost are
//! recorded again.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::step::{self, Queues, Ran, SentStep, Step, Taken, Took};
use super::{Worker, MAX_BACKOFF};
use crate::client::Client;
use crate::error::Result;
use crate::roster;

/// A step sent before a job started, its reply read once the job runs.
pub(super) struct Pending {
    sent: SentStep,
    /// What the step recorded as finished, in case its reply is lost.
    ran: Option<Ran>,
    /// How many jobs it asked for.
    take: usize,
    queues: Arc<Queues>,
}

impl Pending {
    /// Reads the step's reply.
    pub(super) fn receive(self, client: &Client) -> Answered {
        let reply = step::recv_step(client, self.sent, &self.queues);
        Answered { ran: self.ran, take: self.take, reply }
    }
}

/// A step sent before a job started, and its reply.
pub(super) struct Answered {
    ran: Option<Ran>,
    take: usize,
    reply: Result<Took>,
}

impl Answered {
    /// The jobs the step took, taken out of its answer (to hand back).
    pub(super) fn take_jobs(&mut self) -> Vec<Taken> {
        match std::mem::replace(&mut self.reply, Ok(Took::Empty)) {
            Ok(Took::Jobs(jobs)) => jobs,
            other => {
                self.reply = other;
                Vec::new()
            }
        }
    }
}

/// How many steps a `--no-fork` worker sends ahead of their replies.
const WINDOW: usize = 8;

/// How many jobs a `--no-fork` worker takes in one step, from one queue.
/// They wait in its in-flight list (recovered if it dies) and go back to
/// the head of their queue if it stops or pauses first.
pub(super) const IN_PROCESS_BATCH: usize = 16;

/// A job that runs this long is long: a worker takes no job ahead after
/// it, and a forking worker running it hands back the jobs it took ahead,
/// so that none waits behind it while another worker is idle.
pub(super) const LONG_JOB: Duration = Duration::from_millis(10);

impl Worker {
    /// How many jobs a step takes ahead: none after a long job (or before
    /// the first); else a forking worker keeps one job ahead, so that the
    /// step that starts a job also takes the next, and a `--no-fork` worker
    /// takes [`IN_PROCESS_BATCH`].
    pub(super) fn batch(&self) -> usize {
        if !self.short_jobs {
            0
        } else if self.options.fork_per_job {
            1
        } else {
            IN_PROCESS_BATCH
        }
    }

    /// Waiting for the queues: one step (see [`step::Step`]) that records
    /// the last job's outcome and takes the next jobs, the first of which
    /// starts at once.
    pub(super) fn take_jobs(&mut self) -> Result<Took> {
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
        let command = self.step_command(&step);
        step::step(&self.client, &command, &queues).inspect_err(|_| self.ran = ran)
    }

    /// Starts a job taken ahead: sends the step that records the last job's
    /// outcome and this job's `worker:<id>` (and, for the last job ahead,
    /// takes the next ones), then runs the job while Redis answers.
    pub(super) fn start_next(&mut self, next: Taken) {
        if !self.unconfirmed.is_empty() {
            self.record_unconfirmed();
        }
        let taking = self.outstanding.iter().any(|p| p.take > 0);
        let mut take =
            if self.ready.len() < self.batch() && !taking && !self.fetch_failed { self.batch() } else { 0 };
        let queues = match take {
            0 => Arc::new(Queues::NONE),
            _ => match self.queues() {
                Ok(queues) => queues,
                Err(e) => {
                    self.redis_failed(&e, format_args!("cannot list the queues: {e}"));
                    take = 0;
                    Arc::new(Queues::NONE)
                }
            },
        };
        let ran = self.ran.take();
        let step =
            Step { finish: ran.as_ref(), start: Some(&next), take, start_first: false, queues: &queues };
        let command = self.step_command(&step);
        match step::send_step(&self.client, &command) {
            Ok(sent) => self.outstanding.push_back(Pending { sent, ran, take, queues }),
            Err(e) => {
                self.redis_failed(&e, format_args!("cannot record the job that starts: {e}"));
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

    /// Puts the jobs taken ahead back at the head of their queues, for
    /// another worker to take while this one runs a long job (see
    /// [`LONG_JOB`]); kept when Redis does not answer (they run here later).
    pub(super) fn hand_back(client: &Client, id: &str, ahead: &mut VecDeque<Taken>) {
        if ahead.is_empty() {
            return;
        }
        let entries = ahead.iter().map(|t| t.entry.as_slice());
        match roster::return_entries(client, id, entries) {
            Ok(returned) => {
                tracing::debug!(
                    worker = id,
                    returned = returned.requeued,
                    "handed back the jobs taken ahead"
                );
                ahead.clear();
            }
            Err(e) => tracing::debug!(worker = id, "cannot hand back the jobs taken ahead: {e}"),
        }
    }

    /// Reads the oldest unanswered step's reply.
    pub(super) fn receive_one(&mut self) {
        if let Some(pending) = self.outstanding.pop_front() {
            let answered = pending.receive(&self.client);
            self.absorb(answered);
        }
    }

    /// Reads every unanswered step's reply: before anything else uses the
    /// connection.
    pub(super) fn sync(&mut self) {
        while !self.outstanding.is_empty() {
            self.receive_one();
        }
    }

    /// Takes in the answer to a step sent before a job started.
    pub(super) fn absorb(&mut self, answered: Answered) {
        match answered.reply {
            Ok(Took::Jobs(jobs)) if !self.handed_back.is_empty() => {
                let mut jobs = VecDeque::from(jobs);
                super::watchdog::drop_returned(&mut jobs, &mut self.handed_back, |t| &t.entry);
                self.ready.extend(jobs);
            }
            Ok(Took::Jobs(jobs)) => self.ready.extend(jobs),
            Ok(Took::Empty | Took::Paused) => {}
            Err(e) => {
                self.redis_failed(&e, format_args!("lost the reply to a step: {e}; recording it again"));
                self.unconfirmed.extend(answered.ran);
                self.fetch_failed |= answered.take > 0;
            }
        }
    }

    /// Reads every unanswered step's reply, then records again the jobs
    /// whose step lost its reply.
    pub(super) fn record_unconfirmed(&mut self) {
        self.sync();
        for lost in std::mem::take(&mut self.unconfirmed) {
            self.record(lost);
        }
    }

    /// Records whatever is unrecorded and puts back the jobs taken ahead:
    /// before the worker stops, pauses or looks for stray in-flight jobs.
    pub(super) fn settle(&mut self) {
        self.record_unconfirmed();
        if let Some(ran) = self.ran.take() {
            self.record(ran);
        }
        if !self.ready.is_empty() {
            let ready: Vec<Taken> = self.ready.drain(..).collect();
            let entries = ready.iter().map(|t| t.entry.as_slice());
            if let Err(e) = roster::return_entries(&self.client, &self.id, entries) {
                self.redis_failed(&e, format_args!("cannot put back the jobs taken ahead yet: {e}"));
                self.fetch_failed = true;
            }
        }
    }

    /// Records a job's outcome in a step of its own (see [`step::Step`]),
    /// retrying while Redis is unreachable. A worker told to stop at once
    /// gives up; the job then stays in its in-flight list and is recovered
    /// later.
    pub(super) fn record(&mut self, ran: Ran) {
        let step =
            Step { finish: Some(&ran), start: None, take: 0, start_first: false, queues: &Queues::NONE };
        let command = self.step_command(&step);
        let mut backoff = Duration::from_millis(100);
        loop {
            match step::step(&self.client, &command, &Queues::NONE) {
                Ok(_) => return self.redis_answered(),
                Err(e) => {
                    self.redis_failed(
                        &e,
                        format_args!("cannot record a finished job: {e}; retrying in {backoff:?}"),
                    );
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
}

impl Worker {
    /// The command of a step of this worker (see [`step::step_command`]).
    fn step_command(&self, step: &Step<'_>) -> redis::Cmd {
        step::step_command(
            &self.client,
            &self.step_keys,
            step,
            &self.options.failure_backends,
            self.options.failed_max,
        )
    }
}
