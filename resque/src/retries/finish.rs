//! What finishing a run of a job with a retry policy does about its retry,
//! in the same script that records the run (the worker's step), so that a
//! run is recorded, retried or given up exactly once:
//!
//! - `clear` (it succeeded, or the policy gave up): `DEL` the counter and
//!   the kept failure (resque-retry's `clean_retry_key` and
//!   `cleanup_retry_failure_log!`);
//! - `now` (a retry without delay): `RPUSH queue:<q>` of the payload, `SADD
//!   queues`, as resque-retry's `Resque.enqueue_to`;
//! - `later` (a retry after a delay): the delayed item in resque-scheduler's
//!   three keys, as `enqueue_in_with_queue`, and the run's failure kept at
//!   `failure-resque-retry:<...>` for twice the delay (as
//!   `MultipleWithRetrySuppression`).
//!
//! Both retries refresh the counter's expiry and count in `stat:retried`.

use std::time::{Duration, SystemTime};

use super::Attempt;
use crate::client::DueAt;
use crate::keys::Keys;
use crate::payload;
use crate::retry::{RetryDecision, RetryPolicy};

/// What the finishing step does about a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Then {
    /// Delete the counter and the kept failure.
    Clear,
    /// Push the payload again to its queue now.
    Now,
    /// Push it as a delayed item due at a Unix second.
    Later { at: i64, item: String },
}

/// The retry part of finishing a run (see the module's text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryFinish {
    pub(crate) attempt: Attempt,
    pub(crate) then: Then,
    /// Seconds the counter lives on after a retry is pushed.
    pub(crate) counter_ttl: u64,
    /// The failure entry kept while a delayed retry waits, and for how long.
    pub(crate) kept: Option<(String, u64)>,
}

/// The outcome of deciding: the retry part, and whether the failure goes
/// to the failed lists as well.
#[derive(Debug)]
pub(crate) struct Decided {
    pub(crate) finish: RetryFinish,
    /// The failure is recorded in the failed lists (it gave up, or every
    /// failure is recorded).
    pub(crate) record: bool,
}

/// Decides a run's retry part: `failure` is the run's failure entry (JSON)
/// and its decision input, `None` when it succeeded. `raw` is the payload
/// as taken, `queue` the queue's text name (the item's `queue`).
pub(crate) fn decide(
    policy: &RetryPolicy,
    attempt: Attempt,
    failure: Option<(&crate::job_failure::JobFailure, &str)>,
    raw: &[u8],
    queue: &str,
    record_every_failure: bool,
) -> Decided {
    let clear = |attempt| RetryFinish { attempt, then: Then::Clear, counter_ttl: 0, kept: None };
    let Some((failure, entry)) = failure else {
        return Decided { finish: clear(attempt), record: false };
    };
    let delay = match policy.decide(failure, attempt.number) {
        RetryDecision::GiveUp => return Decided { finish: clear(attempt), record: true },
        RetryDecision::Retry(delay) => delay,
    };
    let counter_ttl = (delay + policy.counter_expiry()).as_secs().max(1);
    let item = if delay.is_zero() { None } else { delayed_item(raw, queue) };
    let then = match item {
        None => Then::Now,
        Some(item) => {
            let now = SystemTime::now();
            Then::Later { at: due_second(now, now + delay), item }
        }
    };
    let kept = match then {
        Then::Later { .. } => Some((entry.to_string(), kept_for(delay))),
        _ => None,
    };
    Decided { finish: RetryFinish { attempt, then, counter_ttl, kept }, record: record_every_failure }
}

/// The whole second nearest to `moment`, and later than the second `now`
/// is in: delayed jobs are due at whole seconds (resque-scheduler's
/// layout), so a retry runs within half a second of its delay (Ruby's
/// `enqueue_in` truncates: up to a second early), and never in the second
/// that failed.
fn due_second(now: SystemTime, moment: SystemTime) -> i64 {
    let whole = moment.unix_second();
    let past_half =
        moment.duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_millis() >= 500).unwrap_or(false);
    (whole + i64::from(past_half)).max(now.unix_second() + 1)
}

/// MultipleWithRetrySuppression's `SETEX failure_key, 2*retry_delay`.
fn kept_for(delay: Duration) -> u64 {
    (delay.as_secs_f64() * 2.0).ceil().max(1.0) as u64
}

/// The delayed item of a retry: the payload as taken with `"queue"` added
/// last (what the scheduler strips again, every other member kept byte
/// for byte); `None` when the payload is no JSON object or names a queue
/// already, in which case the retry is pushed now.
fn delayed_item(raw: &[u8], queue: &str) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    if members.contains_key("queue") {
        return None;
    }
    let body = text.trim_end().strip_suffix('}')?.trim_end();
    let separator = if members.is_empty() { "" } else { "," };
    let item = format!("{body}{separator}\"queue\":{}}}", serde_json::to_string(queue).ok()?);
    payload::DueJob::from_item(item.as_bytes()).filter(|due| due.queue == queue).map(|_| item)
}

