//! Putting jobs back: a live worker's own in-flight jobs, a dead worker's,
//! and unregistering a dead worker, each job in one Lua script so that a
//! recovery cut short anywhere leaves every job in exactly one place.

use jiff::Timestamp;
use std::sync::OnceLock;

use redis::Script;

use super::{FailureDestination, FailureTargets};
use crate::client::Client;
use crate::error::Result;
use crate::keys::stat;
use crate::payload::{self, exception, FailedPayload, InflightEntry, NewFailure};
use crate::script::cached as script;

/// How many times a job is put back from dead workers before it is failed.
pub(crate) const MAX_RECOVERIES: u64 = 3;

/// Puts an in-flight job back at the head of its queue, or, past
/// MAX_RECOVERIES, fails it with the given entry; or drops it, when the
/// peer that unregistered its worker failed it already.
///
/// ARGV[10], the mode: `own` (a live worker's own list: no check), `orphan`
/// (another worker's list: left alone while that worker is registered or
/// its `worker:<id>` records a job, checked in this script, so that a worker
/// registering meanwhile keeps its jobs) or `failed` (as `orphan`, then the
/// entry is only removed).
///
/// KEYS: inflight:<id>, queue:<q>, queues, recoveries, stat:failed, workers,
///       worker:<id>, failure lists..., then failed_queues when ARGV[8] is
///       not ''
/// ARGV: inflight entry, payload, queue name, max recoveries (0: put back
///       without counting), failure entry, wake channel, number of failure
///       lists, failed_queues member or '', the owner's id, mode
/// Returns 1 when requeued, 2 when failed, 3 when dropped, 4 when left
/// alone (its worker is alive), 0 when the entry was gone.
const RECOVER: &str = r#"
if ARGV[10] ~= 'own' and (redis.call('SISMEMBER', KEYS[6], ARGV[9]) == 1 or redis.call('EXISTS', KEYS[7]) == 1) then
  return 4
end
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if ARGV[10] == 'failed' then
  if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('HDEL', KEYS[4], redis.sha1hex(ARGV[2])) end
  return 3
end
if tonumber(ARGV[4]) > 0 then
  local field = redis.sha1hex(ARGV[2])
  local n = redis.call('HINCRBY', KEYS[4], field, 1)
  if n >= tonumber(ARGV[4]) then
    redis.call('HDEL', KEYS[4], field)
    local lists = tonumber(ARGV[7])
    if ARGV[8] ~= '' then redis.call('SADD', KEYS[8 + lists], ARGV[8]) end
    for i = 8, 7 + lists do redis.call('RPUSH', KEYS[i], ARGV[5]) end
    redis.call('INCRBY', KEYS[5], 1)
    return 2
  end
end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[6], ARGV[3])
return 1
"#;

/// Unregisters a worker found dead, and fails the job its `worker:<id>`
/// records when it has no in-flight list (a Ruby or node-resque worker), in
/// one script: when ARGV[7] is `1`, only while it is still registered with
/// the heartbeat the pruner read, so that a worker that beat or registered
/// again meanwhile (it was alive) is left alone.
///
/// KEYS: workers, workers:heartbeat, worker:<id>, worker:<id>:started,
///       stat:processed:<id>, stat:failed:<id>, inflight:<id>, stat:failed,
///       failure lists..., then failed_queues when ARGV[6] is not ''
/// ARGV: id, heartbeat as read, record as read or '', failure entry or '',
///       number of failure lists, failed_queues member or '', check
/// Returns 0 when left alone, 1 when unregistered, 2 when unregistered and
/// its job failed.
const UNREGISTER_DEAD: &str = r#"
if ARGV[7] == '1' then
  if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
  if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
end
local result = 1
if ARGV[4] ~= '' and redis.call('EXISTS', KEYS[7]) == 0 and redis.call('GET', KEYS[3]) == ARGV[3] then
  local lists = tonumber(ARGV[5])
  if ARGV[6] ~= '' then redis.call('SADD', KEYS[9 + lists], ARGV[6]) end
  for i = 9, 8 + lists do redis.call('RPUSH', KEYS[i], ARGV[4]) end
  redis.call('INCRBY', KEYS[8], 1)
  result = 2
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return result
"#;

