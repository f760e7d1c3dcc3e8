//! The worker's loop: take a job, run it, record it, until a signal or
//! empty queues (interval zero) say stop; paused and waiting in between.

use std::sync::Arc;
use std::time::Duration;

use super::step::{Queues, Took};
use super::{StopReason, Worker, MAX_BACKOFF};
use crate::error::Result;
use crate::hooks::WorkerHook;
use crate::procline;
use crate::roster;

impl Worker {
    pub(super) fn work_loop(&mut self) -> Result<StopReason> {
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
                match roster::return_own_inflight(&self.client, &self.id) {
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
            // Published or pushed before this fetch: the fetch will see it.
            self.forget_wake_ups();
            let took = self.take_jobs();
            self.woken_for(matches!(took, Ok(Took::Jobs(_))));
            if took.is_ok() {
                self.redis_answered();
            }
            match took {
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
                    self.redis_failed(&e, format_args!("cannot fetch a job: {e}; retrying in {backoff:?}"));
                    self.sleep(backoff);
                }
            }
        }
    }

    /// The queues to take from, resolved, in priority order.
    /// An idle worker waits on the lists of the queues resolved last.
    pub(super) fn queues(&mut self) -> Result<Arc<Queues>> {
        match &self.static_queues {
            Some(queues) => Ok(queues.clone()),
            None => {
                let names = self.options.queues.resolve_bytes(&self.client.workable_queues()?);
                self.watch_lists(&names);
                Ok(Arc::new(Queues::new(&self.client, names)))
            }
        }
    }
}
