//! The worker's side of Redis: taking a job, recording its end, and putting
//! back the jobs of dead workers. Every step that must not be split is one
//! Lua script, so a worker killed at any instant leaves each job in its
//! queue, in its `inflight:<id>` list, or finished.

use jiff::Timestamp;
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

/// Records a finished job in one step: the failure entry and counters when
/// it failed, then `DEL worker:<id>`, the processed counters, and the
/// removal of its `inflight:<id>` entry.
///
/// KEYS: inflight:<id>, worker:<id>, failed, stat:failed, stat:failed:<id>,
///       stat:processed, stat:processed:<id>, recoveries
/// ARGV: inflight entry, failure entry or '', payload
const FINISH: &str = r#"
if ARGV[2] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  redis.call('INCRBY', KEYS[4], 1)
  redis.call('INCRBY', KEYS[5], 1)
end
redis.call('DEL', KEYS[2])
redis.call('INCRBY', KEYS[6], 1)
redis.call('INCRBY', KEYS[7], 1)
redis.call('LREM', KEYS[1], 1, ARGV[1])
if redis.call('EXISTS', KEYS[8]) == 1 then
  redis.call('HDEL', KEYS[8], redis.sha1hex(ARGV[3]))
end
return 1
"#;

/// Puts an in-flight job back at the head of its queue, or, past
/// MAX_RECOVERIES, fails it with the given entry.
///
/// KEYS: inflight:<id>, queue:<q>, queues, recoveries, failed, stat:failed
/// ARGV: inflight entry, payload, queue name, max recoveries, failure entry,
///       wake channel
/// Returns 1 when requeued, 2 when failed, 0 when the entry was gone.
const RECOVER: &str = r#"
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
local field = redis.sha1hex(ARGV[2])
local n = redis.call('HINCRBY', KEYS[4], field, 1)
if n >= tonumber(ARGV[4]) then
  redis.call('HDEL', KEYS[4], field)
  redis.call('RPUSH', KEYS[5], ARGV[5])
  redis.call('INCRBY', KEYS[6], 1)
  return 2
end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[6], ARGV[3])
return 1
"#;

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
    let script = Script::new(FETCH);
    let mut call = script.key(keys.pause_all());
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

/// Records a finished job; `failure` is the failure entry's JSON, if it failed.
pub(crate) fn finish(
    client: &Client,
    worker_id: &str,
    entry: &[u8],
    raw: &str,
    failure: Option<&str>,
) -> Result<()> {
    let keys = client.keys();
    let script = Script::new(FINISH);
    let mut call = script.key(keys.inflight(worker_id));
    call.key(keys.worker(worker_id))
        .key(keys.failed())
        .key(keys.stat(stat::FAILED))
        .key(keys.worker_stat(stat::FAILED, worker_id))
        .key(keys.stat(stat::PROCESSED))
        .key(keys.worker_stat(stat::PROCESSED, worker_id))
        .key(keys.recoveries())
        .arg(entry)
        .arg(failure.unwrap_or(""))
        .arg(raw);
    client.with_conn(|c| call.invoke::<i64>(c)).map(drop)
}

/// What recovering an `inflight:<id>` list did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Jobs put back at the head of their queue.
    pub(crate) requeued: usize,
    /// Jobs failed because they had been recovered too often.
    pub(crate) failed: usize,
}

/// Puts every job in `owner`'s in-flight list back at the head of its queue,
/// or fails it when it has been recovered too often (the failure entry names
/// `owner` as its worker).
pub(crate) fn recover_inflight(client: &Client, owner: &str) -> Result<Recovered> {
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
        let script = Script::new(RECOVER);
        let mut call = script.key(&inflight);
        call.key(keys.queue(&entry.queue))
            .key(keys.queues())
            .key(keys.recoveries())
            .key(keys.failed())
            .key(keys.stat(stat::FAILED))
            .arg(raw_entry.as_slice())
            .arg(&entry.payload)
            .arg(&entry.queue)
            .arg(MAX_RECOVERIES)
            .arg(failure)
            .arg(keys.wake_channel());
        match client.with_conn(|c| call.invoke::<i64>(c))? {
            1 => done.requeued += 1,
            2 => done.failed += 1,
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
