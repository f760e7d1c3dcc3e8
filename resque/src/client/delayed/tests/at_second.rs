//! The jobs of one second and of a class against a real redis-server:
//! `queue_now.lua` branch by branch, removal and search.

use super::*;
use crate::client::delayed::at_second::{FIND_PAGE, QUEUE_NOW};

const NODE_ITEM: &str = r#"{"class":"Mailer","queue":"mail","args":["hi"]}"#;

/// Writes `item` at `at` as resque-scheduler's `delayed_push` does.
fn delay(redis: &mut TestRedis, at: i64, item: &str) {
    redis.exec(&["RPUSH", &format!("resque:delayed:{at}"), item]);
    redis.exec(&["SADD", &format!("resque:timestamps:{item}"), &format!("delayed:{at}")]);
    redis.exec(&["ZADD", "resque:delayed_queue_schedule", &at.to_string(), &at.to_string()]);
}

fn schedule(client: &Client) -> Vec<i64> {
    client.delayed_timestamps(0, usize::MAX).unwrap()
}

/// Only `ITEM` at `AT + 1` is left of the delayed keys, beside the keys `also`.
fn assert_later_second_alone(redis: &mut TestRedis, client: &Client, also: &[&str]) {
    assert_eq!(schedule(client), [AT + 1]);
    assert_eq!(redis.members(format!("resque:timestamps:{ITEM}")), members(&["delayed:4102444801"]));
    let index = format!("resque:timestamps:{ITEM}");
    let mut expected = vec!["resque:delayed:4102444801", index.as_str(), "resque:delayed_queue_schedule"];
    expected.extend_from_slice(also);
    assert_eq!(redis.keys(), crate::test_redis::keys(&expected));
}

/// One run of the script for `item` at `at`, as `enqueue_delayed_at_now` calls it.
fn queue_one(redis: &mut TestRedis, at: i64, item: &str) -> i64 {
    let keys = Keys::new("resque");
    let due = DueJob::from_item(item.as_bytes()).unwrap();
    let mut call = QUEUE_NOW.call();
    call.key("bucket", keys.delayed_at(at))
        .key("timestamps", keys.timestamps_of(item.as_bytes()))
        .key("schedule", keys.delayed_schedule())
        .key("queues", keys.queues())
        .key("queue", keys.queue(&due.queue))
        .arg("item", item)
        .arg("bucket_name", Keys::delayed_bucket(at))
        .arg("at", at)
        .arg("payload", &due.payload)
        .arg("queue_name", &due.queue)
        .arg("wake_channel", keys.wake_channel());
    call.invoke(redis.conn()).unwrap()
}

