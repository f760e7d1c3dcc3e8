//! The retries waiting for their second: jobs a retry policy (ours or Ruby's
//! resque-retry) pushed back as delayed jobs, found from the failures kept
//! at `failure-resque-retry:<class>:<identifier>` and matched to the
//! delayed items of the same class, args and queue; and the two things an
//! admin does with one: run it now, or cancel it (its failure then lands in
//! `failed`, so nothing is lost).
//!
//! Only retries after a delay are found: a retry at once is an ordinary job
//! in its queue, and no failure is kept for it (as resque-retry's
//! `MultipleWithRetrySuppression` keeps none).

use std::collections::HashMap;

use redis::Commands;
use serde::Serialize;
use serde_json::Value;

use crate::client::{parse_or_text, Client, QUEUE_NOW};
use crate::error::Result;
use crate::keys::Keys;
use crate::payload::{self, exception, DueJob, FailedPayload, Failure, NewFailure};
use crate::script::Lua;

/// How many seconds' buckets are read at once while matching.
const PAGE: usize = 100;

/// See `pending/cancel.lua`.
static CANCEL: Lua = Lua::new(
    "cancel_retry",
    &["bucket", "timestamps", "schedule", "failure", "counter", "failed"],
    &["item", "bucket_name", "at", "cancelled"],
    include_str!("pending/cancel.lua"),
);

/// A retry waiting in the delayed queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingRetry {
    /// The Unix second it is due at.
    pub at: i64,
    /// The queue it goes to.
    pub queue: String,
    /// The job's class.
    pub class: String,
    /// The job's args (a JSON array, as the failure recorded them).
    pub args: Value,
    /// The delayed item, byte for byte as it is in `delayed:<at>`.
    #[serde(skip)]
    pub item: Vec<u8>,
    /// How many times the job ran so far (the attempt counter plus one),
    /// when the counter is still there.
    pub attempt: Option<u64>,
    /// How many retries its policy allows after the first run, when the job
    /// is linked in this program and its policy has a limit.
    pub retry_limit: Option<u32>,
    /// The failure of the run that is retried, when its key still exists.
    pub failure: Option<Failure>,
    /// The failure key, with the namespace.
    pub failure_key: String,
    /// The attempt counter's key, with the namespace.
    pub counter_key: String,
}

impl PendingRetry {
    /// A short id for pages and the command line: 12 hex digits of the
    /// SHA-1 of the failure key, the second and the item.
    pub fn id(&self) -> String {
        let mut sha = sha1_smol::Sha1::new();
        sha.update(self.failure_key.as_bytes());
        sha.update(format!("\n{}\n", self.at).as_bytes());
        sha.update(&self.item);
        sha.digest().to_string()[..12].to_string()
    }

    /// How many runs its policy allows in all (the first and every retry),
    /// when known.
    pub fn max_attempts(&self) -> Option<u64> {
        self.retry_limit.map(|limit| u64::from(limit) + 1)
    }

