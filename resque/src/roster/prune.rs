//! Dead-worker pruning, Ruby's rules plus recovery: a worker whose heartbeat
//! expired, or one on this host whose process is gone, is unregistered and
//! its in-flight jobs are put back at the head of their queues.
//!
//! Every decision that a live worker could contradict meanwhile is made
//! inside the script that acts on it: a worker is unregistered only while
//! its heartbeat is still the one read (see `recover::unregister_dead`), and
//! an in-flight list is recovered only while its owner is unregistered with
//! no `worker:<id>` record (see `recover::recover_orphaned`). So a pass that
//! works from a list read at its start never takes the jobs of a worker
//! that registered, or beat, meanwhile.
//!
//! Worker ids and records are bytes here: a peer may write ones that are
//! not UTF-8, and one such worker must not stop the pass.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;
use redis::Commands;
use serde_json::value::RawValue;
use serde_json::Value;

use super::recover::{self, Recovered};
use crate::client::Client;
use crate::error::Result;
use crate::failure::FailureDestination;
use crate::keys::split_worker_id;
use crate::payload::{self, exception, FailedPayload, Failure, InflightEntry, NewFailure, WorkingOn};
use crate::queues::QueueList;

/// Who is pruning: a live worker.
pub(crate) struct Pruner<'a> {
    pub(crate) id: &'a str,
    pub(crate) hostname: &'a str,
    pub(crate) queues: &'a QueueList,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) failures: &'a [FailureDestination],
    /// Whether an expired heartbeat may be taken for a dead worker: not
    /// while the pruner's own heartbeats have only just started landing
    /// again after a gap (Redis was unreachable, so nobody's beat landed).
    pub(crate) trust_expiry: bool,
}