static RECOVER_SCRIPT: OnceLock<Script> = OnceLock::new();
static UNREGISTER_DEAD_SCRIPT: OnceLock<Script> = OnceLock::new();

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
    put_back(client, owner.as_bytes(), destinations, MAX_RECOVERIES, Guard::Own, None)
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
    put_back(client, owner, destinations, MAX_RECOVERIES, Guard::Orphan, failed_elsewhere)
}

/// Puts a live worker's own in-flight jobs back, uncounted: after a fetch
/// whose reply was lost, a job may sit in its list that it never received.
pub(crate) fn return_own_inflight(client: &Client, owner: &str) -> Result<Recovered> {
    put_back(client, owner.as_bytes(), &[], 0, Guard::Own, None)
}

/// Puts jobs a live worker took but never started (their in-flight
/// entries, in the order taken) back at the head of their queues, in their
/// order, uncounted.
pub(crate) fn return_entries<'a>(
    client: &Client,
    owner: &str,
    entries: impl DoubleEndedIterator<Item = &'a [u8]>,
) -> Result<Recovered> {
    put_back_entries(client, owner.as_bytes(), &[], 0, Guard::Own, None, entries)
}

fn put_back(
    client: &Client,
    owner: &[u8],
    destinations: &[FailureDestination],
    max_recoveries: u64,
    guard: Guard,
    failed_elsewhere: Option<&[u8]>,
) -> Result<Recovered> {
    let inflight = client.keys().worker_keys(owner).inflight;
    let entries: Vec<Vec<u8>> =
        client.with_conn(|c| redis::cmd("LRANGE").arg(&inflight).arg(0).arg(-1).query(c))?;
    let entries = entries.iter().map(Vec::as_slice);
    put_back_entries(client, owner, destinations, max_recoveries, guard, failed_elsewhere, entries)
}

fn put_back_entries<'a>(
    client: &Client,
    owner: &[u8],
    destinations: &[FailureDestination],
    max_recoveries: u64,
    guard: Guard,
    failed_elsewhere: Option<&[u8]>,
    entries: impl DoubleEndedIterator<Item = &'a [u8]>,
) -> Result<Recovered> {
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
        let mut call = script(&RECOVER_SCRIPT, RECOVER).key(&worker_keys.inflight);
        call.key(keys.queue_of_bytes(&entry.queue))
            .key(keys.queues())
            .key(keys.recoveries())
            .key(keys.stat(stat::FAILED))
            .key(keys.workers())
            .key(&worker_keys.record);
        for key in targets.keys() {
            call.key(key);
        }
        call.arg(*raw_entry)
            .arg(&entry.payload)
            .arg(&entry.queue)
            .arg(max_recoveries)
            .arg(&failure)
            .arg(keys.wake_channel())
            .arg(lists)
            .arg(member)
            .arg(owner)
            .arg(mode);
        match client.with_conn(|c| call.invoke::<i64>(c))? {
            1 => done.requeued += 1,
            2 => {
                if destinations.contains(&FailureDestination::Log) {
                    tracing::error!(failure, "job failed");
                }
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
    let mut call = script(&UNREGISTER_DEAD_SCRIPT, UNREGISTER_DEAD).key(keys.workers());
    call.key(keys.heartbeat())
        .key(&worker_keys.record)
        .key(&worker_keys.started)
        .key(&worker_keys.processed)
        .key(&worker_keys.failed)
        .key(&worker_keys.inflight)
        .key(keys.stat(stat::FAILED));
    for key in targets.keys() {
        call.key(key);
    }
    let (record, failure) = dead.job.map_or((&b""[..], ""), |(record, _, failure)| (record, failure));
    call.arg(dead.id)
        .arg(dead.heartbeat.unwrap_or_default())
        .arg(record)
        .arg(failure)
        .arg(lists)
        .arg(member)
        .arg(if dead.heartbeat.is_some() { "1" } else { "0" });
    let result = client.with_conn(|c| call.invoke::<i64>(c))?;
    if result == 2 && destinations.contains(&FailureDestination::Log) {
        tracing::error!(failure, "job failed");
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
    }
    .to_json()
}