    /// The last error, as `exception: error`, when the failure is known.
    pub fn last_error(&self) -> Option<String> {
        let failure = self.failure.as_ref()?;
        match (&failure.exception, &failure.error) {
            (Some(e), Some(m)) => Some(format!("{e}: {m}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }
}

/// What [`Client::cancel_retry`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCancelled {
    /// The retry was removed and the failure it kept moved to `failed`.
    FailureKept,
    /// The retry was removed; its kept failure had expired, so an entry
    /// with the exception `Resque::RetryCancelled` went to `failed` instead.
    FailureExpired,
    /// The retry was no longer waiting (queued, run or cancelled
    /// meanwhile): nothing was done.
    Gone,
}

/// A failure key read: what the delayed items are matched against.
struct Kept {
    failure_key: String,
    counter_key: String,
    class: String,
    queue: String,
    args: Value,
    failure: Failure,
    counter: Option<i64>,
}

/// A kept failure's bytes and its counter's, as `GET` answers (`None`: no key).
type KeptValues = (Option<Vec<u8>>, Option<Vec<u8>>);

/// What a kept failure and a delayed item are matched by.
type MatchKey = (String, String, String);

fn match_key(class: &str, queue: &str, args: &Value) -> MatchKey {
    (class.to_string(), queue.to_string(), args.to_string())
}

impl Client {
    /// Every retry waiting in the delayed queue, earliest first, whoever
    /// pushed it (a resque-rs worker or Ruby's resque-retry).
    ///
    /// Reads every `failure-resque-retry:*` key (a `SCAN`), then the
    /// delayed items (a pass over the schedule, skipped when no failure is
    /// kept), matching them by class, args and queue as decoded, since
    /// Ruby and resque-rs spell the same item differently.
    ///
    /// ```no_run
    /// # fn main() -> resque::Result<()> {
    /// let client = resque::Client::from_env()?;
    /// for retry in client.pending_retries()? {
    ///     println!("{} {} at {}: attempt {:?}", retry.id(), retry.class, retry.at, retry.attempt);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pending_retries(&self) -> Result<Vec<PendingRetry>> {
        let kept = self.kept_failures()?;
        if kept.is_empty() {
            return Ok(Vec::new());
        }
        let by_job: HashMap<MatchKey, &Kept> =
            kept.iter().map(|k| (match_key(&k.class, &k.queue, &k.args), k)).collect();
        let mut found = Vec::new();
        let mut start = 0;
        loop {
            let page = self.delayed_page(start, PAGE)?;
            if page.is_empty() {
                break;
            }
            start += page.len();
            for (at, items) in page {
                for item in items {
                    if let Some(kept) = matching(&by_job, &item) {
                        found.push(pending(at, item, kept));
                    }
                }
            }
        }
        Ok(found)
    }

    /// The waiting retry whose [`PendingRetry::id`] is `id`, if any.
    pub fn find_pending_retry(&self, id: &str) -> Result<Option<PendingRetry>> {
        Ok(self.pending_retries()?.into_iter().find(|r| r.id() == id))
    }

    /// Moves a waiting retry to its queue now (as the Delayed tab's Queue
    /// now does, one item); the attempt counter and the kept failure stay,
    /// for the run to count and replace. Returns whether it moved: `false`
    /// when it was no longer waiting (a scheduler queued it, or it was
    /// cancelled), or its item names no queue.
    ///
    /// ```no_run
    /// # fn main() -> resque::Result<()> {
    /// let client = resque::Client::from_env()?;
    /// if let Some(retry) = client.pending_retries()?.first() {
    ///     client.retry_now(retry)?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn retry_now(&self, retry: &PendingRetry) -> Result<bool> {
        let Some(due) = DueJob::from_item(&retry.item) else {
            tracing::warn!(item = %payload::escape_bytes(&retry.item), "a retry's item names no queue; left in place");
            return Ok(false);
        };
        let keys = self.keys();
        let mut call = QUEUE_NOW.call();
        call.key("bucket", keys.delayed_at(retry.at))
            .key("timestamps", keys.timestamps_of(&retry.item))
            .key("schedule", keys.delayed_schedule())
            .key("queues", keys.queues())
            .key("queue", keys.queue(&due.queue))
            .arg("item", retry.item.as_slice())
            .arg("bucket_name", Keys::delayed_bucket(retry.at))
            .arg("at", retry.at)
            .arg("payload", &due.payload)
            .arg("queue_name", &due.queue)
            .arg("wake_channel", keys.wake_channel());
        let moved: u8 = self.with_conn(|c| call.invoke(c))?;
        tracing::info!(class = %retry.class, at = retry.at, moved = moved == 1, "retry queued now");
        Ok(moved == 1)
    }

    /// Cancels a waiting retry, in one step: removes its delayed item,
    /// deletes its attempt counter and failure key, and puts the failure it
    /// kept at the end of `failed` (or, when that had expired, an entry
    /// saying the retry was cancelled), so that the job ends as a failure
    /// someone can still retry by hand.
    ///
    /// ```no_run
    /// # fn main() -> resque::Result<()> {
    /// let client = resque::Client::from_env()?;
    /// for retry in client.pending_retries()? {
    ///     client.cancel_retry(&retry)?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn cancel_retry(&self, retry: &PendingRetry) -> Result<RetryCancelled> {
        let keys = self.keys();
        let cancelled = cancelled_entry(retry);
        let mut call = CANCEL.call();
        call.key("bucket", keys.delayed_at(retry.at))
            .key("timestamps", keys.timestamps_of(&retry.item))
            .key("schedule", keys.delayed_schedule())
            .key("failure", &retry.failure_key)
            .key("counter", &retry.counter_key)
            .key("failed", keys.failed())
            .arg("item", retry.item.as_slice())
            .arg("bucket_name", Keys::delayed_bucket(retry.at))
            .arg("at", retry.at)
            .arg("cancelled", cancelled);
        let outcome: u8 = self.with_conn(|c| call.invoke(c))?;
        let outcome = match outcome {
            1 => RetryCancelled::FailureKept,
            2 => RetryCancelled::FailureExpired,
            _ => RetryCancelled::Gone,
        };
        tracing::info!(class = %retry.class, at = retry.at, ?outcome, "retry cancelled");
        Ok(outcome)
    }

