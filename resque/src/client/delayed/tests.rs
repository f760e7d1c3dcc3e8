//! Delayed jobs against a real redis-server, each key checked against the
//! bytes resque-scheduler writes and reads.

mod at_second;

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::test_redis::TestRedis;

/// resque-scheduler's item for `Archive` [44, "masterbrew"] on file_serve:
/// `encode(job_to_hash_with_queue(queue, klass, args))`, members class,
/// args, queue.
const ITEM: &str = r#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#;
const AT: i64 = 4_102_444_800; // 2100-01-01, always ahead

fn members(set: &[&str]) -> BTreeSet<Vec<u8>> {
    set.iter().map(|m| m.as_bytes().to_vec()).collect()
}

#[test]
fn a_delayed_job_lands_in_resque_schedulers_three_keys() {
    let (mut redis, client) = TestRedis::start_with_client();
    let mut wake = redis.subscribe("resque:delayed_wake");
    client.enqueue_class_at(AT, "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    // Ruby: rpush delayed:<ts> item; sadd timestamps:<item> delayed:<ts>; zadd delayed_queue_schedule ts ts
    assert_eq!(redis.texts("resque:delayed:4102444800"), [ITEM]);
    assert_eq!(redis.members(format!("resque:timestamps:{ITEM}")), members(&["delayed:4102444800"]));
    let schedule: Vec<(String, i64)> = redis
        .query(redis::cmd("ZRANGE").arg("resque:delayed_queue_schedule").arg(0).arg(-1).arg("WITHSCORES"));
    assert_eq!(schedule, [("4102444800".to_string(), AT)]);
    assert_eq!(
        redis.keys(),
        crate::test_redis::keys(&[
            "resque:delayed:4102444800",
            &format!("resque:timestamps:{ITEM}"),
            "resque:delayed_queue_schedule",
        ])
    );
    assert_eq!(wake.messages(), ["4102444800"]);
}

#[test]
fn a_moment_already_past_is_enqueued_now_as_ruby_does() {
    let (mut redis, client) = TestRedis::start_with_client();
    client.enqueue_class_at(1_000_000_000, "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    assert_eq!(redis.texts("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
    assert!(!redis.keys().contains("resque:delayed_queue_schedule"));
}

#[test]
fn a_delay_is_counted_from_now_in_whole_seconds() {
    let (redis, client) = TestRedis::start_with_client();
    let before = SystemTime::now().unix_second();
    client.enqueue_class_in(Duration::from_secs(90), "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    let after = SystemTime::now().unix_second();
    let at = client.scheduled_at("file_serve", "Archive", &(44, "masterbrew")).unwrap();
    assert_eq!(at.len(), 1);
    assert!((before + 90..=after + 90).contains(&at[0]), "{at:?} not {before}+90");
    drop(redis);
}

#[test]
fn counts_and_pages_read_what_ruby_wrote() {
    let (mut redis, client) = TestRedis::start_with_client();
    // As Ruby's delayed_push writes two jobs at one second and one at another.
    for (at, item) in [(AT, ITEM), (AT, r#"{"class":"Mailer","args":["hi"],"queue":"mail"}"#), (AT + 5, ITEM)]
    {
        redis.exec(&["RPUSH", &format!("resque:delayed:{at}"), item]);
        redis.exec(&["SADD", &format!("resque:timestamps:{item}"), &format!("delayed:{at}")]);
        redis.exec(&["ZADD", "resque:delayed_queue_schedule", &at.to_string(), &at.to_string()]);
    }
    assert_eq!(client.delayed_count().unwrap(), 3);
    assert_eq!(client.delayed_timestamp_count().unwrap(), 2);
    assert_eq!(client.delayed_timestamps(0, 10).unwrap(), [AT, AT + 5]);
    assert_eq!(client.delayed_timestamps(1, 10).unwrap(), [AT + 5]);
    assert_eq!(client.delayed_timestamps(0, 0).unwrap(), Vec::<i64>::new());
    assert_eq!(client.delayed_size_at(AT).unwrap(), 2);
    assert_eq!(client.delayed_sizes(&[AT, AT + 5, AT + 1]).unwrap(), [2, 1, 0]);
    assert_eq!(client.delayed_sizes(&[]).unwrap(), Vec::<u64>::new());
    let at = client.delayed_at(AT, 1, 5).unwrap();
    assert_eq!(at, [serde_json::json!({"class": "Mailer", "args": ["hi"], "queue": "mail"})]);
    assert_eq!(client.scheduled_at("file_serve", "Archive", &(44, "masterbrew")).unwrap(), [AT, AT + 5]);
    assert_eq!(client.scheduled_at("file_serve", "Archive", &(45, "masterbrew")).unwrap(), Vec::<i64>::new());
}

#[test]
fn remove_delayed_finds_the_job_wherever_ruby_delayed_it() {
    let (mut redis, client) = TestRedis::start_with_client();
    client.enqueue_class_at(AT, "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    redis.exec(&["RPUSH", &format!("resque:delayed:{}", AT + 1), ITEM]);
    redis.exec(&["SADD", &format!("resque:timestamps:{ITEM}"), &format!("delayed:{}", AT + 1)]);
    redis.exec(&["ZADD", "resque:delayed_queue_schedule", &(AT + 1).to_string(), &(AT + 1).to_string()]);
    let other = r#"{"class":"Archive","args":[45,"masterbrew"],"queue":"file_serve"}"#;
    redis.exec(&["RPUSH", &format!("resque:delayed:{AT}"), other]);
    assert_eq!(client.remove_delayed("file_serve", "Archive", &(44, "masterbrew")).unwrap(), 2);
    assert_eq!(redis.texts(format!("resque:delayed:{AT}")), [other]);
    assert!(!redis.keys().contains(&format!("resque:timestamps:{ITEM}")));
    assert!(!redis.keys().contains(&format!("resque:delayed:{}", AT + 1)));
    // Ruby leaves the emptied second in the schedule for the scheduler to tidy.
    assert_eq!(client.delayed_timestamp_count().unwrap(), 2);
    assert_eq!(client.remove_delayed("file_serve", "Archive", &(44, "masterbrew")).unwrap(), 0);
}

#[test]
fn a_delayed_job_can_be_enqueued_now() {
    let (mut redis, client) = TestRedis::start_with_client();
    client.enqueue_class_at(AT, "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    client.enqueue_class_at(AT + 9, "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    assert_eq!(client.enqueue_delayed_now("file_serve", "Archive", &(44, "masterbrew")).unwrap(), 2);
    let job = r#"{"class":"Archive","args":[44,"masterbrew"]}"#;
    assert_eq!(redis.texts("resque:queue:file_serve"), [job, job]);
    assert_eq!(client.scheduled_at("file_serve", "Archive", &(44, "masterbrew")).unwrap(), Vec::<i64>::new());
}

#[test]
fn clearing_removes_every_delayed_key() {
    let (mut redis, client) = TestRedis::start_with_client();
    client.enqueue_class_at(AT, "file_serve", "Archive", &(44, "masterbrew")).unwrap();
    client.enqueue_class_at(AT + 3, "mail", "Mailer", &("hi",)).unwrap();
    redis.exec(&["RPUSH", "resque:queue:mail", "{}"]);
    assert_eq!(client.clear_delayed().unwrap(), 2);
    assert_eq!(redis.keys(), crate::test_redis::keys(&["resque:queue:mail"]));
}

#[test]
fn due_moments_are_whole_seconds() {
    assert_eq!(jiff::Timestamp::from_second(AT).unwrap().unix_second(), AT);
    let later = jiff::Timestamp::new(AT, 999_999_999).unwrap();
    assert_eq!(later.unix_second(), AT);
    assert_eq!(jiff::Timestamp::new(-5, -1).unwrap().unix_second(), -6);
    assert_eq!((UNIX_EPOCH + Duration::from_millis(AT as u64 * 1000 + 999)).unix_second(), AT);
    assert_eq!((UNIX_EPOCH - Duration::from_millis(1)).unix_second(), -1);
    assert_eq!(AT.unix_second(), AT);
}
