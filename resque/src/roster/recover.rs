//! Putting jobs back: a live worker's own in-flight jobs, a dead worker's,
//! and unregistering a dead worker, each job in one Lua script so that a
//! recovery cut short anywhere leaves every job in exactly one place.

use jiff::Timestamp;

use crate::client::Client;
use crate::error::Result;
use crate::failure::{log_failure, FailureDestination, FailureTargets};
use crate::keys::stat;
use crate::payload::{self, exception, FailedPayload, InflightEntry, NewFailure};
use crate::script::Lua;

/// How many times a job is put back from dead workers before it is failed.
pub(crate) const MAX_RECOVERIES: u64 = 3;

/// Puts an in-flight job back at the head of its queue, or, past
/// `max_recoveries` (0: put back without counting), fails it with the given
/// entry; or drops it, when the peer that unregistered its worker failed it
/// already (`recover.lua`).
///
/// `mode`: `own` (a live worker's own list: no check), `orphan` (another
/// worker's list: left alone while that worker is registered or its
/// `worker:<id>` records a job, checked in this script, so that a worker
/// registering meanwhile keeps its jobs) or `failed` (as `orphan`, then the
/// entry is only removed). `worker` and `workers` are the owner's record and
/// the registered workers, `queue` and `queues` where the job goes back.
/// After the fixed keys: the failure lists (`lists` of them), then
/// `failed_queues` when `failed_queue` (its member) is not ''.
///
/// Returns 1 when requeued, 2 when failed, 3 when dropped, 4 when left
/// alone (its worker is alive), 0 when the entry was gone.
pub(crate) static RECOVER: Lua = Lua::new(
    "recover",
    &["inflight", "queue", "queues", "recoveries", "failed", "workers", "worker"],
    &[
        "entry",
        "payload",
        "queue_name",
        "max_recoveries",
        "failure",
        "wake_channel",
        "lists",
        "failed_queue",
        "owner",
        "mode",
    ],
    include_str!("recover.lua"),
);

/// Unregisters a worker found dead, and fails the job its `worker:<id>`
/// records when it has no in-flight list (a Ruby or node-resque worker), in
/// one script (`unregister_dead.lua`): when `check` is `1`, only while it is
/// still registered with the heartbeat the pruner read, so that a worker
/// that beat or registered again meanwhile (it was alive) is left alone.
///
/// `record` is its `worker:<id>` as read ('' for none), `failure` the entry
/// to store ('' for none). After the fixed keys: the failure lists (`lists`
/// of them), then `failed_queues` when `failed_queue` is not ''.
///
/// Returns 0 when left alone, 1 when unregistered, 2 when unregistered and
/// its job failed.
pub(crate) static UNREGISTER_DEAD: Lua = Lua::new(
    "unregister_dead",
    &["workers", "heartbeat", "worker", "started", "worker_processed", "worker_failed", "inflight", "failed"],
    &["id", "heartbeat", "record", "failure", "lists", "failed_queue", "check"],
    include_str!("unregister_dead.lua"),
);

/// What recovering an `inflight:<id>` list did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs put back at the head of their queue.
    pub requeued: usize,
    /// Jobs failed because they had been recovered too often.
    pub failed: usize,
    /// Jobs removed because the implementation that unregistered their
    /// worker (Ruby's `prune_dead_workers` or `unregister_worker`) had
    /// already failed them.
    pub dropped: usize,
}

impl Recovered {
    /// Adds what another recovery did.
    pub(crate) fn add(&mut self, other: Recovered) {
        self.requeued += other.requeued;
        self.failed += other.failed;
        self.dropped += other.dropped;
    }
}

/// What a recovery may touch (see [`RECOVER`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// A live worker's own list.
    Own,
    /// Another worker's list: only while that worker is unregistered with no
    /// `worker:<id>` record, checked entry by entry in the script.
    Orphan,
}

/// Puts every job in a live worker's own in-flight list back at the head
/// of its queue, or fails it (as `destinations` say) when it has been
/// recovered too often; the failure entry names `owner` as its worker.
pub(crate) fn recover_inflight(
    client: &Client,
    owner: &str,
    destinations: &[FailureDestination],
) -> Result<Recovered> {
    let recovery =
        Recovery { owner: owner.as_bytes(), destinations, max_recoveries: MAX_RECOVERIES, guard: Guard::Own };
    put_back(client, &recovery, None)
}

