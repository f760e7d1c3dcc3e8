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
///       how many to take, run_at or '', q..., then for each q its name as
///       text for the record ('' when it is q itself, a UTF-8 name)
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
    local label = ARGV[9 + #KEYS - first + 1 + i - first]
    if label == '' then label = queue end
    local reply = {finished, i - first + 1}
    local n = 0
    while payload do
      local entry = cjson.encode({queue = queue, payload = payload})
      redis.call('RPUSH', KEYS[2], entry)
      if n == 0 and ARGV[8] ~= '' and pcall(cjson.decode, payload) then
        redis.call('SET', KEYS[3], '{"queue":' .. cjson.encode(label) .. ',"run_at":"' .. ARGV[8] .. '","payload":' .. payload .. '}')
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

pub use crate::failure::FailureDestination;
use crate::failure::FailureTargets;

static STEP_SCRIPT: OnceLock<Script> = OnceLock::new();
static RECOVER_SCRIPT: OnceLock<Script> = OnceLock::new();
static UNREGISTER_DEAD_SCRIPT: OnceLock<Script> = OnceLock::new();

/// A script, its SHA-1 computed once per process rather than per job.
fn script(cell: &'static OnceLock<Script>, source: &str) -> &'static Script {
    cell.get_or_init(|| Script::new(source))
}

/// A job taken from a queue.
#[derive(Debug)]
pub(crate) struct Taken {
    /// The queue it came from, as text (see `payload::escape_bytes`).
    pub(crate) queue: String,
    /// The queue's exact name, when it is not UTF-8 (`queue` is then its
    /// text, with `\xNN` for each such byte).
    pub(crate) raw_queue: Option<Vec<u8>>,
    /// The payload, byte for byte (any bytes: they need not be UTF-8).
    pub(crate) raw: Vec<u8>,
    /// Its `inflight:<id>` entry, to remove when it is finished.
    pub(crate) entry: Vec<u8>,
}

impl Taken {
    /// The queue's exact name.
    pub(crate) fn queue_bytes(&self) -> &[u8] {
        self.raw_queue.as_deref().unwrap_or(self.queue.as_bytes())
    }
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
///
/// A name is any bytes (another producer may name a queue with bytes that
/// are not UTF-8): keys and the script's arguments use the exact bytes;
/// titles, logs, records and failure entries its text.
#[derive(Debug)]
pub(crate) struct Queues {
    /// Each name as text (see `payload::escape_bytes`).
    pub(crate) names: Vec<String>,
    /// Each exact name that is not UTF-8, by position.
    raw: Vec<Option<Vec<u8>>>,
    keys: Vec<Vec<u8>>,
}

impl Queues {
    /// No queue: a step that takes nothing.
    pub(crate) const NONE: Queues = Queues { names: Vec::new(), raw: Vec::new(), keys: Vec::new() };

    /// Queues of exact names, in priority order.
    pub(crate) fn new(client: &Client, names: Vec<Vec<u8>>) -> Self {
        let keys = names.iter().map(|q| client.keys().queue_of_bytes(q)).collect();
        let mut texts = Vec::with_capacity(names.len());
        let mut raw = Vec::with_capacity(names.len());
        for name in names {
            match String::from_utf8(name) {
                Ok(text) => {
                    texts.push(text);
                    raw.push(None);
                }
                Err(e) => {
                    texts.push(payload::escape_bytes(e.as_bytes()).into_owned());
                    raw.push(Some(e.into_bytes()));
                }
            }
        }
        Queues { names: texts, raw, keys }
    }

    /// The exact name of the queue at `index`.
    fn name_bytes(&self, index: usize) -> Option<&[u8]> {
        match self.raw.get(index)? {
            Some(raw) => Some(raw),
            None => self.names.get(index).map(|n| n.as_bytes()),
        }
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
        Some(ran) => FailureTargets::for_queue(keys, destinations, ran.taken.queue_bytes()),
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
        let payload: &RawValue = serde_json::from_slice(&taken.raw).ok()?;
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
    for i in 0..queues.keys.len() {
        cmd.arg(queues.name_bytes(i).unwrap_or_default());
    }
    for (name, raw) in queues.names.iter().zip(&queues.raw) {
        cmd.arg(if raw.is_some() { name.as_str() } else { "" });
    }
    cmd
}

/// Runs a step and waits for its reply.
pub(crate) fn step(client: &Client, command: &redis::Cmd, queues: &Queues) -> Result<Took> {
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
pub(crate) fn recv_step(client: &Client, sent: SentStep, queues: &Queues) -> Result<Took> {
    let reply = client.recv_reply(sent.0)?;
    took(client, reply, queues)
}

fn took(client: &Client, reply: redis::Value, queues: &Queues) -> Result<Took> {
    parse_took(reply, queues).map_err(|e| client.error(e))
}

/// A step's reply (see [`STEP`]) as the jobs it took from `queues`.
fn parse_took(reply: redis::Value, queues: &Queues) -> redis::RedisResult<Took> {
    let reply: Vec<redis::Value> = redis::from_redis_value(reply)?;
    let mut reply = reply.into_iter().skip(1);
    let Some(index) = reply.next() else { return Ok(Took::Empty) };
    let index: usize = redis::from_redis_value(index)?;
    if index == 0 {
        return Ok(Took::Paused);
    }
    let Some(queue) = queues.names.get(index - 1) else { return Ok(Took::Empty) };
    let raw_queue = queues.raw.get(index - 1).and_then(Option::as_ref);
    let mut jobs = Vec::with_capacity(reply.len() / 2);
    while let (Some(raw), Some(entry)) = (reply.next(), reply.next()) {
        jobs.push(Taken {
            queue: queue.clone(),
            raw_queue: raw_queue.cloned(),
            raw: redis::from_redis_value(raw)?,
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

/// Puts jobs a live worker took but never started back at the head of their
/// queues, in their order, uncounted.
pub(crate) fn return_taken(client: &Client, owner: &str, taken: &[Taken]) -> Result<Recovered> {
    let entries = taken.iter().map(|t| t.entry.as_slice());
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