/// What one pruning pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// The workers pruned (an id that is not UTF-8 is shown with \xNN in
    /// place of its stray bytes).
    pub workers: Vec<String>,
    /// What happened to their in-flight jobs.
    pub recovered: Recovered,
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
    let workers: Vec<Vec<u8>> = client.with_conn(|c| c.smembers(keys.workers()))?;
    let beats: HashMap<Vec<u8>, Vec<u8>> = client.with_conn(|c| c.hgetall(keys.heartbeat()))?;
    let mine_text = me.queues.to_string();
    let mine: HashSet<&[u8]> = mine_text.as_bytes().split(|b| *b == b',').collect();
    let listens_to_all = mine.contains(&b"*"[..]);
    let expire_after = me.heartbeat_interval * EXPIRY_INTERVALS;
    let mut pruned = Pruned::default();
    for worker in &workers {
        if worker.as_slice() == me.id.as_bytes() {
            continue;
        }
        // Workers that never beat are other clients: left alone.
        let Some(beat) = beats.get(worker) else { continue };
        let (host, pid, queues) = split_worker_id(worker);
        let here = host == me.hostname.as_bytes();
        let pid = std::str::from_utf8(pid).ok().and_then(|p| p.parse::<u32>().ok());
        // A process of this host that is a live worker is alive, whatever
        // its heartbeat says (it may not have reached Redis for a while).
        let running_here = here && pid.is_some_and(is_running_worker);
        let expired = me.trust_expiry && heartbeat_expired(now, &String::from_utf8_lossy(beat), expire_after);
        let same_queues = listens_to_all || queues.split(|b| *b == b',').collect::<HashSet<_>>() == mine;
        let why = if expired && !running_here {
            Removal::Expired
        } else if here && same_queues && pid.is_some() && !running_here {
            Removal::Gone
        } else {
            continue;
        };
        let shown = payload::escape_bytes(worker).into_owned();
        tracing::info!(worker = me.id, dead = shown, ?why, "pruning dead worker");
        if let Some(recovered) = prune_worker(client, worker, Some(beat), me.failures, why)? {
            pruned.recovered.add(recovered);
            pruned.workers.push(shown);
        }
    }
    // In-flight lists whose owner is no longer registered (a Ruby worker may
    // have pruned it, knowing nothing of in-flight lists; or a pass stopped
    // between a worker's unregistering and its recovery).
    let pattern = keys.inflight_pattern();
    let inflight: Vec<Vec<u8>> =
        client.with_conn(|c| c.scan_match::<_, Vec<u8>>(&pattern).and_then(|it| it.collect()))?;
    for key in inflight {
        let Some(owner) = keys.inflight_owner_bytes(&key) else { continue };
        if owner == me.id.as_bytes() {
            continue;
        }
        let recovered = recover_orphan(client, owner, me.failures)?;
        if recovered != Recovered::default() {
            let owner = payload::escape_bytes(owner);
            tracing::info!(worker = me.id, %owner, ?recovered, "recovered jobs of an unregistered worker");
            pruned.recovered.add(recovered);
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

/// Why a worker is being removed, which names the failure of a job its
/// `worker:<id>` records, as Ruby names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Its heartbeat expired: Ruby's
    /// `PruneDeadWorkerDirtyExit.new(worker.to_s, job_class)`.
    Expired,
    /// A worker of this host whose process is gone: Ruby's plain
    /// `unregister_worker`, `Resque::DirtyExit`, "Job still being processed".
    Gone,
    /// Unregistered on request (`remove-worker`, the web app): as [`Gone`](Removal::Gone).
    Removed,
}

/// The `error` of a job failed because its worker was unregistered with it
/// still recorded as running (Ruby's `unregister_worker`).
const STILL_BEING_PROCESSED: &str = "Job still being processed";

/// The `error` Ruby's `PruneDeadWorkerDirtyExit` carries: the whole worker id
/// and the job's class (`<Unknown Job>` when the record names none).
fn did_not_exit(worker: &str, class: Option<&Value>) -> String {
    let class = match class {
        None | Some(Value::Null) => "<Unknown Job>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    format!("Worker {worker} did not gracefully exit while processing {class}")
}

/// Whether a failure entry is one that unregistering a worker writes for the
/// job its `worker:<id>` recorded (Ruby's, or ours for a Ruby worker).
fn is_unregister_failure(failure: &Failure) -> bool {
    match failure.exception.as_deref() {
        Some(exception::PRUNE_DEAD_WORKER_DIRTY_EXIT) => true,
        Some(exception::DIRTY_EXIT) => failure.error.as_deref() == Some(STILL_BEING_PROCESSED),
        _ => false,
    }
}

/// Removes a dead worker and recovers its jobs: unregisters it (when
/// `heartbeat` is given, only if it still beats that one), failing the job
/// its `worker:<id>` records when it has nothing in flight (a Ruby or
/// node-resque worker; see [`Removal`]), then puts its in-flight jobs back.
/// `None` when it was left alone: it beat or was unregistered meanwhile.
pub(crate) fn prune_worker(
    client: &Client,
    worker: &[u8],
    heartbeat: Option<&[u8]>,
    failures: &[FailureDestination],
    why: Removal,
) -> Result<Option<Recovered>> {
    let worker_keys = client.keys().worker_keys(worker);
    let record: Option<Vec<u8>> = client.with_conn(|c| c.get(&worker_keys.record))?;
    let failure = record.as_deref().and_then(|record| dead_job_failure(record, worker, why));
    let job = match (&record, &failure) {
        (Some(record), Some((queue, entry))) => Some((record.as_slice(), queue.as_str(), entry.as_str())),
        _ => None,
    };
    let dead = recover::DeadWorker { id: worker, heartbeat, job };
    let (unregistered, _) = recover::unregister_dead(client, &dead, failures)?;
    if !unregistered {
        let worker = payload::escape_bytes(worker);
        tracing::info!(%worker, "not pruned: it beat or was unregistered since the pass began");
        return Ok(None);
    }
    recover_orphan(client, worker, failures).map(Some)
}

/// The queue and failure entry of the job a dead worker's record names, as
/// Ruby writes it; `None` when the record is not a processing record.
fn dead_job_failure(record: &[u8], worker: &[u8], why: Removal) -> Option<(String, String)> {
    // A record that is not UTF-8 is read with \xNN for its stray bytes:
    // its job is still failed, rather than forgotten.
    let text = payload::escape_bytes(record);
    let Ok(working) = payload::from_json_bytes::<WorkingOn>(record) else {
        let worker = payload::escape_bytes(worker);
        tracing::warn!(%worker, record = %text, "a dead worker's record is not a processing record; not failed");
        return None;
    };
    let worker = payload::escape_bytes(worker);
    let (exception, error) = match why {
        Removal::Expired => {
            (exception::PRUNE_DEAD_WORKER_DIRTY_EXIT, did_not_exit(&worker, working.payload.get("class")))
        }
        Removal::Gone | Removal::Removed => (exception::DIRTY_EXIT, STILL_BEING_PROCESSED.to_string()),
    };
    let raw = serde_json::to_string(&working.payload).ok().and_then(|r| RawValue::from_string(r).ok());
    let entry = NewFailure {
        failed_at: payload::time::failed_at(Timestamp::now()),
        payload: match &raw {
            Some(r) => FailedPayload::Json(r),
            None => FailedPayload::Text(&text),
        },
        exception,
        error: &error,
        backtrace: &[],
        worker: &worker,
        queue: &working.queue,
        raw_queue: None,
        attempts: None,
    }
    .to_json();
    Some((working.queue, entry))
}

/// How many entries at the tail of a failure list are searched for the
/// failure a peer wrote when it unregistered a dead worker of ours.
const PEER_FAILURE_WINDOW: isize = 1000;

/// Recovers the in-flight list of `owner` if it is unregistered and has no
/// `worker:<id>` record. Its first entry is the job its record named while
/// it ran: if the peer that unregistered it failed that job (a failure
/// entry of `owner` with the same payload, as Ruby's `unregister_worker`
/// writes), that entry is removed rather than put back, so the job ends
/// once.
fn recover_orphan(client: &Client, owner: &[u8], failures: &[FailureDestination]) -> Result<Recovered> {
    let keys = client.keys();
    let worker_keys = keys.worker_keys(owner);
    let head: Option<Vec<u8>> = client.with_conn(|c| c.lindex(&worker_keys.inflight, 0))?;
    let Some(head) = head else { return Ok(Recovered::default()) };
    let (registered, recording): (bool, bool) = client
        .with_conn(|c| redis::pipe().sismember(keys.workers(), owner).exists(&worker_keys.record).query(c))?;
    if registered || recording {
        return Ok(Recovered::default());
    }
    let failed = failed_by_peer(client, owner, &head)?;
    recover::recover_orphaned(client, owner, failures, failed.then_some(head.as_slice()))
}

/// Whether the job of in-flight entry `head` was failed for `owner` by
/// whoever unregistered it: a failure entry near the tail of `failed` (or
/// of the job's `<queue>_failed`) naming `owner` as its worker, written for
/// an unregistered worker (see [`is_unregister_failure`]), with the same
/// payload compared as parsed JSON (Ruby re-encodes it).
fn failed_by_peer(client: &Client, owner: &[u8], head: &[u8]) -> Result<bool> {
    let Ok(entry) = InflightEntry::parse(head) else { return Ok(false) };
    let wanted: Option<Value> = serde_json::from_slice(&entry.payload).ok();
    let keys = client.keys();
    for list in [keys.failed().into_bytes(), keys.failed_queue_of_bytes(&entry.queue)] {
        let tail: Vec<Vec<u8>> = client.with_conn(|c| c.lrange(&list, -PEER_FAILURE_WINDOW, -1))?;
        for raw in tail.iter().rev() {
            let failure = Failure::from_bytes(raw);
            if failure.worker.as_deref().map(str::as_bytes) != Some(owner) || !is_unregister_failure(&failure)
            {
                continue;
            }
            let same = match &wanted {
                Some(payload) => &failure.payload == payload,
                None => failure.payload.as_str().map(str::as_bytes) == Some(entry.payload.as_slice()),
            };
            if same {
                return Ok(true);
            }
        }
    }
    Ok(false)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubys_prune_message_names_the_whole_id_and_the_class() {
        // Ruby: "Worker #{hostname} did not gracefully exit while processing #{job}",
        // given worker.to_s (the whole id) and the payload's class, or "<Unknown Job>".
        let class = Value::String("Mail".into());
        assert_eq!(
            did_not_exit("vm:5631:f_q4", Some(&class)),
            "Worker vm:5631:f_q4 did not gracefully exit while processing Mail"
        );
        assert_eq!(
            did_not_exit("vm:5631:f_q4", None),
            "Worker vm:5631:f_q4 did not gracefully exit while processing <Unknown Job>"
        );
    }

    #[test]
    fn only_the_failures_of_an_unregister_count_as_a_peers() {
        let failure = |exception: &str, error: &str| Failure {
            failed_at: None,
            payload: Value::Null,
            exception: Some(exception.into()),
            error: Some(error.into()),
            backtrace: None,
            worker: None,
            queue: None,
            retried_at: None,
            attempts: None,
            id: payload::FailureId::of(b""),
        };
        assert!(is_unregister_failure(&failure("Resque::DirtyExit", "Job still being processed")));
        assert!(is_unregister_failure(&failure(
            "Resque::PruneDeadWorkerDirtyExit",
            "Worker a:1:q did not ..."
        )));
        assert!(!is_unregister_failure(&failure(
            "Resque::DirtyExit",
            "Child process received unhandled signal SIGKILL (9)"
        )));
        assert!(!is_unregister_failure(&failure(
            "Resque::DirtyExit",
            "the job was running on a worker that died 3 times"
        )));
    }
}