/// Recovers the in-flight list of a worker that is no longer registered,
/// as [`recover_inflight`] does, except that nothing is touched while
/// `owner` is registered or has a `worker:<id>` record (it is alive), and
/// that the entry `failed_elsewhere` (the job the peer that unregistered
/// it failed, if any) is removed instead of put back.
pub(crate) fn recover_orphaned(
    client: &Client,
    owner: &[u8],
    destinations: &[FailureDestination],
    failed_elsewhere: Option<&[u8]>,
) -> Result<Recovered> {
    let recovery = Recovery { owner, destinations, max_recoveries: MAX_RECOVERIES, guard: Guard::Orphan };
    put_back(client, &recovery, failed_elsewhere)
}

/// Puts a live worker's own in-flight jobs back, uncounted: after a fetch
/// whose reply was lost, a job may sit in its list that it never received.
pub(crate) fn return_own_inflight(client: &Client, owner: &str) -> Result<Recovered> {
    put_back(client, &Recovery::uncounted(owner), None)
}

/// Puts jobs a live worker took but never started (their in-flight
/// entries, in the order taken) back at the head of their queues, in their
/// order, uncounted.
pub(crate) fn return_entries<'a>(
    client: &Client,
    owner: &str,
    entries: impl DoubleEndedIterator<Item = &'a [u8]>,
) -> Result<Recovered> {
    put_back_entries(client, &Recovery::uncounted(owner), None, entries)
}

/// Whose in-flight list a recovery works on, and how.
struct Recovery<'a> {
    owner: &'a [u8],
    /// Where a job recovered too often is failed.
    destinations: &'a [FailureDestination],
    /// 0: put back without counting.
    max_recoveries: u64,
    guard: Guard,
}

impl<'a> Recovery<'a> {
    /// A live worker putting back its own jobs, uncounted.
    fn uncounted(owner: &'a str) -> Self {
        Recovery { owner: owner.as_bytes(), destinations: &[], max_recoveries: 0, guard: Guard::Own }
    }
}

fn put_back(client: &Client, recovery: &Recovery<'_>, failed_elsewhere: Option<&[u8]>) -> Result<Recovered> {
    let inflight = client.keys().worker_keys(recovery.owner).inflight;
    let entries: Vec<Vec<u8>> =
        client.with_conn(|c| redis::cmd("LRANGE").arg(&inflight).arg(0).arg(-1).query(c))?;
    put_back_entries(client, recovery, failed_elsewhere, entries.iter().map(Vec::as_slice))
}

fn put_back_entries<'a>(
    client: &Client,
    recovery: &Recovery<'_>,
    failed_elsewhere: Option<&[u8]>,
    entries: impl DoubleEndedIterator<Item = &'a [u8]>,
) -> Result<Recovered> {
    let Recovery { owner, destinations, max_recoveries, guard } = *recovery;
    let keys = client.keys();
    let worker_keys = keys.worker_keys(owner);
    let owner_text = payload::escape_bytes(owner);
    let entries: Vec<&[u8]> = entries.collect();
    // The first entry equal to it is the one dropped (the list's head: the
    // job that was running).
    let dropped_at = failed_elsewhere.and_then(|f| entries.iter().position(|e| *e == f));
    let mut done = Recovered::default();
    // Last taken first, each pushed to the head: the queue keeps its order.
    for (i, raw_entry) in entries.iter().enumerate().rev() {
        let Ok(entry) = InflightEntry::parse(raw_entry) else {
            tracing::error!(key = %payload::escape_bytes(&worker_keys.inflight), "cannot read an in-flight entry; left in place");
            continue;
        };
        let mode = match guard {
            Guard::Own => "own",
            Guard::Orphan if dropped_at == Some(i) => "failed",
            Guard::Orphan => "orphan",
        };
        let failure = poison_failure(&entry, &owner_text);
        let targets = FailureTargets::for_queue(keys, destinations, &entry.queue);
        let (lists, member) = targets.args();
        let mut call = RECOVER.call();
        call.key("inflight", &worker_keys.inflight)
            .key("queue", keys.queue_of_bytes(&entry.queue))
            .key("queues", keys.queues())
            .key("recoveries", keys.recoveries())
            .key("failed", keys.stat(stat::FAILED))
            .key("workers", keys.workers())
            .key("worker", &worker_keys.record)
            .more_keys(targets.keys());
        call.arg("entry", *raw_entry)
            .arg("payload", &entry.payload)
            .arg("queue_name", &entry.queue)
            .arg("max_recoveries", max_recoveries)
            .arg("failure", &failure)
            .arg("wake_channel", keys.wake_channel())
            .arg("lists", lists)
            .arg("failed_queue", member)
            .arg("owner", owner)
            .arg("mode", mode);
        match client.with_conn(|c| call.invoke::<i64>(c))? {
            1 => done.requeued += 1,
            2 => {
                log_failure(destinations, &owner_text, &failure);
                done.failed += 1
            }
            3 => done.dropped += 1,
            4 => {
                tracing::debug!(owner = %owner_text, "its worker is alive: its jobs are left in flight");
                break;
            }
            _ => {}
        }
    }
    Ok(done)
}

