//! `recover.lua` against a real Redis, through the functions that put
//! in-flight jobs back (`unregister_dead.lua` is in `unregister_dead.rs`).

mod unregister_dead;

use std::collections::BTreeSet;

use super::*;
use crate::test_redis::*;
use crate::FailureDestination::{Log, Redis, RedisMultiQueue};

/// A server, a client, and a subscriber to the wake channel.
fn watched() -> (TestRedis, Client, Subscriber) {
    let (r, client) = TestRedis::start_with_client();
    let wake = r.subscribe("resque:wake");
    (r, client, wake)
}

fn requeued(n: usize) -> Recovered {
    Recovered { requeued: n, ..Recovered::default() }
}

#[test]
fn own_jobs_go_back_to_the_head_of_their_queues_and_wake_workers() {
    let (mut r, client, mut wake) = watched();
    r.exec(&[
        "RPUSH",
        INFLIGHT,
        &inflight_entry("q", P1),
        &inflight_entry("q", P2),
        &inflight_entry("r", P3),
    ]);
    r.exec(&["RPUSH", "resque:queue:q", "p0"]);
    // A live worker's own list: its registration does not hold it.
    r.exec(&["SADD", WORKERS, ID]);
    r.exec(&["SET", WORKER, "a record"]);
    assert_eq!(recover_inflight(&client, ID, &[Redis]).unwrap(), requeued(3));
    assert_eq!(r.texts("resque:queue:q"), [P1, P2, "p0"]);
    assert_eq!(r.texts("resque:queue:r"), [P3]);
    assert_eq!(r.members(QUEUES), BTreeSet::from([b"q".to_vec(), b"r".to_vec()]));
    let counted = fields(&[(&sha1_hex(P1), "1"), (&sha1_hex(P2), "1"), (&sha1_hex(P3), "1")]);
    assert_eq!(r.hash(RECOVERIES), counted);
    assert_eq!(wake.messages(), ["r", "q", "q"]);
    let expected = keys(&["resque:queue:q", "resque:queue:r", QUEUES, RECOVERIES, WORKERS, WORKER]);
    assert_eq!(r.keys(), expected);
}

#[test]
fn an_entry_already_gone_is_left_alone() {
    let (mut r, client, mut wake) = watched();
    let kept = inflight_entry("q", P2);
    r.exec(&["RPUSH", INFLIGHT, &kept]);
    let gone = inflight_entry("q", P1);
    let done = return_entries(&client, ID, [gone.as_bytes()].into_iter()).unwrap();
    assert_eq!(done, Recovered::default());
    assert_eq!(r.texts(INFLIGHT), [kept]);
    assert_eq!(wake.messages(), Vec::<String>::new());
    assert_eq!(r.keys(), keys(&[INFLIGHT]));
}

#[test]
fn an_orphan_whose_owner_is_registered_is_left_alone() {
    let (mut r, client) = TestRedis::start_with_client();
    let entries = [inflight_entry("q", P1), inflight_entry("q", P2)];
    r.exec(&["RPUSH", INFLIGHT, &entries[0], &entries[1]]);
    r.exec(&["SADD", WORKERS, ID]);
    let done = recover_orphaned(&client, ID.as_bytes(), &[Redis], Some(entries[0].as_bytes())).unwrap();
    assert_eq!(done, Recovered::default());
    assert_eq!(r.texts(INFLIGHT), entries);
    assert_eq!(r.keys(), keys(&[INFLIGHT, WORKERS]));
}

#[test]
fn an_orphan_whose_owner_records_a_job_is_left_alone() {
    let (mut r, client) = TestRedis::start_with_client();
    let entries = [inflight_entry("q", P1), inflight_entry("q", P2)];
    r.exec(&["RPUSH", INFLIGHT, &entries[0], &entries[1]]);
    r.exec(&["SADD", WORKERS, "another:1:q"]);
    r.exec(&["SET", WORKER, "a record"]);
    let done = recover_orphaned(&client, ID.as_bytes(), &[Redis], None).unwrap();
    assert_eq!(done, Recovered::default());
    assert_eq!(r.texts(INFLIGHT), entries);
    assert_eq!(r.keys(), keys(&[INFLIGHT, WORKERS, WORKER]));
}

#[test]
fn an_orphan_of_a_gone_worker_is_put_back_counted() {
    let (mut r, client, mut wake) = watched();
    r.exec(&["RPUSH", INFLIGHT, &inflight_entry("q", P1)]);
    r.exec(&["SADD", WORKERS, "another:1:q"]);
    let done = recover_orphaned(&client, ID.as_bytes(), &[Redis], None).unwrap();
    assert_eq!(done, requeued(1));
    assert_eq!(r.texts("resque:queue:q"), [P1]);
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P1), "1")]));
    assert_eq!(wake.messages(), ["q"]);
    assert_eq!(r.keys(), keys(&["resque:queue:q", QUEUES, RECOVERIES, WORKERS]));
}

