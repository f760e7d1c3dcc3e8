//! `step.lua` against a real Redis, through [`step_command`]: the finish
//! and the record of the job that starts (the take is in `take.rs`).

mod retry;
mod take;

use std::collections::BTreeSet;

use jiff::Timestamp;
use redis::Value;

use super::*;
use crate::retries::RetryFinish;
use crate::test_redis::*;
use crate::FailureDestination::{Redis, RedisMultiQueue};

const FAILURE: &str = r#"{"exception":"RuntimeError"}"#;

fn taken(queue: &str, payload: &str) -> Taken {
    let entry = inflight_entry(queue, payload).into_bytes();
    Taken { queue: queue.into(), raw_queue: None, raw: payload.into(), entry }
}

/// A job that ran, its entry in `INFLIGHT`.
fn in_flight(r: &mut TestRedis, queue: &str, payload: &str, failure: Option<&str>) -> Ran {
    in_flight_retried(r, queue, payload, failure, None)
}

/// [`in_flight`], with a retry part.
fn in_flight_retried(
    r: &mut TestRedis,
    queue: &str,
    payload: &str,
    failure: Option<&str>,
    retry: Option<RetryFinish>,
) -> Ran {
    let ran = Ran::new(taken(queue, payload), failure.map(str::to_string), retry);
    r.query::<()>(redis::cmd("RPUSH").arg(INFLIGHT).arg(&ran.taken.entry));
    ran
}

fn a_step<'a>(
    finish: Option<&'a Ran>,
    start: Option<&'a Taken>,
    take: usize,
    queues: &'a Queues,
) -> Step<'a> {
    Step { finish, start, take, start_first: false, queues }
}

/// The command of `step` as the worker `ID` sends it.
fn command(
    client: &Client,
    step: &Step<'_>,
    destinations: &[FailureDestination],
    failed_max: Option<u64>,
) -> redis::Cmd {
    step_command(client, &StepKeys::new(client, ID), step, destinations, failed_max)
}

/// Runs `step` as the worker `ID` does, returning the script's reply.
fn run(r: &mut TestRedis, client: &Client, step: &Step<'_>, destinations: &[FailureDestination]) -> Value {
    let command = command(client, step, destinations, None);
    script::run(&STEP, &command, r.conn()).expect("the step runs")
}

/// Asserts that `record` is exactly `{"queue":<queue_json>,"run_at":"...","payload":<payload>}`
/// with a `run_at` of the last minute.
fn assert_record(record: &[u8], queue_json: &str, payload: &str) {
    let text = std::str::from_utf8(record).expect("a record is UTF-8");
    let parsed: serde_json::Value = serde_json::from_str(text).expect("a record is JSON");
    let run_at = parsed["run_at"].as_str().expect("run_at is a string");
    assert_eq!(text, format!(r#"{{"queue":{queue_json},"run_at":"{run_at}","payload":{payload}}}"#));
    let at: Timestamp = run_at.parse().expect("run_at is ISO-8601");
    let age = Timestamp::now().duration_since(at).as_secs();
    assert!((0..60).contains(&age), "run_at {run_at} is not now");
}

#[test]
fn a_finish_whose_entry_is_gone_counts_nothing() {
    let (mut r, client) = TestRedis::start_with_client();
    let other = inflight_entry("q", P2);
    r.exec(&["RPUSH", INFLIGHT, &other]);
    r.exec(&["HSET", RECOVERIES, &sha1_hex(P1), "2"]);
    r.exec(&["SET", WORKER, "a record"]);
    let ran = Ran::new(taken("q", P1), Some(FAILURE.into()), None);
    let reply = run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis, RedisMultiQueue]);
    assert_eq!(reply, Value::Array(vec![int(0)]));
    assert_eq!(r.texts(INFLIGHT), [other]);
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P1), "2")]));
    // The record goes with any finish, counted or not: a retry of a step
    // whose reply was lost deletes it again.
    assert_eq!(r.keys(), keys(&[INFLIGHT, RECOVERIES]));
}