/// What [`unregister_dead`] is to check and fail.
pub(crate) struct DeadWorker<'a> {
    /// Its id, as in `workers`.
    pub(crate) id: &'a [u8],
    /// The heartbeat the pruner read: the worker is left alone if it beat
    /// since, or is no longer registered. `None`: unregistered without
    /// checking (a worker removed on request).
    pub(crate) heartbeat: Option<&'a [u8]>,
    /// Its `worker:<id>` as read, and the failure entry of the job it
    /// records (with the queue it names), stored when the worker has no
    /// in-flight list and the record is unchanged.
    pub(crate) job: Option<(&'a [u8], &'a str, &'a str)>,
}

/// Unregisters a dead worker (see [`UNREGISTER_DEAD`]). Returns whether it
/// was unregistered, and whether the job its record names was failed.
pub(crate) fn unregister_dead(
    client: &Client,
    dead: &DeadWorker<'_>,
    destinations: &[FailureDestination],
) -> Result<(bool, bool)> {
    let keys = client.keys();
    let worker_keys = keys.worker_keys(dead.id);
    let targets = match dead.job {
        Some((_, queue, _)) => FailureTargets::for_queue(keys, destinations, queue.as_bytes()),
        None => FailureTargets::default(),
    };
    let (lists, member) = targets.args();
    let mut call = UNREGISTER_DEAD.call();
    call.key("workers", keys.workers())
        .key("heartbeat", keys.heartbeat())
        .key("worker", &worker_keys.record)
        .key("started", &worker_keys.started)
        .key("worker_processed", &worker_keys.processed)
        .key("worker_failed", &worker_keys.failed)
        .key("inflight", &worker_keys.inflight)
        .key("failed", keys.stat(stat::FAILED))
        .more_keys(targets.keys());
    let (record, failure) = dead.job.map_or((&b""[..], ""), |(record, _, failure)| (record, failure));
    call.arg("id", dead.id)
        .arg("heartbeat", dead.heartbeat.unwrap_or_default())
        .arg("record", record)
        .arg("failure", failure)
        .arg("lists", lists)
        .arg("failed_queue", member)
        .arg("check", if dead.heartbeat.is_some() { "1" } else { "0" });
    let result = client.with_conn(|c| call.invoke::<i64>(c))?;
    if result == 2 {
        log_failure(destinations, &payload::escape_bytes(dead.id), failure);
    }
    Ok((result > 0, result == 2))
}

fn poison_failure(entry: &InflightEntry, owner: &str) -> String {
    let payload = FailedPayload::of(&entry.payload);
    let queue = payload::escape_bytes(&entry.queue);
    let error =
        format!("the job was running on a worker that died {MAX_RECOVERIES} times; it is not put back again");
    NewFailure {
        failed_at: payload::time::failed_at(Timestamp::now()),
        payload,
        exception: exception::DIRTY_EXIT,
        error: &error,
        backtrace: &[],
        worker: owner,
        queue: &queue,
        raw_queue: Some(&entry.queue),
        attempts: None,
    }
    .to_json()
}

#[cfg(test)]
mod tests;
