//! `requeue.lua` against a real Redis, through the list's requeue and the
//! backends above it: each branch, with the exact state and reply.

use std::collections::BTreeSet;

use super::*;
use crate::failure::{FailedList, FailureBackend, FailureRef, RedisFailures, RedisMultiQueueFailures};
use crate::test_redis::*;

/// A server, a client, the `failed` list holding `entries`, and a
/// subscriber to the wake channel.
fn failed(entries: &[&str]) -> (TestRedis, Client, Subscriber) {
    let (r, client) = holding(FAILED_LIST, entries);
    let wake = r.subscribe("resque:wake");
    (r, client, wake)
}

/// Asserts that `got` is `entry` with a `retried_at` appended, as Ruby
/// sets it (local time to the second), of a time from `from` to now.
fn assert_retried(got: &str, entry: &str, from: Timestamp) {
    let stamp = got
        .strip_prefix(&entry[..entry.len() - 1])
        .and_then(|rest| rest.strip_prefix(r#","retried_at":""#))
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("not {entry} retried: {got}"));
    let (earliest, latest) = (payload::time::retried_at(from), payload::time::retried_at(Timestamp::now()));
    assert!(earliest.as_str() <= stamp && stamp <= latest.as_str(), "{stamp} not in {earliest}..{latest}");
}

/// Asserts that `key` holds `entries`, the one at `retried` retried since `from`.
fn assert_list(r: &mut TestRedis, key: &str, entries: &[&str], retried: usize, from: Timestamp) {
    let got = r.texts(key);
    assert_eq!(got.len(), entries.len(), "{got:?}");
    for (i, (got, entry)) in got.iter().zip(entries).enumerate() {
        if i == retried {
            assert_retried(got, entry, from);
        } else {
            assert_eq!(got, entry, "index {i}");
        }
    }
}

/// Asserts that [`job`] `arg` alone was pushed to `file_serve`, the queue
/// added to `queues` and workers woken once.
fn assert_pushed(r: &mut TestRedis, wake: &mut Subscriber, arg: u32) {
    assert_eq!(r.texts(FILE_SERVE), [job(arg)]);
    assert_eq!(r.members(QUEUES), BTreeSet::from([b"file_serve".to_vec()]));
    assert_eq!(wake.messages(), ["file_serve"]);
    assert_eq!(r.keys(), keys(&[FAILED_LIST, QUEUES, FILE_SERVE]));
}

/// Asserts that nothing was pushed, added or published: `failed` holds
/// `entries` as they were.
fn assert_untouched(r: &mut TestRedis, wake: &mut Subscriber, entries: &[&str]) {
    assert_eq!(r.texts(FAILED_LIST), entries);
    assert_eq!(wake.messages(), Vec::<String>::new());
    let expected = if entries.is_empty() { keys(&[]) } else { keys(&[FAILED_LIST]) };
    assert_eq!(r.keys(), expected);
}

/// Sets `failed` to `before`, lets `change` (another client's command,
/// if any) run, then requeues `after[at]` as read at `hint`: asserts the
/// reply is `at`, `failed` is `after` with `at` retried, and [`job`] `arg`
/// pushed.
fn assert_requeued_after(before: &[&str], change: &[&str], hint: usize, after: &[&str], at: usize, arg: u32) {
    let (mut r, client, mut wake) = failed(before);
    if !change.is_empty() {
        r.exec(change);
    }
    let from = Timestamp::now();
    let reply = List::failed(&client).requeue_found(hint, after[at].as_bytes()).unwrap();
    assert_eq!(reply, at as i64);
    assert_list(&mut r, FAILED_LIST, after, at, from);
    assert_pushed(&mut r, &mut wake, arg);
}

#[test]
fn at_the_hinted_index_the_entry_is_retried_there_and_its_job_pushed() {
    let [e0, e1, e2] = [entry(0), entry(1), entry(2)];
    assert_requeued_after(&[&e0, &e1, &e2], &[], 1, &[&e0, &e1, &e2], 1, 1);
}

#[test]
fn an_entry_moved_up_past_the_end_is_found_and_retried_where_it_is() {
    let [e0, e1, e2] = [entry(0), entry(1), entry(2)];
    // Read at 2; then another client removed the entry before it.
    assert_requeued_after(&[&e0, &e1, &e2], &["LREM", FAILED_LIST, "1", &e0], 2, &[&e1, &e2], 1, 2);
}

#[test]
fn an_entry_moved_up_is_retried_where_it_is_not_at_the_hint() {
    let [e0, e1, e2] = [entry(0), entry(1), entry(2)];
    // Read at 1; now 1 holds the next entry, left as it is.
    assert_requeued_after(&[&e0, &e1, &e2], &["LREM", FAILED_LIST, "1", &e0], 1, &[&e1, &e2], 0, 1);
}

#[test]
fn an_entry_moved_down_by_an_insert_before_it_is_retried_where_it_is() {
    let [e0, e1, new] = [entry(0), entry(1), entry(9)];
    // Read at 0; then another entry went in before it.
    let insert = ["LINSERT", FAILED_LIST, "BEFORE", &e0, &new];
    assert_requeued_after(&[&e0, &e1], &insert, 0, &[&new, &e0, &e1], 1, 0);
}

#[test]
fn of_two_identical_entries_found_again_the_first_is_retried() {
    let [e, other] = [entry(1), entry(2)];
    // Read at 1; then the first entry was removed: the hint holds `other`.
    assert_requeued_after(&[&other, &e, &other, &e], &["LPOP", FAILED_LIST], 1, &[&e, &other, &e], 0, 1);
}

#[test]
fn of_two_identical_entries_the_one_at_the_hint_is_retried() {
    let e = entry(1);
    assert_requeued_after(&[&e, &e], &[], 1, &[&e, &e], 1, 1);
}

#[test]
fn the_backend_requeues_by_index_with_the_script() {
    let [e0, e1, e2] = [entry(0), entry(1), entry(2)];
    let (mut r, client, mut wake) = failed(&[&e0, &e1, &e2]);
    let from = Timestamp::now();
    RedisFailures::new(client.clone()).requeue(2).unwrap();
    assert_list(&mut r, FAILED_LIST, &[&e0, &e1, &e2], 2, from);
    assert_pushed(&mut r, &mut wake, 2);
}

#[test]
fn a_gone_entry_replies_minus_one_and_nothing_changes() {
    let [e0, e1, e2] = [entry(0), entry(1), entry(2)];
    let (mut r, client, mut wake) = failed(&[&e0, &e1, &e2]);
    r.exec(&["LREM", FAILED_LIST, "1", &e1]);
    let list = List::failed(&client);
    assert_eq!(list.requeue_found(1, e1.as_bytes()).unwrap(), -1);
    assert!(!list.requeue_entry(1, e1.as_bytes()).unwrap());
    assert_untouched(&mut r, &mut wake, &[&e0, &e2]);
}

#[test]
fn an_entry_of_a_list_gone_replies_minus_one_and_creates_nothing() {
    let (mut r, client, mut wake) = failed(&[&entry(0)]);
    r.exec(&["DEL", FAILED_LIST]);
    assert_eq!(List::failed(&client).requeue_found(0, entry(0).as_bytes()).unwrap(), -1);
    assert_untouched(&mut r, &mut wake, &[]);
}

#[test]
fn by_id_the_first_of_two_identical_entries_is_retried() {
    let [e, other] = [entry(1), entry(2)];
    let (mut r, client, mut wake) = failed(&[&other, &e, &e]);
    let from = Timestamp::now();
    let id = FailureId::of(e.as_bytes());
    let (index, failure) = RedisFailures::new(client.clone()).requeue_id(id).unwrap();
    assert_eq!((index, failure), (1, Failure::from_bytes(e.as_bytes())));
    assert_list(&mut r, FAILED_LIST, &[&other, &e, &e], 1, from);
    assert_pushed(&mut r, &mut wake, 1);
}

#[test]
fn when_lpos_fails_the_entry_counts_as_gone() {
    let [e0, e1] = [entry(0), entry(1)];
    let (mut r, _, mut wake) = failed(&[&e0, &e1]);
    r.exec(&["ACL", "SETUSER", "no_lpos", "on", "nopass", "~*", "&*", "+@all", "-lpos"]);
    let client = r.client_as("no_lpos");
    let list = List::failed(&client);
    assert_eq!(list.requeue_found(0, e1.as_bytes()).unwrap(), -1);
    assert_untouched(&mut r, &mut wake, &[&e0, &e1]);
    // At the hint, LPOS is not needed.
    let from = Timestamp::now();
    assert_eq!(list.requeue_found(1, e1.as_bytes()).unwrap(), 1);
    assert_list(&mut r, FAILED_LIST, &[&e0, &e1], 1, from);
    assert_pushed(&mut r, &mut wake, 1);
}

#[test]
fn a_queue_named_by_bytes_gets_the_job_under_its_exact_name() {
    // base64 of b"bad\xff" is "YmFk/w==".
    let e = format!(r#"{{"payload":{},"queue":"bad\\xff","queue_base64":"YmFk/w=="}}"#, job(1));
    let (mut r, client) = holding(FAILED_LIST, &[&e]);
    let from = Timestamp::now();
    assert_eq!(List::failed(&client).requeue_found(0, e.as_bytes()).unwrap(), 0);
    assert_list(&mut r, FAILED_LIST, &[&e], 0, from);
    assert_eq!(r.list(b"resque:queue:bad\xff"), [job(1).into_bytes()]);
    assert_eq!(r.members(QUEUES), BTreeSet::from([b"bad\xff".to_vec()]));
}

#[test]
fn a_queue_failed_list_is_retried_in_place() {
    let (mut r, client) = TestRedis::start_with_client();
    let [f0, m1, m2] = two_failed_lists(&mut r);
    let mut wake = r.subscribe("resque:wake");
    let from = Timestamp::now();
    RedisMultiQueueFailures::new(client.clone()).requeue(2).unwrap();
    assert_list(&mut r, MAIL_FAILED, &[&m1, &m2], 1, from);
    FailedList::Named("file_serve_failed".into()).requeue(&client, FailureRef::Index(0)).unwrap();
    assert_list(&mut r, FILE_SERVE_FAILED, &[&f0], 0, from);
    assert_eq!(r.texts("resque:queue:mail"), [job(2)]);
    assert_eq!(r.texts(FILE_SERVE), [job(0)]);
    assert_eq!(r.members(QUEUES), BTreeSet::from([b"file_serve".to_vec(), b"mail".to_vec()]));
    assert_eq!(wake.messages(), ["mail", "file_serve"]);
    let every = [FAILED_QUEUES, FILE_SERVE_FAILED, MAIL_FAILED, QUEUES, FILE_SERVE, "resque:queue:mail"];
    assert_eq!(r.keys(), keys(&every));
}
