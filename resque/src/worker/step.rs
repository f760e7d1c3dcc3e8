//! The worker's step: one Lua script that records the job that ran, records
//! the job that starts, and takes the next jobs, so that a worker killed at
//! any instant leaves each job in its queue, in its `inflight:<id>` list, or
//! finished (see `docs/PROTOCOL.md`).

use jiff::Timestamp;

use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::Result;
use crate::failure::{FailureDestination, FailureTargets};
use crate::keys::stat;
use crate::payload::{self, ProcessingRecord};
use crate::retries::{RetryFinish, Then};
use crate::script::{self, Lua};

/// One step of a worker, in one script (`step.lua`): records the outcome of
/// the job that just ran, records the job that starts now, and takes the
/// next jobs.
///
/// 1. Finish, when `entry` names an in-flight entry: its removal from
///    `inflight:<id>` comes first and nothing else of the finish happens when
///    it is already gone (a retry after a reply lost to a dropped
///    connection). Then the failure entry (in every failure list the
///    worker's backends name) and counters when it failed, the processed
///    counters, and `HDEL recoveries` of `payload_sha1` (the payload's
///    SHA-1, in lowercase hex); then, for a job with a retry policy,
///    its retry part (`retry`: `clear`, `now` or `later`, see
///    `retry/finish.rs`; `payload`, the payload's exact bytes, is sent
///    for `now` only, which pushes it back to its queue): a retried run is counted as failed, its entry is
///    kept at its `failure-resque-retry:` key rather than in the lists, and
///    `stat:retried` counts it.
/// 2. `SET worker:<id>` to `record`, the record of an already taken job that
///    starts now, or, after a finish, `DEL worker:<id>` when `record` is ''.
/// 3. Take, when `take` > 0: unless `pause-all-workers` pauses (Ruby's
///    rule, as `client::pauses` reads it: stripped of NUL and ASCII
///    whitespace, `true` in any case), up to `take` jobs from the first
///    non-empty queue in priority order (`LPOP` each, `RPUSH` of an entry to
///    `inflight:<id>`); when `run_at` is not '', the first one taken is the
///    job that starts now and gets its `SET worker:<id>` in this step.
///
/// After the fixed keys: the failure lists (`lists` of them), then
/// `failed_queues` when `failed_queue` (its member) is not '', then the
/// retry part's keys (none, 2 for `clear`, 4 for `now`, 5 for `later`:
/// counter, kept failure, then `queue:<q>` and `queues`, or `delayed:<s>`,
/// `timestamps:<item>` and `delayed_queue_schedule`), then each
/// `queue:<q>`. After the fixed arguments: each q's exact name, then for
/// each q its name as text for the record ('' when it is q itself, a UTF-8
/// name).
///
/// Returns {finished (0 or 1)} when nothing was taken, {finished, 0} when
/// paused, else {finished, queue index from 1, payload, entry, payload,
/// entry...}, where a payload of 64 kB or more is '' and read from its
/// entry (so that a large payload is not in the reply twice).
pub(crate) static STEP: Lua = Lua::new(
    "step",
    &[
        "pause_all",
        "inflight",
        "worker",
        "failed",
        "worker_failed",
        "processed",
        "worker_processed",
        "recoveries",
        "retried",
    ],
    &[
        "entry",
        "failure",
        "payload",
        "payload_sha1",
        "lists",
        "failed_queue",
        "record",
        "take",
        "run_at",
        "retry",
        "retry_ttl",
        "retry_item",
        "retry_member",
        "retry_due",
        "kept",
        "kept_ttl",
        "retry_wake",
        "retry_wake_message",
        "failed_max",
    ],
    include_str!("step.lua"),
);

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
    /// The job, its payload let go unless a retry `now` pushes it back
    /// (its finish needs only `payload_sha1` otherwise).
    pub(crate) taken: Taken,
    /// The payload's `recoveries` field (see `Keys::recovery_field`).
    pub(crate) payload_sha1: String,
    /// The failure entry for the failed lists.
    pub(crate) failure: Option<String>,
    /// The retry part, for a job with a retry policy.
    pub(crate) retry: Option<RetryFinish>,
}