#[test]
fn a_job_failed_elsewhere_is_dropped_and_forgotten() {
    let (mut r, client) = TestRedis::start_with_client();
    let entries = [inflight_entry("q", P1), inflight_entry("q", P2)];
    r.exec(&["RPUSH", INFLIGHT, &entries[0], &entries[1]]);
    r.exec(&["HSET", RECOVERIES, &sha1_hex(P1), "2", &sha1_hex(P3), "1"]);
    let done = recover_orphaned(&client, ID.as_bytes(), &[Redis], Some(entries[0].as_bytes())).unwrap();
    assert_eq!(done, Recovered { requeued: 1, failed: 0, dropped: 1 });
    assert_eq!(r.texts("resque:queue:q"), [P2]);
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P2), "1"), (&sha1_hex(P3), "1")]));
    assert_eq!(r.keys(), keys(&["resque:queue:q", QUEUES, RECOVERIES]));
}

#[test]
fn a_job_failed_elsewhere_with_no_recoveries_leaves_none() {
    let (mut r, client) = TestRedis::start_with_client();
    let only = inflight_entry("q", P1);
    r.exec(&["RPUSH", INFLIGHT, &only]);
    let done = recover_orphaned(&client, ID.as_bytes(), &[Redis], Some(only.as_bytes())).unwrap();
    assert_eq!(done, Recovered { dropped: 1, ..Recovered::default() });
    assert_eq!(r.keys(), keys(&[]));
}

#[test]
fn a_job_recovered_too_often_is_failed() {
    let (mut r, client, mut wake) = watched();
    let the_entry = inflight_entry("mail", P1);
    r.exec(&["RPUSH", INFLIGHT, &the_entry]);
    r.exec(&["HSET", RECOVERIES, &sha1_hex(P1), "1", &sha1_hex(P2), "1"]);
    // The second recovery of MAX_RECOVERIES (3) puts it back.
    assert_eq!(recover_inflight(&client, ID, &[Redis, RedisMultiQueue]).unwrap(), requeued(1));
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P1), "2"), (&sha1_hex(P2), "1")]));
    assert_eq!(wake.messages(), ["mail"]);
    // Taken again: the third fails it.
    r.exec(&["LPOP", "resque:queue:mail"]);
    r.exec(&["RPUSH", INFLIGHT, &the_entry]);
    let done = recover_inflight(&client, ID, &[Redis, RedisMultiQueue]).unwrap();
    assert_eq!(done, Recovered { failed: 1, ..Recovered::default() });
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P2), "1")]));
    let failures = r.texts(FAILED_LIST);
    assert_eq!(failures.len(), 1);
    assert_eq!(r.texts("resque:mail_failed"), failures);
    assert_eq!(r.members("resque:failed_queues"), BTreeSet::from([b"mail_failed".to_vec()]));
    assert_eq!(r.text(FAILED).as_deref(), Some("1"));
    assert_eq!(wake.messages(), Vec::<String>::new());
    let mut failure: serde_json::Value = serde_json::from_str(&failures[0]).unwrap();
    assert!(failure["failed_at"].as_str().is_some_and(|at| !at.is_empty()), "{failure}");
    failure.as_object_mut().unwrap().remove("failed_at");
    let error = "the job was running on a worker that died 3 times; it is not put back again";
    let expected = serde_json::json!({
        "payload": {"class": "A", "args": [1]},
        "exception": "Resque::DirtyExit",
        "error": error,
        "backtrace": [],
        "worker": ID,
        "queue": "mail",
    });
    assert_eq!(failure, expected);
    let all = [FAILED_LIST, "resque:mail_failed", "resque:failed_queues", FAILED, RECOVERIES, QUEUES];
    assert_eq!(r.keys(), keys(&all));
}

#[test]
fn a_job_failed_to_the_log_only_is_counted() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["RPUSH", INFLIGHT, &inflight_entry("q", P1)]);
    r.exec(&["HSET", RECOVERIES, &sha1_hex(P1), "2"]);
    let done = recover_inflight(&client, ID, &[Log]).unwrap();
    assert_eq!(done, Recovered { failed: 1, ..Recovered::default() });
    assert_eq!(r.text(FAILED).as_deref(), Some("1"));
    assert_eq!(r.keys(), keys(&[FAILED]));
}

#[test]
fn returned_jobs_are_not_counted_as_recoveries() {
    let (mut r, client, mut wake) = watched();
    r.exec(&["RPUSH", INFLIGHT, &inflight_entry("q", P1), &inflight_entry("q", P2)]);
    r.exec(&["RPUSH", "resque:queue:q", "p0"]);
    assert_eq!(return_own_inflight(&client, ID).unwrap(), requeued(2));
    assert_eq!(r.texts("resque:queue:q"), [P1, P2, "p0"]);
    assert_eq!(wake.messages(), ["q", "q"]);
    assert_eq!(r.keys(), keys(&["resque:queue:q", QUEUES]));
    // A count already there is kept as it is.
    let the_entry = inflight_entry("q", P3);
    r.exec(&["RPUSH", INFLIGHT, &the_entry]);
    r.exec(&["HSET", RECOVERIES, &sha1_hex(P3), "2"]);
    assert_eq!(return_entries(&client, ID, [the_entry.as_bytes()].into_iter()).unwrap(), requeued(1));
    assert_eq!(r.texts("resque:queue:q"), [P3, P1, P2, "p0"]);
    assert_eq!(r.hash(RECOVERIES), fields(&[(&sha1_hex(P3), "2")]));
    assert_eq!(r.keys(), keys(&["resque:queue:q", QUEUES, RECOVERIES]));
}
