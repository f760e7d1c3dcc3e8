//! `promote.lua` against a real Redis: each branch (not leader, head
//! changed, moved, unreadable item, tidy) and the two member orders.

use std::time::Instant;

use super::*;
use crate::test_redis::*;

const RUBY: &str = r#"{"class":"Archive","args":[45,"ruby"],"queue":"file_serve"}"#;
const NODE: &str = r#"{"class":"Archive","queue":"file_serve","args":[46,"node"]}"#;
const SCHEDULE: &str = "resque:delayed_queue_schedule";

/// Delays `item` at `ts` as Ruby's resque-scheduler writes it.
fn delay(r: &mut TestRedis, ts: i64, item: &str) {
    let bucket = format!("resque:delayed:{ts}");
    r.query::<()>(redis::cmd("RPUSH").arg(&bucket).arg(item));
    r.query::<()>(redis::cmd("SADD").arg(format!("resque:timestamps:{item}")).arg(format!("delayed:{ts}")));
    r.query::<()>(redis::cmd("ZADD").arg(SCHEDULE).arg(ts).arg(ts));
}

/// A server, a client, the lock held, and `items` delayed (second, item).
fn start(items: &[(i64, &str)]) -> (TestRedis, Client, MasterLock) {
    let (mut r, client) = TestRedis::start_with_client();
    let lock = super::super::lock::test_leader(&client);
    for (ts, item) in items {
        delay(&mut r, *ts, item);
    }
    (r, client, lock)
}

#[test]
fn ruby_and_node_items_are_promoted_and_tidied() {
    let (mut r, client, lock) = start(&[(100, RUBY), (101, NODE), (5000, RUBY)]);
    let mut wake = r.subscribe("resque:wake");
    let done = promote_due(&client, &lock, 200).unwrap();
    assert_eq!(done, Promoted { moved: 2, deposed: false });
    assert_eq!(
        r.texts("resque:queue:file_serve"),
        [r#"{"class":"Archive","args":[45,"ruby"]}"#, r#"{"class":"Archive","args":[46,"node"]}"#]
    );
    assert!(r.members("resque:queues").contains(b"file_serve".as_slice()));
    assert_eq!(r.list("resque:delayed:100"), Vec::<Vec<u8>>::new());
    assert_eq!(r.query::<i64>(redis::cmd("EXISTS").arg("resque:delayed:100").arg("resque:delayed:101")), 0);
    assert_eq!(r.query::<Vec<String>>(redis::cmd("ZRANGE").arg(SCHEDULE).arg(0).arg(-1)), ["5000"]);
    assert_eq!(r.members(format!("resque:timestamps:{NODE}")).len(), 0);
    // The item still delayed at 5000 keeps its own member.
    assert_eq!(r.members(format!("resque:timestamps:{RUBY}")), [b"delayed:5000".to_vec()].into());
    assert_eq!(wake.messages(), ["file_serve", "file_serve"]);
}

#[test]
fn a_deposed_leader_writes_nothing() {
    let (mut r, client, lock) = start(&[(100, RUBY)]);
    r.exec(&["SET", &lock.key, "otherhost:9"]);
    let before = r.keys();
    assert_eq!(promote_due(&client, &lock, 200).unwrap(), Promoted { moved: 0, deposed: true });
    assert_eq!(r.keys(), before);
    assert_eq!(r.texts("resque:delayed:100"), [RUBY]);
}

#[test]
fn a_changed_head_moves_nothing_until_read_again() {
    let (mut r, client, lock) = start(&[(100, RUBY), (100, NODE)]);
    let items = vec![NODE.as_bytes().to_vec()];
    let cmd = batch_command(&client, &lock, "100", &items);
    assert_eq!(script::run::<i64>(&PROMOTE, &cmd, r.conn()).unwrap(), -2);
    assert_eq!(r.texts("resque:delayed:100"), [RUBY, NODE]);
    assert_eq!(r.list("resque:queue:file_serve").len(), 0);
    // Read again, both go.
    assert_eq!(promote_due(&client, &lock, 100).unwrap().moved, 2);
    assert_eq!(r.list("resque:queue:file_serve").len(), 2);
}

#[test]
fn an_item_without_a_queue_is_moved_aside_as_it_is() {
    let bad = r#"{"class":"NoQueue","args":[]}"#;
    let other = r#"{"class":"B","args":[],"queue":"other"}"#;
    let (mut r, client, lock) = start(&[(100, bad), (100, RUBY), (100, other), (100, NODE)]);
    let mut wake = r.subscribe("resque:wake");
    assert_eq!(promote_due(&client, &lock, 100).unwrap().moved, 4);
    assert_eq!(r.texts("resque:delayed:unreadable"), [bad]);
    assert_eq!(r.texts("resque:queue:file_serve").len(), 2, "each to its own queue, in order");
    assert_eq!(r.texts("resque:queue:other"), [r#"{"class":"B","args":[]}"#]);
    assert_eq!(wake.messages(), ["file_serve", "other"], "each queue published once");
    assert!(!r.members("resque:queues").contains(b"".as_slice()));
    assert_eq!(r.query::<i64>(redis::cmd("ZCARD").arg(SCHEDULE)), 0);
    assert_eq!(r.members(format!("resque:timestamps:{bad}")).len(), 0);
}

#[test]
fn an_empty_bucket_left_in_the_schedule_is_tidied() {
    let (mut r, client, lock) = start(&[]);
    // What Ruby's remove_delayed leaves: the zset member without its list.
    r.exec(&["ZADD", SCHEDULE, "100", "100"]);
    assert_eq!(promote_due(&client, &lock, 100).unwrap().moved, 0);
    assert_eq!(r.query::<i64>(redis::cmd("ZCARD").arg(SCHEDULE)), 0);
    // Not due yet: left.
    delay(&mut r, 300, RUBY);
    assert_eq!(promote_due(&client, &lock, 299).unwrap().moved, 0);
    assert_eq!(r.texts("resque:delayed:300"), [RUBY]);
    assert_eq!(earliest(&client).unwrap(), Some(300));
}

#[test]
fn a_hundred_thousand_items_due_at_once_are_promoted_quickly() {
    let (mut r, client) = TestRedis::start_with_client();
    let n = 100_000;
    let mut pipe = redis::pipe();
    for i in 0..n {
        let item = format!(r#"{{"class":"Archive","args":[{i},"bulk"],"queue":"bulk"}}"#);
        pipe.cmd("RPUSH").arg("resque:delayed:100").arg(&item).ignore();
        pipe.cmd("SADD").arg(format!("resque:timestamps:{item}")).arg("delayed:100").ignore();
    }
    pipe.cmd("ZADD").arg(SCHEDULE).arg(100).arg(100).ignore();
    pipe.query::<()>(r.conn()).unwrap();
    let lock = super::super::lock::test_leader(&client);
    let started = Instant::now();
    assert_eq!(promote_due(&client, &lock, 100).unwrap().moved, n);
    let took = started.elapsed();
    eprintln!("promoted {n} due items in {} ms", took.as_millis());
    assert_eq!(r.query::<i64>(redis::cmd("LLEN").arg("resque:queue:bulk")), n as i64);
    assert_eq!(r.query::<i64>(&redis::cmd("DBSIZE")), 3, "{:?}", r.keys());
    let last: String = r.query(redis::cmd("LINDEX").arg("resque:queue:bulk").arg(-1));
    assert_eq!(last, format!(r#"{{"class":"Archive","args":[{},"bulk"]}}"#, n - 1), "in order");
}
