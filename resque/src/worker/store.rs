//! The worker's side of Redis: the step that records a job's end, records
//! the next job's start and takes more jobs, and putting back the jobs of
//! dead workers. Every step that must not be split is one
//! Lua script, so a worker killed at any instant leaves each job in its
//! queue, in its `inflight:<id>` list, or finished.

use jiff::Timestamp;
use std::sync::OnceLock;

use redis::Script;
use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::Result;
use crate::keys::stat;
use crate::payload::{self, exception, FailedPayload, InflightEntry, NewFailure, ProcessingRecord};

/// How many times a job is put back from dead workers before it is failed.
pub(crate) const MAX_RECOVERIES: u64 = 3;

/// One step of a worker, in one script: records the outcome of the job that
/// just ran, records the job that starts now, and takes the next jobs.
///
/// 1. Finish, when ARGV[1] names an in-flight entry: its removal from
///    `inflight:<id>` comes first and nothing else of the finish happens when
///    it is already gone (a retry after a reply lost to a dropped
///    connection). Then the failure entry (in every failure list the
///    worker's backends name) and counters when it failed, the processed
///    counters, and `HDEL recoveries`.
/// 2. `SET worker:<id>` to ARGV[6], the record of an already taken job that
///    starts now, or, after a finish, `DEL worker:<id>` when ARGV[6] is ''.
/// 3. Take, when ARGV[7] > 0: unless `pause-all-workers` pauses (Ruby's
///    rule, as `client::pauses` reads it: stripped of NUL and ASCII
///    whitespace, `true` in any case), up to ARGV[7] jobs from the first
///    non-empty queue in priority order (`LPOP` each, `RPUSH` of an entry to `inflight:<id>`); when ARGV[8] (run_at) is
///    not '', the first one taken is the job that starts now and gets its
///    `SET worker:<id>` in this step.
///
/// KEYS: pause-all-workers, inflight:<id>, worker:<id>, stat:failed,
///       stat:failed:<id>, stat:processed, stat:processed:<id>, recoveries,
///       failure lists..., failed_queues when ARGV[5] is not '', queue:<q>...
/// ARGV: finished entry or '', failure entry or '', finished payload,
///       number of failure lists, failed_queues member or '', record or '',
///       how many to take, run_at or '', q...
/// Returns {finished (0 or 1)} when nothing was taken, {finished, 0} when
/// paused, else {finished, queue index from 1, payload, entry, payload,
/// entry...}.
const STEP: &str = r#"
local finished = 0
if ARGV[1] ~= '' and redis.call('LREM', KEYS[2], 1, ARGV[1]) == 1 then
  finished = 1
  local lists = tonumber(ARGV[4])
  if ARGV[2] ~= '' then
    if ARGV[5] ~= '' then redis.call('SADD', KEYS[9 + lists], ARGV[5]) end
    for i = 9, 8 + lists do redis.call('RPUSH', KEYS[i], ARGV[2]) end
    redis.call('INCRBY', KEYS[4], 1)
    redis.call('INCRBY', KEYS[5], 1)
  end
  redis.call('INCRBY', KEYS[6], 1)
  redis.call('INCRBY', KEYS[7], 1)
  if redis.call('EXISTS', KEYS[8]) == 1 then
    redis.call('HDEL', KEYS[8], redis.sha1hex(ARGV[3]))
  end
end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[3], ARGV[6])
elseif ARGV[1] ~= '' then
  redis.call('DEL', KEYS[3])
end
local take = tonumber(ARGV[7])
if take == 0 then return {finished} end
local paused = redis.call('GET', KEYS[1])
if paused and string.lower(string.match(paused, '^[%z\t\n\v\f\r ]*(.-)[%z\t\n\v\f\r ]*$')) == 'true' then
  return {finished, 0}
