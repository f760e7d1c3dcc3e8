//! The worker's side of Redis: taking a job, recording its end, and putting
//! back the jobs of dead workers. Every step that must not be split is one
//! Lua script, so a worker killed at any instant leaves each job in its
//! queue, in its `inflight:<id>` list, or finished.

use jiff::Timestamp;
use std::sync::OnceLock;

use redis::Script;
use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::Result;
use crate::keys::stat;
use crate::payload::{self, exception, FailedPayload, InflightEntry, NewFailure};

/// How many times a job is put back from dead workers before it is failed.
pub(crate) const MAX_RECOVERIES: u64 = 3;

/// Takes the first job in priority order: `LPOP` from a queue, `RPUSH` of an
/// entry to `inflight:<id>` and `SET worker:<id>` in one step.
///
/// KEYS: pause-all-workers, inflight:<id>, worker:<id>, queue:<q>...
/// ARGV: run_at, q...
const FETCH: &str = r#"
local paused = redis.call('GET', KEYS[1])
if paused and string.lower(paused) == 'true' then return {0} end
for i = 4, #KEYS do
  local payload = redis.call('LPOP', KEYS[i])
  if payload then
    local queue = ARGV[i - 2]
    local entry = cjson.encode({queue = queue, payload = payload})
    redis.call('RPUSH', KEYS[2], entry)
    if pcall(cjson.decode, payload) then
      redis.call('SET', KEYS[3], '{"queue":' .. cjson.encode(queue) .. ',"run_at":"' .. ARGV[1] .. '","payload":' .. payload .. '}')
    end
    return {i - 3, payload, entry}
  end
end
return {}
"#;

/// Records a finished job in one step, once: the removal of its in-flight
/// entry comes first and nothing else happens when it is already gone (a
/// retry after a reply lost to a dropped connection). Then the failure entry (in every failure
/// list the worker's backends name) and counters when it failed, then `DEL
/// worker:<id>`, the processed counters, and the removal of its
/// `inflight:<id>` entry.
///
/// KEYS: inflight:<id>, worker:<id>, stat:failed, stat:failed:<id>,
///       stat:processed, stat:processed:<id>, recoveries, failure lists...,
///       then failed_queues when ARGV[5] is not ''
/// ARGV: inflight entry, failure entry or '', payload, number of failure
///       lists, failed_queues member or ''
const FINISH: &str = r#"
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return 0
end
if ARGV[2] ~= '' then
  local lists = tonumber(ARGV[4])
  if ARGV[5] ~= '' then redis.call('SADD', KEYS[8 + lists], ARGV[5]) end
  for i = 8, 7 + lists do redis.call('RPUSH', KEYS[i], ARGV[2]) end
  redis.call('INCRBY', KEYS[3], 1)
  redis.call('INCRBY', KEYS[4], 1)
end
redis.call('DEL', KEYS[2])
redis.call('INCRBY', KEYS[5], 1)
redis.call('INCRBY', KEYS[6], 1)
if redis.call('EXISTS', KEYS[7]) == 1 then
  redis.call('HDEL', KEYS[7], redis.sha1hex(ARGV[3]))
end
return 1
"#;

/// Puts an in-flight job back at the head of its queue, or, past
/// MAX_RECOVERIES, fails it with the given entry.
///
/// KEYS: inflight:<id>, queue:<q>, queues, recoveries, stat:failed, failure
///       lists..., then failed_queues when ARGV[8] is not ''
/// ARGV: inflight entry, payload, queue name, max recoveries (0: put back
///       without counting), failure entry,
///       wake channel, number of failure lists, failed_queues member or ''
/// Returns 1 when requeued, 2 when failed, 0 when the entry was gone.
const RECOVER: &str = r#"
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if tonumber(ARGV[4]) > 0 then
  local field = redis.sha1hex(ARGV[2])
  local n = redis.call('HINCRBY', KEYS[4], field, 1)
  if n >= tonumber(ARGV[4]) then
    redis.call('HDEL', KEYS[4], field)
    local lists = tonumber(ARGV[7])
    if ARGV[8] ~= '' then redis.call('SADD', KEYS[6 + lists], ARGV[8]) end
    for i = 6, 5 + lists do redis.call('RPUSH', KEYS[i], ARGV[5]) end
    redis.call('INCRBY', KEYS[5], 1)
    return 2
  end
end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[6], ARGV[3])
return 1
"#;

/// Where a worker records failures: Ruby's failure backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureDestination {
    /// The `failed` list (Ruby's `Resque::Failure::Redis`, the default).
    Redis,
    /// `<queue>_failed` lists named in the `failed_queues` set (Ruby's
    /// `Resque::Failure::RedisMultiQueue`).
    RedisMultiQueue,
    /// A log line through `tracing`, nothing stored.
    Log,
}