impl Ran {
    /// The outcome of `taken`, for its finishing step (repeated as it is
    /// while Redis cannot be reached).
    #[cfg(test)]
    pub(crate) fn new(taken: Taken, failure: Option<String>, retry: Option<RetryFinish>) -> Self {
        let payload_sha1 = crate::keys::Keys::recovery_field(&taken.raw);
        Ran::with_sha1(taken, payload_sha1, failure, retry)
    }

    /// [`Ran::new`] with the payload's SHA-1 computed before the job ran
    /// (while its payload was at hand).
    pub(crate) fn with_sha1(
        mut taken: Taken,
        payload_sha1: String,
        failure: Option<String>,
        retry: Option<RetryFinish>,
    ) -> Self {
        if !retry.as_ref().is_some_and(RetryFinish::pushes_now) {
            taken.raw = Vec::new();
        }
        Ran { taken, payload_sha1, failure, retry }
    }
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

/// The fixed keys of every step (see [`STEP`]), spelled once per worker.
pub(crate) struct StepKeys([(&'static str, String); 9]);

impl StepKeys {
    pub(crate) fn new(client: &Client, worker_id: &str) -> Self {
        let keys = client.keys();
        StepKeys([
            ("pause_all", keys.pause_all()),
            ("inflight", keys.inflight(worker_id)),
            ("worker", keys.worker(worker_id)),
            ("failed", keys.stat(stat::FAILED)),
            ("worker_failed", keys.worker_stat(stat::FAILED, worker_id)),
            ("processed", keys.stat(stat::PROCESSED)),
            ("worker_processed", keys.worker_stat(stat::PROCESSED, worker_id)),
            ("recoveries", keys.recoveries()),
            ("retried", keys.stat(stat::RETRIED)),
        ])
    }
}

/// The step's command: `EVALSHA` of [`STEP`] with its keys and arguments.
pub(crate) fn step_command(
    client: &Client,
    step_keys: &StepKeys,
    step: &Step<'_>,
    destinations: &[FailureDestination],
    failed_max: Option<u64>,
) -> redis::Cmd {
    let keys = client.keys();
    let targets = match step.finish.filter(|ran| ran.failure.is_some()) {
        Some(ran) => FailureTargets::for_queue(keys, destinations, ran.taken.queue_bytes()),
        None => FailureTargets::default(),
    };
    let (lists, member) = targets.args();
    let queues = if step.take > 0 { step.queues } else { &Queues::NONE };
    let mut call = STEP.call();
    for (name, key) in &step_keys.0 {
        call.key(name, key);
    }
    let retry = step.finish.and_then(|ran| Some((ran.retry.as_ref()?, ran.taken.queue_bytes())));
    let retry_keys = retry.map(|(r, queue)| r.keys(keys, queue)).unwrap_or_default();
    call.more_keys(targets.keys()).more_keys(&retry_keys).more_keys(&queues.keys);
    retry_args(&mut call, keys, retry);
    call.arg("failed_max", failed_max.map(|n| n.max(1).to_string()).unwrap_or_default());
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
            // The payload itself goes back only for a retry `now`, which
            // pushes it to its queue again: `HDEL recoveries` needs only its
            // SHA-1, and a large payload is not sent twice.
            let retried_now = ran.retry.as_ref().is_some_and(RetryFinish::pushes_now);
            call.arg_bytes("entry", &ran.taken.entry)
                .arg_bytes("failure", ran.failure.as_deref().unwrap_or("").as_bytes())
                .arg_bytes("payload", if retried_now { &ran.taken.raw } else { b"" })
                .arg_bytes("payload_sha1", ran.payload_sha1.as_bytes())
        }
        None => call.arg("entry", "").arg("failure", "").arg("payload", "").arg("payload_sha1", ""),
    };
    call.arg("lists", lists)
        .arg("failed_queue", member)
        .arg("record", record.unwrap_or_default())
        .arg("take", step.take)
        .arg("run_at", run_at);
    call.more_args((0..queues.keys.len()).map(|i| queues.name_bytes(i).unwrap_or_default()));
    call.more_args(
        queues
            .names
            .iter()
            .zip(&queues.raw)
            .map(|(name, raw)| if raw.is_some() { name.as_str() } else { "" }),
    );
    call.command()
}

/// The step's arguments for the retry part (see [`STEP`]), all '' without one.
fn retry_args<'a>(
    call: &mut script::Call<'a>,
    keys: &crate::keys::Keys,
    retry: Option<(&'a RetryFinish, &'a [u8])>,
) {
    let (mut ttl, mut item, mut member, mut due, mut wake, mut message) =
        (String::new(), &b""[..], Vec::new(), String::new(), String::new(), Vec::new());
    let (kept, kept_ttl) = match retry.and_then(|(r, _)| r.kept.as_ref()) {
        Some((entry, ttl)) => (entry.as_str(), ttl.to_string()),
        None => ("", String::new()),
    };
    if let Some((retry, queue)) = retry {
        ttl = retry.counter_ttl.to_string();
        match &retry.then {
            Then::Clear => {}
            Then::Now => {
                member = queue.to_vec();
                wake = keys.wake_channel();
                message = queue.to_vec();
            }
            Then::Later { at, item: delayed } => {
                item = delayed.as_bytes();
                member = crate::keys::Keys::delayed_bucket(*at).into_bytes();
                due = at.to_string();
                wake = keys.delayed_wake_channel();
                message = due.clone().into_bytes();
            }
        }
    }
    call.arg("retry", retry.map_or("", |(r, _)| r.mode()))
        .arg("retry_ttl", ttl)
        .arg_bytes("retry_item", item)
        .arg("retry_member", member)
        .arg("retry_due", due)
        .arg_bytes("kept", kept.as_bytes())
        .arg("kept_ttl", kept_ttl)
        .arg("retry_wake", wake)
        .arg("retry_wake_message", message);
}

/// Runs a step and waits for its reply.
pub(crate) fn step(client: &Client, command: &redis::Cmd, queues: &Queues) -> Result<Took> {
    let reply = client.with_conn_copied(|c| script::run::<redis::Value>(&STEP, command, c))?;
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

/// From a reply of this many bytes of jobs, the connection's read buffer is
/// let go (see [`Client::release_read_buffer`]).
const LARGE_REPLY: usize = 1 << 20;

fn took(client: &Client, reply: redis::Value, queues: &Queues) -> Result<Took> {
    let took = parse_took(reply, queues).map_err(|e| client.error(e))?;
    if let Took::Jobs(jobs) = &took {
        if jobs.iter().map(|j| j.raw.len() + j.entry.len()).sum::<usize>() >= LARGE_REPLY {
            client.release_read_buffer();
        }
    }
    Ok(took)
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
        let entry: Vec<u8> = redis::from_redis_value(entry)?;
        let mut raw: Vec<u8> = redis::from_redis_value(raw)?;
        if raw.is_empty() {
            raw = payload::inflight_payload(&entry).map_err(|e| {
                redis::RedisError::from((
                    redis::ErrorKind::UnexpectedReturnType,
                    "an in-flight entry the step returned is not JSON",
                    e.to_string(),
                ))
            })?;
        }
        jobs.push(Taken { queue: queue.clone(), raw_queue: raw_queue.cloned(), raw, entry });
    }
    Ok(if jobs.is_empty() { Took::Empty } else { Took::Jobs(jobs) })
}

#[cfg(test)]
mod tests;