end
local first = 9 + tonumber(ARGV[4])
if ARGV[5] ~= '' then first = first + 1 end
for i = first, #KEYS do
  local payload = redis.call('LPOP', KEYS[i])
  if payload then
    local queue = ARGV[9 + i - first]
    local reply = {finished, i - first + 1}
    local n = 0
    while payload do
      local entry = cjson.encode({queue = queue, payload = payload})
      redis.call('RPUSH', KEYS[2], entry)
      if n == 0 and ARGV[8] ~= '' and pcall(cjson.decode, payload) then
        redis.call('SET', KEYS[3], '{"queue":' .. cjson.encode(queue) .. ',"run_at":"' .. ARGV[8] .. '","payload":' .. payload .. '}')
      end
      reply[#reply + 1] = payload
      reply[#reply + 1] = entry
      n = n + 1
      if n >= take then break end
      payload = redis.call('LPOP', KEYS[i])
    end
    return reply
  end
end
return {finished}
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
#[derive(Default)]
struct FailureTargets {
    lists: Vec<String>,
    /// `failed_queues` and the member to add, for the multi-queue backend.
    set: Option<(String, String)>,
}

impl FailureTargets {
    fn for_queue(keys: &crate::keys::Keys, destinations: &[FailureDestination], queue: &str) -> Self {
        let mut targets = FailureTargets::default();
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

    /// The keys the scripts name: the lists, then the set.
    fn keys(&self) -> impl Iterator<Item = &String> {
        self.lists.iter().chain(self.set.as_ref().map(|(set, _)| set))
    }

    fn args(&self) -> (usize, &str) {
        (self.lists.len(), self.set.as_ref().map_or("", |(_, member)| member.as_str()))
    }
}

static STEP_SCRIPT: OnceLock<Script> = OnceLock::new();
static RECOVER_SCRIPT: OnceLock<Script> = OnceLock::new();

/// A script, its SHA-1 computed once per process rather than per job.
fn script(cell: &'static OnceLock<Script>, source: &str) -> &'static Script {
    cell.get_or_init(|| Script::new(source))
}

/// A job taken from a queue.
#[derive(Debug)]
pub(crate) struct Taken {
    /// The queue it came from.
    pub(crate) queue: String,
    /// The payload, byte for byte.
    pub(crate) raw: String,
    /// Its `inflight:<id>` entry, to remove when it is finished.
    pub(crate) entry: Vec<u8>,
}

/// A job that ran, with its failure entry if it failed: what a step records.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) taken: Taken,
    pub(crate) failure: Option<String>,
}

/// What a step does (see [`STEP`]).
pub(crate) struct Step<'a> {
    /// The job that ran, to record as finished.
    pub(crate) finish: Option<&'a Ran>,
    /// An already taken job that starts now: its `worker:<id>` record.
    pub(crate) start: Option<&'a Taken>,
    /// How many jobs to take (0: none).
    pub(crate) take: usize,
    /// The job taken first starts now (its record is set in the step).
    /// Only without `start`.
    pub(crate) start_first: bool,
    /// The queues to take from.
    pub(crate) queues: &'a Queues,
}

/// What a step took.
#[derive(Debug)]
pub(crate) enum Took {
    /// Jobs from one queue, in queue order.
    Jobs(Vec<Taken>),
    /// Every queue was empty, or the step took nothing.
    Empty,
    /// `pause-all-workers` pauses (see `client::pauses`).
    Paused,
}

/// Queues to take from, resolved, in priority order, with their keys
/// spelled once rather than in every step.
#[derive(Debug)]
pub(crate) struct Queues {
    pub(crate) names: Vec<String>,
    keys: Vec<String>,
}

impl Queues {
    /// No queue: a step that takes nothing.
    pub(crate) const NONE: Queues = Queues { names: Vec::new(), keys: Vec::new() };

    pub(crate) fn new(client: &Client, names: Vec<String>) -> Self {
        let keys = names.iter().map(|q| client.keys().queue(q)).collect();
        Queues { names, keys }
    }
}

/// The keys every step names, spelled once per worker.
pub(crate) struct StepKeys([String; 8]);

impl StepKeys {
    pub(crate) fn new(client: &Client, worker_id: &str) -> Self {
        let keys = client.keys();
        StepKeys([
            keys.pause_all(),
            keys.inflight(worker_id),
            keys.worker(worker_id),
            keys.stat(stat::FAILED),
            keys.worker_stat(stat::FAILED, worker_id),
            keys.stat(stat::PROCESSED),
            keys.worker_stat(stat::PROCESSED, worker_id),
            keys.recoveries(),
        ])
    }
}

/// The step's command: `EVALSHA` of [`STEP`] with its keys and arguments.
pub(crate) fn step_command(
    client: &Client,
    step_keys: &StepKeys,
    step: &Step<'_>,
    destinations: &[FailureDestination],
) -> redis::Cmd {
    let keys = client.keys();
    let targets = match step.finish.filter(|ran| ran.failure.is_some()) {
        Some(ran) => FailureTargets::for_queue(keys, destinations, &ran.taken.queue),
        None => FailureTargets::default(),
    };
    let (lists, member) = targets.args();
    let mut cmd = redis::cmd("EVALSHA");
    let queues = if step.take > 0 { step.queues } else { &Queues::NONE };
    cmd.arg(script(&STEP_SCRIPT, STEP).get_hash())
        .arg(8 + lists + usize::from(!member.is_empty()) + queues.keys.len());
    for key in &step_keys.0 {
        cmd.arg(key);
    }
    for key in targets.keys() {
        cmd.arg(key);
    }
    for key in &queues.keys {
        cmd.arg(key);
    }
    let record = step.start.and_then(|taken| {
        let payload: &RawValue = serde_json::from_str(&taken.raw).ok()?;
        let run_at = payload::time::run_at(Timestamp::now());
        Some(ProcessingRecord { queue: &taken.queue, run_at, payload }.to_json())
    });
    let run_at = if step.start_first && step.start.is_none() && step.take > 0 {
        payload::time::run_at(Timestamp::now())
    } else {
        String::new()
    };
    match step.finish {
        Some(ran) => {
            cmd.arg(ran.taken.entry.as_slice()).arg(ran.failure.as_deref().unwrap_or("")).arg(&ran.taken.raw)
        }
        None => cmd.arg("").arg("").arg(""),
    };
    cmd.arg(lists).arg(member).arg(record.unwrap_or_default()).arg(step.take).arg(run_at);
    for name in &queues.names {
        cmd.arg(name);
    }
    cmd
}

/// Runs a step and waits for its reply.
pub(crate) fn step(client: &Client, command: &redis::Cmd, queues: &[String]) -> Result<Took> {
    let reply = client.with_conn(|c| match command.query::<redis::Value>(c) {
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            script(&STEP_SCRIPT, STEP).load(c)?;
            command.query(c)
        }
        other => other,
    })?;
    took(client, reply, queues)
}

/// A step sent and not yet answered: [`recv_step`] reads its reply.
#[derive(Debug)]
pub(crate) struct SentStep(u64);

/// Sends a step without waiting for its reply.
pub(crate) fn send_step(client: &Client, command: &redis::Cmd) -> Result<SentStep> {
    client.send_packed(&command.get_packed_command()).map(SentStep)
}

/// Reads the reply to a step sent with [`send_step`]. An error (the script
/// was not loaded, the connection dropped) leaves it unknown whether the
/// step ran: see [`Step`]'s finish, safe to repeat.
pub(crate) fn recv_step(client: &Client, sent: SentStep, queues: &[String]) -> Result<Took> {
    let reply = client.recv_reply(sent.0)?;
    took(client, reply, queues)
}

fn took(client: &Client, reply: redis::Value, queues: &[String]) -> Result<Took> {
    parse_took(reply, queues).map_err(|e| client.error(e))
}

/// A step's reply (see [`STEP`]) as the jobs it took from `queues`.
fn parse_took(reply: redis::Value, queues: &[String]) -> redis::RedisResult<Took> {
    let reply: Vec<redis::Value> = redis::from_redis_value(reply)?;
    let mut reply = reply.into_iter().skip(1);
    let Some(index) = reply.next() else { return Ok(Took::Empty) };
    let index: usize = redis::from_redis_value(index)?;
    if index == 0 {
        return Ok(Took::Paused);
    }
    let Some(queue) = queues.get(index - 1) else { return Ok(Took::Empty) };
    let mut jobs = Vec::with_capacity(reply.len() / 2);
    while let (Some(raw), Some(entry)) = (reply.next(), reply.next()) {
        let raw: Vec<u8> = redis::from_redis_value(raw)?;
        jobs.push(Taken {
            queue: queue.clone(),
            raw: String::from_utf8(raw)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            entry: redis::from_redis_value(entry)?,
        });
    }
    Ok(if jobs.is_empty() { Took::Empty } else { Took::Jobs(jobs) })
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

/// Puts jobs a live worker took but never started back at the head of their
/// queues, in their order, uncounted.
pub(crate) fn return_taken(client: &Client, owner: &str, taken: &[Taken]) -> Result<Recovered> {
    put_back_entries(client, owner, &[], 0, taken.iter().map(|t| t.entry.as_slice()))
}

fn put_back(
    client: &Client,
    owner: &str,
    destinations: &[FailureDestination],
    max_recoveries: u64,
) -> Result<Recovered> {
    let inflight = client.keys().inflight(owner);
    let entries: Vec<Vec<u8>> =
        client.with_conn(|c| redis::cmd("LRANGE").arg(&inflight).arg(0).arg(-1).query(c))?;
    put_back_entries(client, owner, destinations, max_recoveries, entries.iter().map(Vec::as_slice))
}

fn put_back_entries<'a>(
    client: &Client,
    owner: &str,
    destinations: &[FailureDestination],
    max_recoveries: u64,
    entries: impl DoubleEndedIterator<Item = &'a [u8]>,
) -> Result<Recovered> {
    let keys = client.keys();
    let inflight = keys.inflight(owner);
    let mut done = Recovered::default();
    // Last taken first, each pushed to the head: the queue keeps its order.
    for raw_entry in entries.rev() {
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
        for key in targets.keys() {
            call.key(key);
        }
        call.arg(raw_entry)
            .arg(&entry.payload)
            .arg(&entry.queue)
            .arg(max_recoveries)
            .arg(&failure)
            .arg(keys.wake_channel())
            .arg(lists)
            .arg(member);
        match client.with_conn(|c| call.invoke::<i64>(c))? {
            1 => done.requeued += 1,
            2 => {
                if destinations.contains(&FailureDestination::Log) {
                    tracing::error!(failure, "job failed");
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