#[test]
fn every_job_of_a_second_goes_to_its_queue_in_order_and_every_key_is_tidied() {
    let (mut redis, client) = TestRedis::start_with_client();
    let mut wake = redis.subscribe("resque:wake");
    delay(&mut redis, AT, ITEM);
    delay(&mut redis, AT, NODE_ITEM);
    let later = r#"{"class":"Archive","args":[45,"masterbrew"],"queue":"file_serve"}"#;
    delay(&mut redis, AT, later);
    delay(&mut redis, AT + 1, ITEM);
    let done = client.enqueue_delayed_at_now(AT).unwrap();
    assert_eq!(done, QueuedNow { queued: 3, unreadable: vec![] });
    assert_eq!(
        redis.texts("resque:queue:file_serve"),
        [
            r#"{"class":"Archive","args":[44,"masterbrew"]}"#,
            r#"{"class":"Archive","args":[45,"masterbrew"]}"#
        ]
    );
    // node-resque's member order is read as well.
    assert_eq!(redis.texts("resque:queue:mail"), [r#"{"class":"Mailer","args":["hi"]}"#]);
    assert_eq!(redis.members("resque:queues"), members(&["file_serve", "mail"]));
    assert_eq!(wake.messages(), ["file_serve", "mail", "file_serve"]);
    // The other second keeps its job, and the job its entry for that second.
    assert_later_second_alone(
        &mut redis,
        &client,
        &["resque:queue:file_serve", "resque:queue:mail", "resque:queues"],
    );
}

#[test]
fn a_job_another_scheduler_took_first_is_not_queued_twice() {
    let (mut redis, client) = TestRedis::start_with_client();
    delay(&mut redis, AT, NODE_ITEM);
    assert_eq!(queue_one(&mut redis, AT, ITEM), 0);
    assert!(!redis.keys().contains("resque:queue:file_serve"));
    assert!(!redis.keys().contains("resque:queues"));
    assert_eq!(redis.texts(format!("resque:delayed:{AT}")), [NODE_ITEM]);
    assert_eq!(schedule(&client), [AT]);
}

#[test]
fn a_copy_left_in_the_bucket_keeps_its_timestamps_entry_and_the_second() {
    let (mut redis, client) = TestRedis::start_with_client();
    delay(&mut redis, AT, ITEM);
    delay(&mut redis, AT, ITEM);
    assert_eq!(queue_one(&mut redis, AT, ITEM), 1);
    assert_eq!(redis.texts(format!("resque:delayed:{AT}")), [ITEM]);
    assert_eq!(redis.members(format!("resque:timestamps:{ITEM}")), members(&["delayed:4102444800"]));
    assert_eq!(schedule(&client), [AT]);
    // The last copy: its entry and the emptied second go.
    assert_eq!(queue_one(&mut redis, AT, ITEM), 1);
    assert_eq!(redis.texts("resque:queue:file_serve").len(), 2);
    assert_eq!(redis.keys(), crate::test_redis::keys(&["resque:queue:file_serve", "resque:queues"]));
}

#[test]
fn the_last_copy_of_one_job_leaves_the_others_and_their_second() {
    let (mut redis, client) = TestRedis::start_with_client();
    delay(&mut redis, AT, ITEM);
    delay(&mut redis, AT, NODE_ITEM);
    assert_eq!(queue_one(&mut redis, AT, ITEM), 1);
    assert!(!redis.keys().contains(&format!("resque:timestamps:{ITEM}")));
    assert_eq!(redis.texts(format!("resque:delayed:{AT}")), [NODE_ITEM]);
    assert_eq!(schedule(&client), [AT]);
}

#[test]
fn an_item_that_is_not_a_job_is_left_in_place_and_reported() {
    let (mut redis, client) = TestRedis::start_with_client();
    delay(&mut redis, AT, "not json");
    delay(&mut redis, AT, r#"{"class":"NoQueue","args":[]}"#);
    delay(&mut redis, AT, ITEM);
    let done = client.enqueue_delayed_at_now(AT).unwrap();
    assert_eq!(done.queued, 1);
    assert_eq!(done.unreadable, ["not json", r#"{"class":"NoQueue","args":[]}"#]);
    assert_eq!(redis.texts(format!("resque:delayed:{AT}")), ["not json", r#"{"class":"NoQueue","args":[]}"#]);
    assert_eq!(schedule(&client), [AT]);
    assert_eq!(redis.texts("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
}

#[test]
fn a_second_left_empty_in_the_schedule_is_tidied() {
    let (mut redis, client) = TestRedis::start_with_client();
    client.enqueue_class_at(AT, "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    client.remove_delayed("file_serve", "Archive", &(44, "masterbrew")).unwrap();
    assert_eq!(schedule(&client), [AT]);
    assert_eq!(client.enqueue_delayed_at_now(AT).unwrap(), QueuedNow::default());
    assert!(redis.keys().is_empty(), "{:?}", redis.keys());
}

#[test]
fn removing_a_second_drops_its_jobs_and_their_entries_only() {
    let (mut redis, client) = TestRedis::start_with_client();
    delay(&mut redis, AT, ITEM);
    delay(&mut redis, AT, ITEM);
    delay(&mut redis, AT, NODE_ITEM);
    delay(&mut redis, AT + 1, ITEM);
    assert_eq!(client.remove_delayed_at(AT).unwrap(), 3);
    assert_later_second_alone(&mut redis, &client, &[]);
    assert_eq!(client.remove_delayed_at(AT).unwrap(), 0);
    assert_eq!(client.remove_delayed_at(AT + 1).unwrap(), 1);
    assert!(redis.keys().is_empty(), "{:?}", redis.keys());
}

#[test]
fn delayed_jobs_are_found_by_class_earliest_first() {
    let (mut redis, client) = TestRedis::start_with_client();
    delay(&mut redis, AT + 7, ITEM);
    delay(&mut redis, AT, NODE_ITEM);
    delay(&mut redis, AT, "not json");
    delay(&mut redis, AT, ITEM);
    let archive = serde_json::json!({"class": "Archive", "args": [44, "masterbrew"], "queue": "file_serve"});
    assert_eq!(
        client.find_delayed(Some("Archive"), 10).unwrap(),
        [(AT, archive.clone()), (AT + 7, archive.clone())]
    );
    assert_eq!(client.find_delayed(Some("Archive"), 1).unwrap(), [(AT, archive.clone())]);
    assert_eq!(client.find_delayed(Some("Nope"), 10).unwrap(), []);
    let all = client.find_delayed(None, 10).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[1], (AT, serde_json::json!("not json")));
    assert_eq!(client.find_delayed(None, 0).unwrap(), []);
}

#[test]
fn a_search_reads_past_one_page_of_seconds() {
    let (mut redis, client) = TestRedis::start_with_client();
    for i in 0..(FIND_PAGE as i64 + 5) {
        delay(&mut redis, AT + i, NODE_ITEM);
    }
    delay(&mut redis, AT + 500, ITEM);
    let found = client.find_delayed(Some("Archive"), 10).unwrap();
    assert_eq!(found.iter().map(|(at, _)| *at).collect::<Vec<_>>(), [AT + 500]);
    assert_eq!(client.find_delayed(None, usize::MAX).unwrap().len(), FIND_PAGE + 6);
}
