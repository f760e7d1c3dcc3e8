//! `unregister_dead.lua` against a real Redis, through [`unregister_dead`].

use super::*;

const RECORD: &str = r#"{"queue":"mail","run_at":"2026-11-23T23:50:00Z","payload":{"class":"A","args":[1]}}"#;
const FAILURE: &str = r#"{"exception":"Resque::DirtyExit"}"#;
const BEAT: &str = "2026-11-23T23:57:52+00:00";

/// `ID` registered with the heartbeat `BEAT` and a record of a job, next
/// to another live worker.
fn registered() -> (TestRedis, Client) {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&["SADD", WORKERS, ID, "live:1:q"]);
    r.exec(&["HSET", HEARTBEATS, ID, BEAT, "live:1:q", BEAT]);
    r.exec(&["SET", WORKER, RECORD]);
    r.exec(&["SET", STARTED, "2026-11-23 23:50:00 +0000"]);
    r.exec(&["SET", WORKER_PROCESSED, "5"]);
    r.exec(&["SET", WORKER_FAILED, "1"]);
    (r, client)
}

fn every_key() -> BTreeSet<String> {
    keys(&[WORKERS, HEARTBEATS, WORKER, STARTED, WORKER_PROCESSED, WORKER_FAILED])
}

fn dead<'a>(heartbeat: Option<&'a str>, job: Option<(&'a [u8], &'a str, &'a str)>) -> DeadWorker<'a> {
    DeadWorker { id: ID.as_bytes(), heartbeat: heartbeat.map(str::as_bytes), job }
}

/// Asserts that only the live worker is left, with `more` keys.
fn assert_only_the_live_worker(r: &mut TestRedis, more: &[&str]) {
    assert_eq!(r.members(WORKERS), BTreeSet::from([b"live:1:q".to_vec()]));
    assert_eq!(r.hash(HEARTBEATS), fields(&[("live:1:q", BEAT)]));
    let mut expected = keys(&[WORKERS, HEARTBEATS]);
    expected.extend(keys(more));
    assert_eq!(r.keys(), expected);
}

#[test]
fn a_worker_no_longer_registered_is_left_alone() {
    let (mut r, client) = registered();
    r.exec(&["SREM", WORKERS, ID]);
    let job = Some((RECORD.as_bytes(), "mail", FAILURE));
    assert_eq!(unregister_dead(&client, &dead(Some(BEAT), job), &[Redis]).unwrap(), (false, false));
    assert_eq!(r.hash(HEARTBEATS), fields(&[(ID, BEAT), ("live:1:q", BEAT)]));
    assert_eq!(r.keys(), every_key());
}

#[test]
fn a_worker_that_beat_since_is_left_alone() {
    for beat in [Some("2026-11-23T23:58:52+00:00"), None] {
        let (mut r, client) = registered();
        match beat {
            Some(beat) => r.exec(&["HSET", HEARTBEATS, ID, beat]),
            None => r.exec(&["HDEL", HEARTBEATS, ID]),
        }
        let job = Some((RECORD.as_bytes(), "mail", FAILURE));
        assert_eq!(unregister_dead(&client, &dead(Some(BEAT), job), &[Redis]).unwrap(), (false, false));
        assert_eq!(r.members(WORKERS).len(), 2);
        assert_eq!(r.text(WORKER).as_deref(), Some(RECORD));
        assert_eq!(r.keys(), every_key());
    }
}

#[test]
fn a_dead_worker_is_unregistered_with_every_key() {
    let (mut r, client) = registered();
    assert_eq!(unregister_dead(&client, &dead(Some(BEAT), None), &[Redis]).unwrap(), (true, false));
    assert_only_the_live_worker(&mut r, &[]);
}

#[test]
fn a_worker_removed_on_request_is_unregistered_unchecked() {
    let (mut r, client) = registered();
    r.exec(&["SREM", WORKERS, ID]);
    r.exec(&["HSET", HEARTBEATS, ID, "another beat"]);
    assert_eq!(unregister_dead(&client, &dead(None, None), &[Redis]).unwrap(), (true, false));
    assert_only_the_live_worker(&mut r, &[]);
}

#[test]
fn the_job_of_a_worker_with_no_inflight_list_is_failed() {
    let (mut r, client) = registered();
    r.exec(&["SET", FAILED, "3"]);
    let job = Some((RECORD.as_bytes(), "mail", FAILURE));
    let destinations = [Redis, RedisMultiQueue];
    assert_eq!(unregister_dead(&client, &dead(Some(BEAT), job), &destinations).unwrap(), (true, true));
    assert_eq!(r.texts(FAILED_LIST), [FAILURE]);
    assert_eq!(r.texts("resque:mail_failed"), [FAILURE]);
    assert_eq!(r.members("resque:failed_queues"), BTreeSet::from([b"mail_failed".to_vec()]));
    assert_eq!(r.text(FAILED).as_deref(), Some("4"));
    assert_only_the_live_worker(&mut r, &[FAILED_LIST, "resque:mail_failed", "resque:failed_queues", FAILED]);
}

#[test]
fn a_record_changed_since_it_was_read_is_not_failed() {
    let (mut r, client) = registered();
    r.exec(&["SET", WORKER, "the record of another job"]);
    let job = Some((RECORD.as_bytes(), "mail", FAILURE));
    assert_eq!(unregister_dead(&client, &dead(Some(BEAT), job), &[Redis]).unwrap(), (true, false));
    assert_only_the_live_worker(&mut r, &[]);
}

#[test]
fn a_job_with_an_inflight_list_is_left_to_its_recovery() {
    let (mut r, client) = registered();
    let the_entry = inflight_entry("mail", P1);
    r.exec(&["RPUSH", INFLIGHT, &the_entry]);
    let job = Some((RECORD.as_bytes(), "mail", FAILURE));
    assert_eq!(unregister_dead(&client, &dead(Some(BEAT), job), &[Redis]).unwrap(), (true, false));
    assert_eq!(r.texts(INFLIGHT), [the_entry]);
    assert_only_the_live_worker(&mut r, &[INFLIGHT]);
}
