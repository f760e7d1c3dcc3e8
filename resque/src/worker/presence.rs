//! A worker's presence in Redis while it works: registered, beating its
//! heart, pruning dead peers, and unregistering when it stops.

use std::time::{Duration, Instant};

use super::Worker;
use crate::error::Result;
use crate::roster::{self, Recovered};

impl Worker {
    pub(super) fn heartbeat(&mut self) -> Result<()> {
        roster::write_heartbeat(&self.client, &self.id)?;
        let interval = self.options.heartbeat_interval;
        note_beat(&mut self.last_heartbeat, &mut self.beats_resumed, Instant::now(), interval, &self.id);
        Ok(())
    }

    /// Whether an expired heartbeat may be taken for a dead worker now: not
    /// within two heartbeat intervals of this worker's own beats resuming
    /// after a gap, the time every live worker needs to beat again.
    pub(super) fn trusts_expiry(&self) -> bool {
        self.beats_resumed.is_none_or(|t| t.elapsed() >= self.options.heartbeat_interval * 2)
    }

    pub(super) fn heartbeat_due(&self) -> bool {
        self.last_heartbeat.is_none_or(|t| t.elapsed() >= self.options.heartbeat_interval)
    }

    /// Beats when due, makes sure this worker is still registered (a Redis
    /// that restarted empty forgets it), and prunes dead workers.
    pub(super) fn heartbeat_if_due(&mut self) {
        if !self.heartbeat_due() {
            return;
        }
        match self.heartbeat() {
            Ok(()) => {
                self.redis_answered();
                if let Err(e) = self.register() {
                    self.redis_failed(&e, format_args!("cannot refresh the registration: {e}"));
                }
                self.prune();
            }
            Err(e) => self.redis_failed(&e, format_args!("heartbeat failed: {e}")),
        }
    }

    /// Prunes dead workers and recovers their jobs, when no other worker is.
    pub(super) fn prune(&mut self) {
        let pruner = roster::Pruner {
            id: &self.id,
            hostname: &self.hostname,
            queues: &self.options.queues,
            heartbeat_interval: self.options.heartbeat_interval,
            failures: &self.options.failure_backends,
            trust_expiry: self.trusts_expiry(),
        };
        match roster::prune_dead_workers(&self.client, &pruner) {
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
            Err(e) => self.redis_failed(&e, format_args!("cannot prune dead workers: {e}")),
        }
    }

    /// `SADD workers <id>` + `SET worker:<id>:started <time>` (kept if set).
    pub(super) fn register(&self) -> Result<()> {
        roster::register(&self.client, &self.id, &self.started)
    }

    /// Puts back anything still in flight (a finished job Redis never heard
    /// of, at worst run twice), then removes every trace of this worker.
    pub(super) fn unregister(&mut self) -> Result<()> {
        let recovered = roster::recover_inflight(&self.client, &self.id, &self.options.failure_backends)?;
        if recovered != Recovered::default() {
            tracing::warn!(worker = %self.id, ?recovered, "put back jobs left in flight");
        }
        roster::unregister(&self.client, &self.id)
    }
}

/// Notes a heartbeat that reached Redis at `at`, and whether it ends a gap
/// of more than three intervals since the last one (see
/// [`Worker::beats_resumed`]).
pub(super) fn note_beat(
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
