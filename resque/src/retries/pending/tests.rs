//! Waiting retries against a real redis-server, with the keys written by
//! hand as Ruby's resque-retry and resque-scheduler write them.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::registry::JobEntry;
use crate::retry::RetryPolicy;
use crate::test_redis::TestRedis;

const AT: i64 = 4_102_444_800; // 2100-01-01, always ahead

/// SHA-1("9"): resque-retry's identifier of the args [9].
const ID9: &str = "0ade7c2cf97f75d009975f4d720d1fa6c19f4897";

/// Ruby's `Resque.enqueue_in_with_queue("rq", delay, Doomed, 9)`: the item
/// `encode(job_to_hash_with_queue("rq", Doomed, [9]))`.
const RUBY_ITEM: &str = r#"{"class":"Doomed","args":[9],"queue":"rq"}"#;

/// The failure MultipleWithRetrySuppression keeps: `Resque.encode(data)`,
/// members failed_at, payload, exception, error, backtrace, worker, queue.
const RUBY_FAILURE: &str = concat!(
    r#"{"failed_at":"2026/12/02 04:00:00 UTC","payload":{"class":"Doomed","args":[9]},"#,
    r#""exception":"RuntimeError","error":"boom","backtrace":["doomed.rb:3:in `perform'"],"#,
    r#""worker":"web1:4211:rq","queue":"rq"}"#
);

/// Writes a delayed item by hand, as resque-scheduler's `delayed_push` does.
fn push_delayed(redis: &mut TestRedis, at: i64, item: &str) {
    redis.exec(&["RPUSH", &format!("resque:delayed:{at}"), item]);
    redis.exec(&["SADD", &format!("resque:timestamps:{item}"), &format!("delayed:{at}")]);
    redis.exec(&["ZADD", "resque:delayed_queue_schedule", &at.to_string(), &at.to_string()]);
}

/// A retry of Doomed [9] as Ruby's resque-retry leaves it after the second
/// run failed: counter 1 (retry_attempt), the failure kept for 2 × 60 s.
fn ruby_retry(redis: &mut TestRedis) {
    push_delayed(redis, AT, RUBY_ITEM);
    redis.exec(&["SET", &format!("resque:resque-retry:Doomed:{ID9}"), "1"]);
    redis.exec(&["SETEX", &format!("resque:failure-resque-retry:Doomed:{ID9}"), "120", RUBY_FAILURE]);
}

#[test]
fn a_retry_ruby_left_waiting_is_found_with_its_attempt_and_failure() {
    let (mut redis, client) = TestRedis::start_with_client();
    ruby_retry(&mut redis);
    // Not retries: another job delayed, and a kept failure whose retry already ran.
    push_delayed(&mut redis, AT - 10, r#"{"class":"Doomed","args":[10],"queue":"rq"}"#);
    redis.exec(&[
        "SETEX",
        "resque:failure-resque-retry:Gone",
        "120",
        r#"{"payload":{"class":"Gone","args":[]},"queue":"rq"}"#,
    ]);

    let found = client.pending_retries().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let retry = &found[0];
    assert_eq!((retry.at, retry.queue.as_str(), retry.class.as_str()), (AT, "rq", "Doomed"));
    assert_eq!(retry.args, json!([9]));
    assert_eq!(retry.item, RUBY_ITEM.as_bytes());
    assert_eq!(retry.attempt, Some(2));
    assert_eq!(retry.retry_limit, None, "Doomed is not linked here");
    assert_eq!(retry.counter_key, format!("resque:resque-retry:Doomed:{ID9}"));
    assert_eq!(retry.failure_key, format!("resque:failure-resque-retry:Doomed:{ID9}"));
    let failure = retry.failure.as_ref().unwrap();
    assert_eq!(failure.worker.as_deref(), Some("web1:4211:rq"));
    assert_eq!(retry.last_error().as_deref(), Some("RuntimeError: boom"));
    assert_eq!(client.find_pending_retry(&retry.id()).unwrap().as_ref(), Some(retry));
    assert_eq!(client.find_pending_retry("000000000000").unwrap(), None);
}

#[test]
fn a_workers_item_matches_by_class_args_and_queue_not_bytes() {
    let (mut redis, client) = TestRedis::start_with_client();
    // The raw payload with "queue" appended: its own spacing and an extra member.
    let item = r#"{"class":"Doomed","args":[ 9 ],"id":"j1","queue":"rq"}"#;
    push_delayed(&mut redis, AT + 5, item);
    redis.exec(&["SETEX", &format!("resque:failure-resque-retry:Doomed:{ID9}"), "120", RUBY_FAILURE]);
    // Same class and args on another queue: not this retry.
    push_delayed(&mut redis, AT, r#"{"class":"Doomed","args":[9],"queue":"other"}"#);

    let found = client.pending_retries().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].at, found[0].item.as_slice()), (AT + 5, item.as_bytes()));
    assert_eq!(found[0].attempt, None, "no counter");
}

#[test]
fn nothing_is_read_from_the_schedule_without_kept_failures() {
    let (mut redis, client) = TestRedis::start_with_client();
    push_delayed(&mut redis, AT, RUBY_ITEM);
    assert_eq!(client.pending_retries().unwrap(), []);
}

