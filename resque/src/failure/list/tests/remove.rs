//! `remove.lua` against a real Redis, through the list's removal by index
//! and the backends above it: each branch, with the exact state and reply.

use super::*;
use crate::failure::{FailedList, FailureBackend, FailureRef, RedisFailures, RedisMultiQueueFailures};
use crate::test_redis::*;

const MARKER: &str = "__removed__";

#[test]
fn the_entry_at_the_index_goes_not_an_equal_one_before_it() {
    let [e, other] = [entry(1), entry(2)];
    let (mut r, client) = holding(FAILED_LIST, &[&e, &other, &e]);
    assert_eq!(List::failed(&client).remove_marked(2, MARKER).unwrap(), (1, 3));
    assert_eq!(r.texts(FAILED_LIST), [e.as_str(), &other]);
    assert_eq!(r.keys(), keys(&[FAILED_LIST]));
}

#[test]
fn the_marker_stands_in_for_the_entry_so_an_equal_entry_would_go_instead() {
    // The entry at 2 becomes the marker, and the first marker goes: one
    // already in the list would, which is why each removal makes a new one.
    let [e0, e1] = [entry(0), entry(1)];
    let (mut r, client) = holding(FAILED_LIST, &[MARKER, &e0, &e1]);
    assert_eq!(List::failed(&client).remove_marked(2, MARKER).unwrap(), (1, 3));
    assert_eq!(r.texts(FAILED_LIST), [e0.as_str(), MARKER]);
}

#[test]
fn every_removal_has_its_own_marker_that_no_entry_can_equal() {
    let (first, second) = (removal_marker(), removal_marker());
    assert_ne!(first, second);
    assert!(first.starts_with("__resque_rs_removed__:") && !first.starts_with('{'), "{first}");
}

#[test]
fn the_backend_removes_by_index_leaving_no_marker() {
    let [e0, e1, e2] = [entry(0), entry(1), entry(2)];
    let (mut r, client) = holding(FAILED_LIST, &[&e0, &e1, &e2]);
    let failures = RedisFailures::new(client.clone());
    failures.remove(1).unwrap();
    assert_eq!(r.texts(FAILED_LIST), [e0, e2]);
    failures.remove(1).unwrap();
    failures.remove(0).unwrap();
    assert_eq!(r.keys(), keys(&[]));
}

#[test]
fn an_index_past_the_end_replies_zero_and_the_length_and_changes_nothing() {
    let [e0, e1] = [entry(0), entry(1)];
    let (mut r, client) = holding(FAILED_LIST, &[&e0, &e1]);
    let list = List::failed(&client);
    assert_eq!(list.remove_marked(2, MARKER).unwrap(), (0, 2));
    assert_eq!(list.remove_marked(usize::MAX, MARKER).unwrap(), (0, 2));
    let err = RedisFailures::new(client.clone()).remove(2).unwrap_err();
    assert!(matches!(err, Error::NoSuchFailure { index: 2, count: 2 }), "{err:?}");
    assert_eq!(r.texts(FAILED_LIST), [e0, e1]);
    assert_eq!(r.keys(), keys(&[FAILED_LIST]));
}

#[test]
fn a_missing_list_replies_zero_and_zero_and_creates_nothing() {
    let (mut r, client) = TestRedis::start_with_client();
    assert_eq!(List::failed(&client).remove_marked(0, MARKER).unwrap(), (0, 0));
    assert_eq!(r.keys(), keys(&[]));
}

#[test]
fn a_queue_failed_list_loses_the_entry_at_its_own_index() {
    let (mut r, client) = TestRedis::start_with_client();
    let [f0, _, m2] = two_failed_lists(&mut r);
    let failures = RedisMultiQueueFailures::new(client.clone());
    failures.remove(1).unwrap();
    assert_eq!(r.texts(MAIL_FAILED), [m2]);
    let err = failures.remove_in("mail_failed", 1).unwrap_err();
    assert!(matches!(err, Error::NoSuchFailure { index: 1, count: 1 }), "{err:?}");
    FailedList::Named("mail_failed".into()).remove(&client, FailureRef::Index(0)).unwrap();
    assert_eq!(r.texts(FILE_SERVE_FAILED), [f0]);
    assert_eq!(r.keys(), keys(&[FAILED_QUEUES, FILE_SERVE_FAILED]));
}