impl RetryFinish {
    /// The step's keys for it, in order (see `worker/step.lua`).
    pub(crate) fn keys(&self, keys: &Keys, queue: &[u8]) -> Vec<Vec<u8>> {
        let mut out =
            vec![self.attempt.counter.clone().into_bytes(), self.attempt.failure_key.clone().into_bytes()];
        match &self.then {
            Then::Clear => {}
            Then::Now => {
                out.push(keys.queue_of_bytes(queue));
                out.push(keys.queues().into_bytes());
            }
            Then::Later { at, item } => {
                out.push(keys.delayed_at(*at).into_bytes());
                out.push(keys.timestamps_of(item.as_bytes()));
                out.push(keys.delayed_schedule().into_bytes());
            }
        }
        out
    }

    /// Whether the retry pushes the payload back to its queue at once (so
    /// the finishing step needs the payload itself).
    pub(crate) fn pushes_now(&self) -> bool {
        matches!(self.then, Then::Now)
    }

    /// The step's `retry` argument: the mode.
    pub(crate) fn mode(&self) -> &'static str {
        match self.then {
            Then::Clear => "clear",
            Then::Now => "now",
            Then::Later { .. } => "later",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job_failure::JobFailure;

    fn attempt(number: u32) -> Attempt {
        Attempt {
            number,
            counter: "resque:resque-retry:Doomed:x".into(),
            failure_key: "resque:failure-resque-retry:Doomed:x".into(),
        }
    }

    #[test]
    fn the_delayed_item_is_the_payload_with_its_queue_last() {
        assert_eq!(
            delayed_item(br#"{"class":"Doomed","args":[9]}"#, "rq").as_deref(),
            Some(r#"{"class":"Doomed","args":[9],"queue":"rq"}"#)
        );
        // other members stay, byte for byte
        assert_eq!(
            delayed_item(br#"{"class":"A","args":[1.50],"id":"x"}"#, "q\"1").as_deref(),
            Some(r#"{"class":"A","args":[1.50],"id":"x","queue":"q\"1"}"#)
        );
        // a payload that names a queue, or is no object: pushed now
        assert_eq!(delayed_item(br#"{"class":"A","args":[],"queue":"x"}"#, "q"), None);
        assert_eq!(delayed_item(b"[1]", "q"), None);
        assert_eq!(delayed_item(b"\xff", "q"), None);
    }

    #[test]
    fn a_retry_is_due_at_the_second_nearest_its_delay() {
        let t = |secs: u64, millis: u32| std::time::UNIX_EPOCH + Duration::new(secs, millis * 1_000_000);
        // failed at 99.003 with a delay of 1 s: due at 100 (997 ms later)
        assert_eq!(due_second(t(99, 3), t(100, 3)), 100);
        // failed at 99.909: due at 101 (1,091 ms later), not at 100 (91 ms)
        assert_eq!(due_second(t(99, 909), t(100, 909)), 101);
        // a delay under a second is never due in the second that failed
        assert_eq!(due_second(t(99, 100), t(99, 400)), 100);
    }

    #[test]
    fn decisions_become_the_steps_retry_part() {
        let policy = RetryPolicy::new()
            .limit(2)
            .delay(Duration::from_secs(5))
            .expire_key_after(Duration::from_secs(10));
        let f = JobFailure::new("E", "boom");
        let raw = br#"{"class":"Doomed","args":[9]}"#;
        let ok = decide(&policy, attempt(1), None, raw, "rq", false);
        assert_eq!((ok.finish.then, ok.record), (Then::Clear, false));
        let later = decide(&policy, attempt(1), Some((&f, "{entry}")), raw, "rq", false);
        assert!(!later.record);
        assert_eq!(later.finish.counter_ttl, 15);
        assert_eq!(later.finish.kept, Some(("{entry}".to_string(), 10)));
        let Then::Later { at, item } = &later.finish.then else { panic!("{:?}", later.finish.then) };
        assert_eq!(item, r#"{"class":"Doomed","args":[9],"queue":"rq"}"#);
        let now = SystemTime::now().unix_second();
        assert!((now + 4..=now + 6).contains(at), "{at} vs {now}");
        assert_eq!(later.finish.mode(), "later");
        // every failure recorded, on request
        assert!(decide(&policy, attempt(1), Some((&f, "{}")), raw, "rq", true).record);
        // the last attempt gives up: recorded, counter cleared
        let gave_up = decide(&policy, attempt(3), Some((&f, "{}")), raw, "rq", false);
        assert_eq!((gave_up.finish.then, gave_up.record), (Then::Clear, true));
        // no delay: pushed now, nothing kept
        let at_once = decide(&RetryPolicy::new(), attempt(1), Some((&f, "{}")), raw, "rq", false);
        assert_eq!((at_once.finish.then, at_once.finish.kept), (Then::Now, None));
    }
}