fn ok(_: Vec<Value>) -> std::result::Result<(), crate::JobFailure> {
    Ok(())
}

// linkme places the entry in a link section, which the lint calls unsafe.
#[allow(unsafe_code)]
#[linkme::distributed_slice(crate::registry::JOBS)]
static LINKED_RETRY: JobEntry = JobEntry {
    class: "PendingRetryLinked",
    queue: "rq",
    function: "pending_retry_linked",
    module_path: module_path!(),
    file: file!(),
    line: line!(),
    params: &["n"],
    perform: ok,
    check_args: ok,
    timeout: None,
    hooks: crate::hooks::JobHooks::NONE,
    schedule: None,
    retry: Some(RetryPolicy::new().limit(4).delay(Duration::from_secs(60))),
};

#[test]
fn a_linked_jobs_limit_is_shown() {
    let (mut redis, client) = TestRedis::start_with_client();
    push_delayed(&mut redis, AT, r#"{"class":"PendingRetryLinked","args":[9],"queue":"rq"}"#);
    let failure = RUBY_FAILURE.replace("Doomed", "PendingRetryLinked");
    redis.exec(&["SETEX", &format!("resque:failure-resque-retry:PendingRetryLinked:{ID9}"), "120", &failure]);
    redis.exec(&["SET", &format!("resque:resque-retry:PendingRetryLinked:{ID9}"), "0"]);
    let found = client.pending_retries().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].attempt, found[0].retry_limit, found[0].max_attempts()),
        (Some(1), Some(4), Some(5))
    );
}

#[test]
fn retry_now_moves_the_item_to_its_queue_and_keeps_the_counter() {
    let (mut redis, client) = TestRedis::start_with_client();
    ruby_retry(&mut redis);
    let retry = client.pending_retries().unwrap().remove(0);
    assert!(client.retry_now(&retry).unwrap());
    assert_eq!(redis.texts("resque:queue:rq"), [r#"{"class":"Doomed","args":[9]}"#]);
    assert!(redis.members("resque:queues").contains("rq".as_bytes()));
    let keys = redis.keys();
    assert!(!keys.contains(&format!("resque:delayed:{AT}")), "{keys:?}");
    assert!(!keys.contains(&format!("resque:timestamps:{RUBY_ITEM}")), "{keys:?}");
    assert!(!keys.contains("resque:delayed_queue_schedule"), "{keys:?}");
    assert_eq!(redis.text(&retry.counter_key).as_deref(), Some("1"));
    assert_eq!(redis.text(&retry.failure_key).as_deref(), Some(RUBY_FAILURE));
    // Queued already: a second press does nothing.
    assert!(!client.retry_now(&retry).unwrap());
    assert_eq!(redis.texts("resque:queue:rq").len(), 1);
    assert_eq!(client.pending_retries().unwrap(), []);
}

#[test]
fn cancel_moves_the_kept_failure_to_failed_and_drops_the_keys() {
    let (mut redis, client) = TestRedis::start_with_client();
    ruby_retry(&mut redis);
    // Another job in the same second stays.
    push_delayed(&mut redis, AT, r#"{"class":"Other","args":[],"queue":"rq"}"#);
    let retry = client.pending_retries().unwrap().remove(0);
    assert_eq!(client.cancel_retry(&retry).unwrap(), RetryCancelled::FailureKept);
    assert_eq!(redis.texts("resque:failed"), [RUBY_FAILURE]);
    assert_eq!(redis.texts(format!("resque:delayed:{AT}")), [r#"{"class":"Other","args":[],"queue":"rq"}"#]);
    let keys = redis.keys();
    for gone in [&retry.counter_key, &retry.failure_key, &format!("resque:timestamps:{RUBY_ITEM}")] {
        assert!(!keys.contains(gone), "{gone} in {keys:?}");
    }
    assert!(keys.contains("resque:delayed_queue_schedule"));
    assert_eq!(client.cancel_retry(&retry).unwrap(), RetryCancelled::Gone);
    assert_eq!(redis.texts("resque:failed").len(), 1);
}

#[test]
fn cancel_after_the_failure_expired_writes_a_cancellation_entry() {
    let (mut redis, client) = TestRedis::start_with_client();
    ruby_retry(&mut redis);
    let retry = client.pending_retries().unwrap().remove(0);
    redis.exec(&["DEL", &retry.failure_key]);
    assert_eq!(client.cancel_retry(&retry).unwrap(), RetryCancelled::FailureExpired);
    let failed = redis.list("resque:failed");
    assert_eq!(failed.len(), 1);
    let entry = Failure::from_bytes(&failed[0]);
    assert_eq!(entry.exception.as_deref(), Some(exception::RETRY_CANCELLED));
    assert_eq!(entry.payload, json!({"class": "Doomed", "args": [9]}));
    assert_eq!((entry.queue.as_deref(), entry.attempts), (Some("rq"), Some(2)));
    assert!(entry.error.unwrap_or_default().contains("after 2 attempts"));
    assert!(!redis.keys().contains(&retry.counter_key));
    assert!(!redis.keys().contains("resque:delayed_queue_schedule"));
}