impl std::str::FromStr for FailureDestination {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "redis" => Ok(FailureDestination::Redis),
            "redis_multi_queue" => Ok(FailureDestination::RedisMultiQueue),
            "log" => Ok(FailureDestination::Log),
            other => {
                Err(format!("unknown failure backend {other:?}: expected redis, redis_multi_queue or log"))
            }
        }
    }
}

/// The Redis keys one failure goes to.
struct FailureTargets {
    lists: Vec<String>,
    /// `failed_queues` and the member to add, for the multi-queue backend.
    set: Option<(String, String)>,
}

impl FailureTargets {
    fn for_queue(keys: &crate::keys::Keys, destinations: &[FailureDestination], queue: &str) -> Self {
        let mut targets = FailureTargets { lists: Vec::new(), set: None };
        for d in destinations {
            match d {
                FailureDestination::Redis => targets.lists.push(keys.failed()),
                FailureDestination::RedisMultiQueue => {
                    targets.lists.push(keys.failed_queue(queue));
                    targets.set = Some((keys.failed_queues(), crate::keys::Keys::failed_queue_name(queue)));
                }
                FailureDestination::Log => {}
            }
        }
        targets
    }

    /// Appends the keys (lists, then the set) and the two ARGVs (count, member).
    fn add_to(&self, call: &mut redis::ScriptInvocation<'_>) {
        for list in &self.lists {
            call.key(list);
        }
        if let Some((set, _)) = &self.set {
            call.key(set);
        }
    }

    fn args(&self) -> (usize, &str) {
        (self.lists.len(), self.set.as_ref().map_or("", |(_, member)| member.as_str()))
    }
}

static FETCH_SCRIPT: OnceLock<Script> = OnceLock::new();
static FINISH_SCRIPT: OnceLock<Script> = OnceLock::new();
static RECOVER_SCRIPT: OnceLock<Script> = OnceLock::new();

/// A script, its SHA-1 computed once per process rather than per job.
fn script(cell: &'static OnceLock<Script>, source: &str) -> &'static Script {
    cell.get_or_init(|| Script::new(source))
}

/// A job taken from a queue.
pub(crate) struct Taken {
    /// The queue it came from.
    pub(crate) queue: String,
    /// The payload, byte for byte.
    pub(crate) raw: String,
    /// Its `inflight:<id>` entry, to remove when it is finished.
    pub(crate) entry: Vec<u8>,
}

/// What a fetch found.
pub(crate) enum Fetched {
    Job(Taken),
    Empty,
    Paused,
}

/// Takes the next job from `queues` (already resolved, in priority order).
pub(crate) fn fetch(client: &Client, worker_id: &str, queues: &[String]) -> Result<Fetched> {
    let keys = client.keys();
    let mut call = script(&FETCH_SCRIPT, FETCH).key(keys.pause_all());
    call.key(keys.inflight(worker_id)).key(keys.worker(worker_id));
    call.arg(payload::time::run_at(Timestamp::now()));
    for q in queues {
        call.key(keys.queue(q)).arg(q);
    }
    let (index, raw, entry) = client.with_conn(|c| {
        let reply: Vec<redis::Value> = call.invoke(c)?;
        let mut reply = reply.into_iter();
        let index: Option<usize> = reply.next().map(redis::from_redis_value).transpose()?;
        let raw: Option<Vec<u8>> = reply.next().map(redis::from_redis_value).transpose()?;
        let entry: Option<Vec<u8>> = reply.next().map(redis::from_redis_value).transpose()?;
        Ok((index, raw, entry))
    })?;
    Ok(match (index, raw, entry) {
        (Some(0), _, _) => Fetched::Paused,
        (Some(i), Some(raw), Some(entry)) => match queues.get(i - 1) {
            Some(queue) => Fetched::Job(Taken {
                queue: queue.clone(),
                raw: String::from_utf8(raw)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                entry,
            }),
            None => Fetched::Empty,
        },
        _ => Fetched::Empty,
    })
}

/// Records a finished job; `failure` is the failure entry's JSON, if it
/// failed, stored as `destinations` say.
pub(crate) fn finish(
    client: &Client,
    worker_id: &str,
    taken: &Taken,
    failure: Option<&str>,
    destinations: &[FailureDestination],
) -> Result<()> {
    let keys = client.keys();
    let targets = FailureTargets::for_queue(keys, destinations, &taken.queue);
    let (lists, member) = targets.args();
    let mut call = script(&FINISH_SCRIPT, FINISH).key(keys.inflight(worker_id));
    call.key(keys.worker(worker_id))
        .key(keys.stat(stat::FAILED))
        .key(keys.worker_stat(stat::FAILED, worker_id))
        .key(keys.stat(stat::PROCESSED))
        .key(keys.worker_stat(stat::PROCESSED, worker_id))
        .key(keys.recoveries());
    targets.add_to(&mut call);
    call.arg(taken.entry.as_slice()).arg(failure.unwrap_or("")).arg(&taken.raw).arg(lists).arg(member);
    client.with_conn(|c| call.invoke::<i64>(c)).map(drop)
}

/// What recovering an `inflight:<id>` list did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs put back at the head of their queue.
    pub requeued: usize,
    /// Jobs failed because they had been recovered too often.
    pub failed: usize,
}