#[test]
fn a_finish_counts_processed_and_forgets_its_recoveries() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = Ran::new(taken("q", P1), None, None);
    let other = inflight_entry("q", P2);
    r.exec(&["RPUSH", INFLIGHT, &other, std::str::from_utf8(&ran.taken.entry).unwrap(), &other]);
    r.exec(&["HSET", RECOVERIES, &sha1_hex(P1), "2", &sha1_hex(P2), "1"]);
    r.exec(&["SET", WORKER, "a record"]);
    r.exec(&["SET", PROCESSED, "41"]);
    let reply = run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(1)]));
    // One entry removed, the others kept.
    assert_eq!(r.texts(INFLIGHT), [other.clone(), other]);
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P2), "1")]));
    assert_eq!(r.text(PROCESSED).as_deref(), Some("42"));
    assert_eq!(r.text(WORKER_PROCESSED).as_deref(), Some("1"));
    assert_eq!(r.keys(), keys(&[INFLIGHT, RECOVERIES, PROCESSED, WORKER_PROCESSED]));
}

#[test]
fn a_finish_without_recoveries_leaves_the_hash_absent() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = in_flight(&mut r, "q", P1, None);
    let reply = run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(1)]));
    assert_eq!(r.keys(), keys(&[PROCESSED, WORKER_PROCESSED]));
    assert_eq!(r.text(PROCESSED).as_deref(), Some("1"));
}

#[test]
fn a_finish_removes_the_last_recoveries_field() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = in_flight(&mut r, "q", P1, None);
    r.exec(&["HSET", RECOVERIES, &sha1_hex(P1), "1"]);
    run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis]);
    assert_eq!(r.keys(), keys(&[PROCESSED, WORKER_PROCESSED]));
}

#[test]
fn a_failure_goes_to_the_failed_list_and_is_counted() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = in_flight(&mut r, "q", P1, Some(FAILURE));
    r.exec(&["RPUSH", FAILED_LIST, "an older failure"]);
    r.exec(&["SET", FAILED, "7"]);
    let reply = run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(1)]));
    assert_eq!(r.texts(FAILED_LIST), ["an older failure", FAILURE]);
    assert_eq!(r.text(FAILED).as_deref(), Some("8"));
    assert_eq!(r.text(WORKER_FAILED).as_deref(), Some("1"));
    assert_eq!(r.text(PROCESSED).as_deref(), Some("1"));
    assert_eq!(r.text(WORKER_PROCESSED).as_deref(), Some("1"));
    assert_eq!(r.keys(), keys(&[FAILED_LIST, FAILED, WORKER_FAILED, PROCESSED, WORKER_PROCESSED]));
}

#[test]
fn a_failure_goes_to_two_lists_and_names_the_queue_list() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = in_flight(&mut r, "mail", P1, Some(FAILURE));
    let reply = run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis, RedisMultiQueue]);
    assert_eq!(reply, Value::Array(vec![int(1)]));
    assert_eq!(r.texts(FAILED_LIST), [FAILURE]);
    assert_eq!(r.texts("resque:mail_failed"), [FAILURE]);
    assert_eq!(r.members("resque:failed_queues"), BTreeSet::from([b"mail_failed".to_vec()]));
    assert_eq!(r.text(FAILED).as_deref(), Some("1"));
    assert_eq!(r.text(WORKER_FAILED).as_deref(), Some("1"));
    let all = [FAILED_LIST, "resque:mail_failed", "resque:failed_queues", FAILED, WORKER_FAILED];
    let mut expected = keys(&all);
    expected.extend(keys(&[PROCESSED, WORKER_PROCESSED]));
    assert_eq!(r.keys(), expected);
}

#[test]
fn a_job_that_starts_gets_its_record_after_the_finish() {
    let (mut r, client) = TestRedis::start_with_client();
    let ran = Ran::new(taken("q", P1), None, None);
    let next = taken("q", P2);
    r.query::<()>(redis::cmd("RPUSH").arg(INFLIGHT).arg(&ran.taken.entry).arg(&next.entry));
    r.exec(&["SET", WORKER, "the record of the job that ran"]);
    let reply = run(&mut r, &client, &a_step(Some(&ran), Some(&next), 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(1)]));
    assert_record(&r.get(WORKER).expect("a record"), r#""q""#, P2);
    assert_eq!(r.list(INFLIGHT), [next.entry]);
    assert_eq!(r.keys(), keys(&[INFLIGHT, WORKER, PROCESSED, WORKER_PROCESSED]));
}