    /// Every kept failure with the job it names, and its attempt counter.
    fn kept_failures(&self) -> Result<Vec<Kept>> {
        let keys = self.keys();
        let pattern = keys.retry_failure_pattern();
        let names: Vec<Vec<u8>> = self.with_conn(|c| c.scan_match::<_, Vec<u8>>(&pattern)?.collect())?;
        let mut pairs = Vec::new();
        for name in names {
            // A key name that is not UTF-8 cannot be resque-retry's: its class is text.
            let Ok(failure_key) = String::from_utf8(name) else { continue };
            let Some(counter_key) = keys.retry_counter_of_failure(&failure_key) else { continue };
            pairs.push((failure_key, counter_key));
        }
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (failure_key, counter_key) in &pairs {
            pipe.get(failure_key).get(counter_key);
        }
        let values: Vec<KeptValues> = self.with_conn(|c| pipe.query(c))?;
        let mut kept = Vec::new();
        for ((failure_key, counter_key), (raw, counter)) in pairs.into_iter().zip(values) {
            // Expired between the scan and the read.
            let Some(raw) = raw else { continue };
            let failure = Failure::from_bytes(&raw);
            let class = failure.payload.get("class").and_then(Value::as_str).map(str::to_string);
            let (Some(class), Some(queue)) = (class, failure.queue.clone()) else {
                tracing::debug!(key = %failure_key, "a kept failure names no class or queue; skipped");
                continue;
            };
            let args = failure.payload.get("args").cloned().unwrap_or_else(|| Value::Array(Vec::new()));
            let counter =
                counter.and_then(|c| String::from_utf8(c).ok()).and_then(|c| c.trim().parse::<i64>().ok());
            kept.push(Kept { failure_key, counter_key, class, queue, args, failure, counter });
        }
        Ok(kept)
    }
}

/// The kept failure a delayed item is the retry of, if any.
fn matching<'a>(by_job: &HashMap<MatchKey, &'a Kept>, item: &[u8]) -> Option<&'a Kept> {
    let job = parse_or_text(item.to_vec());
    let class = job.get("class")?.as_str()?;
    let queue = job.get("queue")?.as_str()?;
    let args = job.get("args").cloned().unwrap_or_else(|| Value::Array(Vec::new()));
    by_job.get(&match_key(class, queue, &args)).copied()
}

fn pending(at: i64, item: Vec<u8>, kept: &Kept) -> PendingRetry {
    let retry_limit =
        crate::registry::linked(&kept.class).and_then(|entry| entry.retry).and_then(|p| p.retry_limit());
    PendingRetry {
        at,
        queue: kept.queue.clone(),
        class: kept.class.clone(),
        args: kept.args.clone(),
        item,
        attempt: kept.counter.map(|c| u64::try_from(c.saturating_add(1)).unwrap_or(0)),
        retry_limit,
        failure: Some(kept.failure.clone()),
        failure_key: kept.failure_key.clone(),
        counter_key: kept.counter_key.clone(),
    }
}

/// The failure entry that stands for a cancelled retry whose kept failure
/// expired: its payload is the job's (the item without `queue`).
fn cancelled_entry(retry: &PendingRetry) -> String {
    let due = DueJob::from_item(&retry.item);
    let job = match &due {
        Some(due) => due.payload.as_bytes(),
        None => retry.item.as_slice(),
    };
    let error = match retry.attempt {
        Some(n) => format!("the retry was cancelled after {n} attempts; the failure it kept had expired"),
        None => "the retry was cancelled; the failure it kept had expired".to_string(),
    };
    NewFailure {
        failed_at: payload::time::failed_at(jiff::Timestamp::now()),
        payload: FailedPayload::of(job),
        exception: exception::RETRY_CANCELLED,
        error: &error,
        backtrace: &[],
        worker: "",
        queue: &retry.queue,
        raw_queue: None,
        attempts: retry.attempt.and_then(|n| u32::try_from(n).ok()),
    }
    .to_json()
}

#[cfg(test)]
mod tests;
