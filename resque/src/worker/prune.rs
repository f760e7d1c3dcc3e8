//! Dead-worker pruning, Ruby's rules plus recovery: a worker whose heartbeat
//! expired, or one on this host whose process is gone, is unregistered and
//! its in-flight jobs are put back at the head of their queues.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;
use redis::Commands;
use serde_json::value::RawValue;

use super::store;
use crate::client::Client;
use crate::error::Result;
use crate::payload::{self, exception, FailedPayload, NewFailure, WorkingOn};
use crate::queues::QueueList;

/// Who is pruning: a live worker.
pub(crate) struct Pruner<'a> {
    pub(crate) id: &'a str,
    pub(crate) hostname: &'a str,
    pub(crate) queues: &'a QueueList,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) failures: &'a [store::FailureDestination],
}

/// What one pruning pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// The workers pruned.
    pub workers: Vec<String>,
    /// What happened to their in-flight jobs.
    pub recovered: store::Recovered,
}

/// Prunes dead workers if no other worker is doing it now (the
/// `pruning_dead_workers_in_progress` lock, held for a heartbeat interval).
pub(crate) fn prune_dead_workers(client: &Client, me: &Pruner<'_>) -> Result<Option<Pruned>> {
    let keys = client.keys();
    let lock_secs = me.heartbeat_interval.as_secs().max(1);
    let acquired: Option<String> = client.with_conn(|c| {
        redis::cmd("SET").arg(keys.prune_lock()).arg(me.id).arg("NX").arg("EX").arg(lock_secs).query(c)
    })?;
    if acquired.is_none() {
        return Ok(None);
    }
    let now = client.redis_time()?;
    let workers: HashSet<String> = client.with_conn(|c| c.smembers(keys.workers()))?;
    let beats: HashMap<String, String> = client.with_conn(|c| c.hgetall(keys.heartbeat()))?;
    let mine_text = me.queues.to_string();
    let mine: HashSet<&str> = mine_text.split(',').collect();
    let listens_to_all = mine.contains("*");
    let mut pruned = Pruned::default();
    for worker in &workers {
        if worker == me.id {
            continue;
        }
        // Workers that never beat are other clients: left alone.
        let Some(beat) = beats.get(worker) else { continue };
        let expired = heartbeat_expired(now, beat, me.heartbeat_interval * EXPIRY_INTERVALS);
        let dead = expired || {
            let mut parts = worker.splitn(3, ':');
            let (host, pid, queues) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
            let same_queues = listens_to_all || queues.split(',').collect::<HashSet<_>>() == mine;
            host == Some(me.hostname)
                && same_queues
                && pid.and_then(|p| p.parse::<u32>().ok()).is_some_and(|p| !is_running_worker(p))
        };
        if dead {
            tracing::info!(worker = me.id, dead = worker, expired, "pruning dead worker");
            let recovered = prune_worker(client, worker, me.failures, Removal::Pruned)?;
            pruned.recovered.requeued += recovered.requeued;
            pruned.recovered.failed += recovered.failed;
            pruned.workers.push(worker.clone());
        }
    }
    // In-flight lists whose owner is no longer registered (a Ruby worker may
    // have pruned it, knowing nothing of in-flight lists).
    let pattern = keys.inflight_pattern();
    let inflight: Vec<String> =
        client.with_conn(|c| c.scan_match::<_, String>(&pattern).and_then(|it| it.collect()))?;
    for key in inflight {
        let Some(owner) = keys.inflight_owner(&key) else { continue };
        if owner != me.id && !workers.contains(owner) {
            let recovered = store::recover_inflight(client, owner, me.failures)?;
            tracing::info!(worker = me.id, owner, ?recovered, "recovered jobs of an unregistered worker");
            pruned.recovered.requeued += recovered.requeued;
            pruned.recovered.failed += recovered.failed;
        }
    }
    Ok(Some(pruned))
}

/// How many heartbeat intervals a worker may miss before pruning takes it
/// for dead, as Ruby's `prune_dead_workers` does.
pub const EXPIRY_INTERVALS: u32 = 5;

/// Whether a heartbeat (as written, ISO-8601) is older than `expire_after`
/// at `now` (unix seconds, the Redis clock): the expiry test of pruning.
/// A heartbeat that does not parse never expires, so a peer writing an
/// unknown format is left alone.
pub fn heartbeat_expired(now: i64, heartbeat: &str, expire_after: Duration) -> bool {
    payload::time::parse_heartbeat(heartbeat)
        .is_some_and(|t| (now - t.as_second()) as f64 > expire_after.as_secs_f64())
}

/// Why a worker is being removed, which names the failure of a job it was
/// recorded as running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Found dead by pruning: `Resque::PruneDeadWorkerDirtyExit`.
    Pruned,
    /// Unregistered on request (`remove-worker`, the web app), as Ruby's
    /// `unregister_worker`: `Resque::DirtyExit`, "Job still being processed".
    Removed,
}

/// Puts a dead worker's jobs back and removes every trace of it. A job
/// recorded in its `worker:<id>` with nothing in flight (a Ruby or
/// node-resque worker) is failed, as Ruby does (see [`Removal`]).
pub(crate) fn prune_worker(
    client: &Client,
    worker: &str,
    failures: &[store::FailureDestination],
    why: Removal,
) -> Result<store::Recovered> {
    let keys = client.keys();
    let recovered = store::recover_inflight(client, worker, failures)?;
    let record: Option<String> = client.with_conn(|c| c.get(keys.worker(worker)))?;
    if let (Some(record), store::Recovered { requeued: 0, failed: 0 }) = (record, recovered) {
        if let Ok(working) = serde_json::from_str::<WorkingOn>(&record) {
            let raw = serde_json::to_string(&working.payload).unwrap_or_default();
            let raw = RawValue::from_string(raw).ok();
            let class = working.payload.get("class").and_then(|c| c.as_str()).unwrap_or("?");
            let mut parts = worker.splitn(3, ':');
            let host_pid = format!("{}:{}", parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let (exception, error) = match why {
                Removal::Pruned => (
                    exception::PRUNE_DEAD_WORKER_DIRTY_EXIT,
                    format!("Worker {host_pid} did not gracefully exit while processing {class}"),
                ),
                Removal::Removed => (exception::DIRTY_EXIT, "Job still being processed".to_string()),
            };
            let entry = NewFailure {
                failed_at: payload::time::failed_at(Timestamp::now()),
                payload: match &raw {
                    Some(r) => FailedPayload::Json(r),
                    None => FailedPayload::Text(&record),
                },
                exception,
                error: &error,
                backtrace: &[],
                worker,
                queue: &working.queue,
            }
            .to_json();
            store::save_failure(client, &working.queue, &entry, failures)?;
        }
    }
    store::unregister(client, worker)?;
    Ok(recovered)
}

/// Whether `pid` is a live Resque worker on this host: its command line
/// matches what Ruby's pruning looks for (`resque:work`, `resque: Starting`,
/// `resque-<digit>`), which covers our titles too.
pub(crate) fn is_running_worker(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    cmdline.contains("resque:work")
        || cmdline.contains("resque: Starting")
        || cmdline
            .match_indices("resque-")
            .any(|(i, m)| cmdline[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
}