#[test]
fn a_job_that_starts_with_no_finish_gets_its_record() {
    let (mut r, client) = TestRedis::start_with_client();
    let next = taken("q", P2);
    let reply = run(&mut r, &client, &a_step(None, Some(&next), 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(0)]));
    assert_record(&r.get(WORKER).expect("a record"), r#""q""#, P2);
    assert_eq!(r.keys(), keys(&[WORKER]));
}

#[test]
fn a_start_whose_payload_is_not_json_has_no_record() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["SET", WORKER, "the record of the job that ran"]);
    let next = taken("q", "not json");
    // With no finish the record is left as it is.
    let reply = run(&mut r, &client, &a_step(None, Some(&next), 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(0)]));
    assert_eq!(r.get(WORKER), Some(b"the record of the job that ran".to_vec()));
    // After a finish it is deleted.
    let ran = in_flight(&mut r, "q", P1, None);
    let reply = run(&mut r, &client, &a_step(Some(&ran), Some(&next), 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(1)]));
    assert_eq!(r.keys(), keys(&[PROCESSED, WORKER_PROCESSED]));
}

#[test]
fn a_step_of_nothing_changes_nothing() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["SET", WORKER, "a record"]);
    let reply = run(&mut r, &client, &a_step(None, None, 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(0)]));
    assert!(matches!(parse_took(reply, &Queues::NONE), Ok(Took::Empty)));
    assert_eq!(r.keys(), keys(&[WORKER]));
    assert_eq!(r.get(WORKER), Some(b"a record".to_vec()));
}

/// How often `needle` occurs in `haystack`.
fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

#[test]
fn a_finish_sends_the_payload_only_inside_its_entry() {
    let (_r, client) = TestRedis::start_with_client();
    let payload = r#"{"class":"A","args":["a-rather-distinctive-argument"]}"#;
    let ran = Ran::new(taken("q", payload), None, None);
    let command = command(&client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[], None);
    let packed = command.get_packed_command();
    // Once, in the in-flight entry to remove; the SHA-1 stands for it elsewhere.
    assert_eq!(occurrences(&packed, b"a-rather-distinctive-argument"), 1);
    assert_eq!(occurrences(&packed, sha1_hex(payload).as_bytes()), 1);
}

#[test]
fn a_finish_forgets_the_recoveries_of_a_payload_that_is_not_utf8() {
    let (mut r, client) = TestRedis::start_with_client();
    let raw = b"{\"class\":\"A\",\"args\":[\"\xff\xfe\"]}".to_vec();
    let entry = b"an entry for bytes".to_vec();
    r.query::<()>(redis::cmd("RPUSH").arg(INFLIGHT).arg(&entry));
    r.query::<()>(redis::cmd("HSET").arg(RECOVERIES).arg(sha1_hex(&raw)).arg(1).arg(sha1_hex(P2)).arg(3));
    let taken = Taken { queue: "q".into(), raw_queue: None, raw, entry };
    let ran = Ran::new(taken, None, None);
    let reply = run(&mut r, &client, &a_step(Some(&ran), None, 0, &Queues::NONE), &[Redis]);
    assert_eq!(reply, Value::Array(vec![int(1)]));
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P2), "3")]));
}

#[test]
fn a_job_that_ran_keeps_its_payload_only_for_a_retry_now() {
    let ran = Ran::new(taken("q", P1), Some(FAILURE.into()), None);
    assert!(ran.taken.raw.is_empty(), "only its SHA-1 is needed");
    assert_eq!(ran.payload_sha1, sha1_hex(P1));
    assert_eq!(ran.taken.entry, inflight_entry("q", P1).into_bytes());
}