/// Puts every job in `owner`'s in-flight list back at the head of its queue,
/// or fails it (as `destinations` say) when it has been recovered too often;
/// the failure entry names `owner` as its worker.
pub(crate) fn recover_inflight(
    client: &Client,
    owner: &str,
    destinations: &[FailureDestination],
) -> Result<Recovered> {
    put_back(client, owner, destinations, MAX_RECOVERIES)
}

/// Puts a live worker's own in-flight jobs back, uncounted: after a fetch
/// whose reply was lost, a job may sit in its list that it never received.
pub(crate) fn return_own_inflight(client: &Client, owner: &str) -> Result<Recovered> {
    put_back(client, owner, &[], 0)
}

fn put_back(
    client: &Client,
    owner: &str,
    destinations: &[FailureDestination],
    max_recoveries: u64,
) -> Result<Recovered> {
    let keys = client.keys();
    let inflight = keys.inflight(owner);
    let entries: Vec<Vec<u8>> =
        client.with_conn(|c| redis::cmd("LRANGE").arg(&inflight).arg(0).arg(-1).query(c))?;
    let mut done = Recovered::default();
    // Last taken first, each pushed to the head: the queue keeps its order.
    for raw_entry in entries.iter().rev() {
        let Ok(entry) = InflightEntry::parse(raw_entry) else {
            tracing::error!(key = inflight, "cannot read an in-flight entry; left in place");
            continue;
        };
        let failure = poison_failure(&entry, owner);
        let targets = FailureTargets::for_queue(keys, destinations, &entry.queue);
        let (lists, member) = targets.args();
        let mut call = script(&RECOVER_SCRIPT, RECOVER).key(&inflight);
        call.key(keys.queue(&entry.queue))
            .key(keys.queues())
            .key(keys.recoveries())
            .key(keys.stat(stat::FAILED));
        targets.add_to(&mut call);
        call.arg(raw_entry.as_slice())
            .arg(&entry.payload)
            .arg(&entry.queue)
            .arg(max_recoveries)
            .arg(failure)
            .arg(keys.wake_channel())
            .arg(lists)
            .arg(member);
        match client.with_conn(|c| call.invoke::<i64>(c))? {
            1 => done.requeued += 1,
            2 => {
                if destinations.contains(&FailureDestination::Log) {
                    tracing::error!(failure = poison_failure(&entry, owner), "job failed");
                }
                done.failed += 1
            }
            _ => {}
        }
    }
    Ok(done)
}

fn poison_failure(entry: &InflightEntry, owner: &str) -> String {
    let raw = RawValue::from_string(entry.payload.clone()).ok();
    let payload = match &raw {
        Some(r) => FailedPayload::Json(r),
        None => FailedPayload::Text(&entry.payload),
    };
    let error =
        format!("the job was running on a worker that died {MAX_RECOVERIES} times; it is not put back again");
    NewFailure {
        failed_at: payload::time::failed_at(Timestamp::now()),
        payload,
        exception: exception::DIRTY_EXIT,
        error: &error,
        backtrace: &[],
        worker: owner,
        queue: &entry.queue,
    }
    .to_json()
}

/// Stores a failure entry outside a finish step (a dead Ruby worker's job).
pub(crate) fn save_failure(
    client: &Client,
    queue: &str,
    failure: &str,
    destinations: &[FailureDestination],
) -> Result<()> {
    let keys = client.keys();
    let targets = FailureTargets::for_queue(keys, destinations, queue);
    if destinations.contains(&FailureDestination::Log) {
        tracing::error!(failure, "job failed");
    }
    let mut pipe = redis::pipe();
    if let Some((set, member)) = &targets.set {
        pipe.sadd(set, member).ignore();
    }
    for list in &targets.lists {
        pipe.rpush(list, failure).ignore();
    }
    pipe.incr(keys.stat(stat::FAILED), 1).ignore();
    client.with_conn(|c| pipe.query::<()>(c))
}

/// Removes every key of a worker: `SREM workers`, `DEL worker:<id>`, `DEL
/// worker:<id>:started`, `HDEL workers:heartbeat` and the per-worker stats.
/// Its in-flight list is left for [`recover_inflight`].
pub(crate) fn unregister(client: &Client, worker_id: &str) -> Result<()> {
    let keys = client.keys();
    client.with_conn(|c| {
        redis::pipe()
            .srem(keys.workers(), worker_id)
            .ignore()
            .del(keys.worker(worker_id))
            .ignore()
            .del(keys.worker_started(worker_id))
            .ignore()
            .hdel(keys.heartbeat(), worker_id)
            .ignore()
            .del(keys.worker_stat(stat::PROCESSED, worker_id))
            .ignore()
            .del(keys.worker_stat(stat::FAILED, worker_id))
            .ignore()
            .query::<()>(c)
    })
}
