//! The failure backends and their admin operations against a real server.

use std::time::Duration;

use redis::Commands;
use resque::failure::{
    FailureBackend, LogFailures, MultipleFailures, RedisFailures, RedisMultiQueueFailures,
};
use resque::payload::{FailedPayload, FailureId, NewFailure};
use resque::Error;
use resque_tests::TestRedis;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// A Ruby failure entry, verbatim from PROTOCOL.md.
const RUBY_ENTRY: &str = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Archive","args":[44,"masterbrew"]},"exception":"Errno::ENOENT","error":"No such file or directory","backtrace":["..."],"worker":"web1:4211:file_serve","queue":"file_serve"}"#;
const RUBY_PAYLOAD: &str = r#"{"class":"Archive","args":[44,"masterbrew"]}"#;

/// A node-resque payload: an extra `queue` member, `args` last, a number
/// and an escape serde_json would write differently.
const NODE_PAYLOAD: &str = r#"{"class":"Archive","queue":"file_serve","args":[1.50,"caf\u00e9"]}"#;

fn entry(queue: &str, payload: &str, extra: &str) -> String {
    format!(
        r#"{{"failed_at":"2026/11/23 23:51:00 UTC","payload":{payload},"exception":"RuntimeError","error":"boom","backtrace":[],"worker":"web1:4212:{queue}","queue":"{queue}"{extra}}}"#
    )
}

fn job(class: &str, n: u32) -> String {
    format!(r#"{{"class":"{class}","args":[{n}]}}"#)
}

fn push_all(redis: &TestRedis, key: &str, entries: &[&str]) {
    let mut conn = redis.conn();
    for e in entries {
        let _: () = conn.rpush(key, *e).unwrap();
    }
}

/// `%Y/%m/%d %H:%M:%S`, as Ruby 3.0 writes `retried_at`.
fn is_ruby_retried_at(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'/',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// `raw` with `retried_at` appended; returns the value written.
fn assert_retried(raw: &str, original: &str) -> String {
    let prefix = &original[..original.len() - 1];
    let rest = raw.strip_prefix(prefix).unwrap_or_else(|| panic!("members or bytes changed: {raw}"));
    let at = rest
        .strip_prefix(r#","retried_at":""#)
        .and_then(|r| r.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("retried_at is not the last member: {raw}"));
    assert!(is_ruby_retried_at(at), "{at:?}");
    at.to_string()
}

fn new_failure<'a>(payload: &'a RawValue, queue: &'a str) -> NewFailure<'a> {
    NewFailure {
        failed_at: "2026/11/23 23:52:00 UTC".into(),
        payload: FailedPayload::Json(payload),
        exception: "my_app::ArchiveError",
        error: "disk full",
        backtrace: &[],
        worker: "web1:4213:*",
        queue,
        raw_queue: None,
        attempts: None,
    }
}

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_string()).unwrap()
}

#[test]
fn requeue_marks_the_entry_and_pushes_the_exact_payload() {
    let redis = TestRedis::start();
    let node = entry("file_serve", NODE_PAYLOAD, "");
    push_all(&redis, "resque:failed", &[RUBY_ENTRY, &node]);
    let failures = RedisFailures::new(redis.client());

    let mut wake = redis.conn();
    wake.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sub = wake.as_pubsub();
    sub.subscribe("resque:wake").unwrap();

    failures.requeue(1).unwrap();
    assert_eq!(redis.lrange("resque:queue:file_serve"), [NODE_PAYLOAD], "the payload's exact bytes");
    let woken: String = sub.get_message().unwrap().get_payload().unwrap();
    assert_eq!(woken, "file_serve");
    let queues: Vec<String> = redis.conn().smembers("resque:queues").unwrap();
    assert_eq!(queues, ["file_serve"]);
    let list = redis.lrange("resque:failed");
    assert_eq!(list[0], RUBY_ENTRY, "other entries are untouched");
    assert_retried(&list[1], &node);

    failures.requeue(0).unwrap();
    assert_eq!(redis.lrange("resque:queue:file_serve"), [NODE_PAYLOAD, RUBY_PAYLOAD]);
    let list = redis.lrange("resque:failed");
    assert_eq!(list.len(), 2, "requeued entries stay");
    let at = assert_retried(&list[0], RUBY_ENTRY);
    assert_eq!(failures.all(0, 1).unwrap()[0].retried_at.as_deref(), Some(at.as_str()));

    // A second retry rewrites retried_at in place and pushes the job again.
    failures.requeue(0).unwrap();
    assert_retried(&redis.lrange("resque:failed")[0], RUBY_ENTRY);
    assert_eq!(redis.conn().llen::<_, u64>("resque:queue:file_serve").unwrap(), 3);
    assert_eq!(failures.count().unwrap(), 2);
}

#[test]
fn a_payload_that_was_not_json_goes_back_as_its_text() {
    let redis = TestRedis::start();
    let text = entry("file_serve", r#""{nope""#, "");
    push_all(&redis, "resque:failed", &[&text]);
    RedisFailures::new(redis.client()).requeue(0).unwrap();
    assert_eq!(redis.lrange("resque:queue:file_serve"), ["{nope"]);
}

#[test]
fn remove_by_index_removes_exactly_that_entry() {
    let redis = TestRedis::start();
    let e: Vec<String> = (0..4).map(|i| entry("q", &job("A", i), "")).collect();
    // Index 3 is a copy of index 1.
    push_all(
        &redis,
        "resque:failed",
        &[e[0].as_str(), e[1].as_str(), e[2].as_str(), e[1].as_str(), e[3].as_str()],
    );
    let failures = RedisFailures::new(redis.client());
    failures.remove(2).unwrap();
    assert_eq!(redis.lrange("resque:failed"), [e[0].as_str(), e[1].as_str(), e[1].as_str(), e[3].as_str()]);
    failures.remove(0).unwrap();
    assert_eq!(redis.lrange("resque:failed"), [e[1].as_str(), e[1].as_str(), e[3].as_str()]);
    failures.remove(2).unwrap();
    assert_eq!(redis.lrange("resque:failed"), [e[1].as_str(), e[1].as_str()]);
    assert_eq!(failures.count().unwrap(), 2);
}

#[test]
fn an_unknown_index_is_an_error_and_changes_nothing() {
    let redis = TestRedis::start();
    let node = entry("file_serve", NODE_PAYLOAD, "");
    push_all(&redis, "resque:failed", &[RUBY_ENTRY, &node]);
    let failures = RedisFailures::new(redis.client());
    for result in [failures.requeue(2), failures.remove(2), failures.remove(usize::MAX)] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::NoSuchFailure { count: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("holds 2 entries"), "{err}");
    }
    let err = failures.requeue(7).unwrap_err().to_string();
    assert_eq!(err, "no failure at index 7: the failed list holds 2 entries");
    assert_eq!(redis.lrange("resque:failed"), [RUBY_ENTRY, node.as_str()]);
    assert_eq!(redis.client().keys_in_namespace().unwrap(), ["failed"]);

    // An entry that cannot be requeued says why, and nothing changes.
    let mut conn = redis.conn();
    let _: () = conn.rpush("resque:failed", r#"{"payload":{"class":"A","args":[]}}"#).unwrap();
    let err = failures.requeue(2).unwrap_err();
    assert!(matches!(err, Error::BadFailure { index: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("no queue"), "{err}");
    assert_eq!(redis.client().keys_in_namespace().unwrap(), ["failed"]);
}

/// Two different entries whose ids collide (`printf '%s' '<entry>' |
/// sha1sum` gives d6628981df53fd3b… and d6628981df535f98…): 12 hex digits
/// of a hash can be made to collide with some effort.
const COLLIDING: [&str; 2] = [
    r#"{"failed_at":"2026/11/23 23:51:00 UTC","payload":{"class":"Boom","args":["cbb8c2a41f6f"]},"exception":"RuntimeError","error":"boom","backtrace":[],"worker":"web1:4212:q","queue":"q"}"#,
    r#"{"failed_at":"2026/11/23 23:51:00 UTC","payload":{"class":"Boom","args":["5332c5b704b9"]},"exception":"RuntimeError","error":"boom","backtrace":[],"worker":"web1:4212:q","queue":"q"}"#,
];

fn id_of(entry: &str) -> FailureId {
    FailureId::of(entry.as_bytes())
}

#[test]
fn ids_act_on_the_entry_seen_after_the_list_shifted() {
    let redis = TestRedis::start();
    let e: Vec<String> = (0..6).map(|i| entry("q", &job("A", i), "")).collect();
    push_all(&redis, "resque:failed", &e.iter().map(String::as_str).collect::<Vec<_>>());
    let failures = RedisFailures::new(redis.client());
    let ids: Vec<FailureId> = failures.all(0, 10).unwrap().iter().map(|f| f.id).collect();
    assert_eq!(ids, e.iter().map(|e| id_of(e)).collect::<Vec<_>>());
    // PROTOCOL.md's worked example.
    assert_eq!(id_of(RUBY_ENTRY).to_string(), "3db87e6340c9");

    // Another client removes index 2: by index, 5 would now miss [5] and 4 hit [5].
    failures.remove(2).unwrap();
    let (index, removed) = failures.remove_id(ids[5]).unwrap();
    assert_eq!((index, removed.id, removed.payload["args"].clone()), (4, ids[5], json!([5])));
    assert_eq!(redis.lrange("resque:failed"), [&e[0], &e[1], &e[3], &e[4]].map(String::clone));

    // A gone id is refused, by every operation, and changes nothing.
    for result in [failures.remove_id(ids[5]), failures.requeue_id(ids[5]), failures.find(ids[2])] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::NoSuchFailureId { .. }), "{err:?}");
    }
    assert_eq!(
        failures.remove_id(ids[5]).unwrap_err().to_string(),
        format!("no failure entry with id {} (it was removed or changed)", ids[5])
    );
    assert_eq!(failures.count().unwrap(), 4);
    assert_eq!(redis.client().keys_in_namespace().unwrap(), ["failed"], "nothing requeued");

    // Retry by id: the entry stays, marked, with the same id; removing by
    // that id afterwards still finds it.
    failures.remove(0).unwrap();
    let (index, retried) = failures.requeue_id(ids[3]).unwrap();
    assert_eq!((index, retried.retried_at), (1, None), "the entry as it was");
    assert_eq!(redis.lrange("resque:queue:q"), [job("A", 3)]);
    let list = redis.lrange("resque:failed");
    assert_retried(&list[1], &e[3]);
    let (index, found) = failures.find(ids[3]).unwrap();
    assert_eq!((index, found.id), (1, ids[3]));
    assert!(found.retried_at.is_some());
    failures.remove_id(ids[3]).unwrap();
    assert_eq!(redis.lrange("resque:failed"), [&e[1], &e[4]].map(String::clone));
}

#[test]
fn an_entry_retried_by_another_client_meanwhile_is_found_again_by_its_id() {
    let redis = TestRedis::start();
    push_all(&redis, "resque:failed", &[RUBY_ENTRY]);
    let failures = RedisFailures::new(redis.client());
    let id = failures.all(0, 1).unwrap()[0].id;
    // Ruby's resque-web retries it: the entry is rewritten with retried_at.
    let ruby_retried =
        format!(r#"{},"retried_at":"2026/11/24 00:10:00"}}"#, &RUBY_ENTRY[..RUBY_ENTRY.len() - 1]);
    let _: () = redis.conn().lset("resque:failed", 0, &ruby_retried).unwrap();
    let (_, removed) = failures.remove_id(id).unwrap();
    assert_eq!(removed.retried_at.as_deref(), Some("2026/11/24 00:10:00"));
    assert_eq!(failures.count().unwrap(), 0);
}

#[test]
fn identical_entries_share_an_id_and_colliding_ones_are_refused() {
    let redis = TestRedis::start();
    let a = entry("q", &job("A", 1), "");
    let a_retried = entry("q", &job("A", 1), r#","retried_at":"2026/11/24 00:10:00""#);
    push_all(&redis, "resque:failed", &[&a_retried, &a, COLLIDING[0], COLLIDING[1]]);
    let failures = RedisFailures::new(redis.client());
    // The same failure twice: acting on one is fine.
    assert_eq!(failures.remove_id(id_of(&a)).unwrap().0, 0);
    assert_eq!(failures.count().unwrap(), 3);

    let id = id_of(COLLIDING[0]);
    assert_eq!(id.to_string(), "d6628981df53");
    assert_eq!(id_of(COLLIDING[1]), id);
    for result in [failures.remove_id(id), failures.requeue_id(id), failures.find(id)] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::AmbiguousFailureId { count: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("by its index"), "{err}");
    }
    assert_eq!(redis.lrange("resque:failed"), [&a, COLLIDING[0], COLLIDING[1]]);
    assert_eq!(redis.client().keys_in_namespace().unwrap(), ["failed"]);
}

#[test]
fn a_listing_with_a_non_utf8_entry_lists_it_with_its_id() {
    let redis = TestRedis::start();
    let bad: &[u8] = b"{\"payload\":\"caf\xe9\",\"queue\":\"q\"}";
    let mut conn = redis.conn();
    let _: () = conn.rpush("resque:failed", RUBY_ENTRY).unwrap();
    let _: () = conn.rpush("resque:failed", bad).unwrap();
    let failures = RedisFailures::new(redis.client());
    let all = failures.all(0, 10).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].id, FailureId::of(bad));
    assert_eq!(redis.client().failures(0, 10).unwrap(), all);
    assert_eq!(failures.select(None, None).unwrap().len(), 2);
    failures.remove_id(FailureId::of(bad)).unwrap();
    assert_eq!(redis.lrange("resque:failed"), [RUBY_ENTRY]);
}

#[test]
fn requeue_not_retried_retries_each_entry_once() {
    let redis = TestRedis::start();
    let retried = entry("q", &job("A", 1), r#","retried_at":"2026/11/24 00:10:00""#);
    let fresh: Vec<String> = (2..5).map(|i| entry("q", &job("A", i), "")).collect();
    push_all(&redis, "resque:failed", &[&retried, &fresh[0], &fresh[1], "not json", &fresh[2]]);
    let failures = RedisFailures::new(redis.client());
    assert_eq!(failures.requeue_not_retried().unwrap(), 3);
    assert_eq!(redis.lrange("resque:queue:q"), [job("A", 2), job("A", 3), job("A", 4)]);
    // Clicking it again (or five times) runs nothing again.
    for _ in 0..4 {
        assert_eq!(failures.requeue_not_retried().unwrap(), 0);
    }
    assert_eq!(redis.lrange("resque:queue:q").len(), 3);
    // requeue_all, by contrast, runs every one again.
    assert_eq!(failures.requeue_all().unwrap(), 4);
    assert_eq!(redis.lrange("resque:queue:q").len(), 7);
}

#[test]
fn multi_queue_lists_act_by_id_too() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let _: () = conn.sadd("resque:failed_queues", &["a_failed", "b_failed"]).unwrap();
    let (a0, a1) =
        (entry("a", &job("A", 0), ""), entry("a", &job("A", 1), r#","retried_at":"2026/11/24 00:10:00""#));
    let (b0, b1) = (entry("b", &job("B", 0), ""), entry("b", &job("B", 1), ""));
    push_all(&redis, "resque:a_failed", &[&a0, &a1]);
    push_all(&redis, "resque:b_failed", &[&b0, &b1]);
    let failures = RedisMultiQueueFailures::new(redis.client());
    let ids: Vec<FailureId> = failures.all(0, 10).unwrap().iter().map(|f| f.id).collect();
    assert_eq!(ids, [&a0, &a1, &b0, &b1].map(|e| id_of(e)));
    // Overall indexes: b_failed[1] is 3; after a removal in a_failed, 2.
    failures.remove(0).unwrap();
    assert_eq!(failures.find(ids[3]).unwrap().0, 2);
    assert_eq!(failures.requeue_id(ids[3]).unwrap().0, 2);
    assert_eq!(redis.lrange("resque:queue:b"), [job("B", 1)]);
    assert!(matches!(failures.remove_id(ids[0]), Err(Error::NoSuchFailureId { .. })));
    assert_eq!(failures.find_in("b_failed", ids[3]).unwrap().0, 1);
    assert!(matches!(failures.find_in("a_failed", ids[3]), Err(Error::NoSuchFailureId { .. })));
    assert_eq!(failures.remove_id_in("b_failed", ids[2]).unwrap().0, 0);
    assert_eq!(failures.requeue_id_in("a_failed", ids[1]).unwrap().0, 0);
    assert_eq!(redis.lrange("resque:queue:a"), [job("A", 1)]);
    // a_failed[0] and b_failed[0] are both retried now: nothing is left to retry once.
    assert_eq!(failures.requeue_not_retried().unwrap(), 0);
    let _: () = conn.rpush("resque:b_failed", &b0).unwrap();
    assert_eq!(failures.requeue_not_retried().unwrap(), 1);
    assert_eq!(failures.requeue_not_retried_in("b_failed").unwrap(), 0);
    assert_eq!(redis.lrange("resque:queue:b"), [job("B", 1), job("B", 0)]);
}

#[test]
fn clear_and_clear_retried() {
    let redis = TestRedis::start();
    let retried = entry("q", &job("A", 1), r#","retried_at":"2026/11/24 00:10:00""#);
    let fresh = entry("q", &job("A", 2), "");
    let null_retried = entry("q", &job("A", 3), r#","retried_at":null"#);
    push_all(&redis, "resque:failed", &[&retried, &fresh, RUBY_ENTRY, &retried, &null_retried, "not json"]);
    let failures = RedisFailures::new(redis.client());

    failures.requeue(1).unwrap();
    assert_eq!(failures.clear_retried().unwrap(), 3);
    assert_eq!(redis.lrange("resque:failed"), [RUBY_ENTRY, &null_retried, "not json"]);

    failures.clear().unwrap();
    assert_eq!(failures.count().unwrap(), 0);
    let exists: bool = redis.conn().exists("resque:failed").unwrap();
    assert!(!exists);
    assert_eq!(failures.clear_retried().unwrap(), 0);
}

#[test]
fn requeue_all_requeue_queue_and_remove_queue() {
    let redis = TestRedis::start();
    let a1 = entry("a", &job("A", 1), "");
    let b1 = entry("b", &job("B", 1), "");
    let a2 = entry("a", NODE_PAYLOAD, "");
    let b2 = entry("b", &job("B", 2), "");
    push_all(&redis, "resque:failed", &[&a1, &b1, &a2, &b2]);
    let failures = RedisFailures::new(redis.client());

    assert_eq!(failures.requeue_queue("a").unwrap(), 2);
    assert_eq!(redis.lrange("resque:queue:a"), [job("A", 1).as_str(), NODE_PAYLOAD]);
    assert!(redis.lrange("resque:queue:b").is_empty());
    let list = redis.lrange("resque:failed");
    assert_retried(&list[0], &a1);
    assert_eq!(list[1], b1);
    assert_retried(&list[2], &a2);
    assert_eq!(list[3], b2);

    assert_eq!(failures.remove_queue("b").unwrap(), 2);
    let list = redis.lrange("resque:failed");
    assert_eq!(list.len(), 2);
    assert_retried(&list[0], &a1);
    assert_retried(&list[1], &a2);

    // requeue_all skips what cannot be requeued and does the rest.
    let mut conn = redis.conn();
    let _: () = conn.rpush("resque:failed", "not json").unwrap();
    let _: () = conn.rpush("resque:failed", &b2).unwrap();
    assert_eq!(failures.requeue_all().unwrap(), 3);
    assert_eq!(redis.lrange("resque:queue:a").len(), 4);
    assert_eq!(redis.lrange("resque:queue:b"), [job("B", 2)]);
    let list = redis.lrange("resque:failed");
    assert_eq!(list[2], "not json");
    assert_retried(&list[3], &b2);
}

#[test]
fn all_and_select() {
    let redis = TestRedis::start();
    let a1 = entry("a", &job("A", 1), "");
    let b1 = entry("b", &job("B", 1), "");
    let a2 = entry("b", &job("A", 2), "");
    push_all(&redis, "resque:failed", &[RUBY_ENTRY, &a1, &b1, &a2, "not json"]);
    let failures = RedisFailures::new(redis.client());

    let page = failures.all(1, 2).unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].payload, json!({"class":"A","args":[1]}));
    assert_eq!(page[1].queue.as_deref(), Some("b"));
    assert_eq!(failures.all(4, 10).unwrap()[0].payload, Value::String("not json".into()));
    assert!(failures.all(9, 10).unwrap().is_empty());
    assert!(failures.all(0, 0).unwrap().is_empty());

    let indexes =
        |found: Vec<(usize, resque::payload::Failure)>| found.into_iter().map(|(i, _)| i).collect::<Vec<_>>();
    assert_eq!(indexes(failures.select(Some("A"), None).unwrap()), [1, 3]);
    assert_eq!(indexes(failures.select(None, Some("b")).unwrap()), [2, 3]);
    assert_eq!(indexes(failures.select(Some("A"), Some("b")).unwrap()), [3]);
    assert_eq!(indexes(failures.select(None, None).unwrap()), [0, 1, 2, 3, 4]);
    assert_eq!(
        failures.select(Some("Archive"), None).unwrap()[0].1.exception.as_deref(),
        Some("Errno::ENOENT")
    );
}

#[test]
fn multi_queue_backend_uses_queue_failed_lists() {
    let redis = TestRedis::start();
    let failures = RedisMultiQueueFailures::new(redis.client());
    let (p1, p2, p3) = (raw(NODE_PAYLOAD), raw(&job("Mail", 1)), raw(&job("Archive", 2)));
    failures.save(&new_failure(&p1, "file_serve")).unwrap();
    failures.save(&new_failure(&p2, "mail")).unwrap();
    failures.save(&new_failure(&p3, "file_serve")).unwrap();

    let mut names: Vec<String> = redis.conn().smembers("resque:failed_queues").unwrap();
    names.sort();
    assert_eq!(names, ["file_serve_failed", "mail_failed"]);
    assert_eq!(failures.failed_lists().unwrap(), names);
    let fs = redis.lrange("resque:file_serve_failed");
    assert_eq!(fs, [new_failure(&p1, "file_serve").to_json(), new_failure(&p3, "file_serve").to_json()]);
    assert_eq!(redis.lrange("resque:mail_failed"), [new_failure(&p2, "mail").to_json()]);
    let exists: bool = redis.conn().exists("resque:failed").unwrap();
    assert!(!exists, "nothing goes to `failed`");

    assert_eq!(failures.count().unwrap(), 3);
    assert_eq!(failures.count_in("file_serve_failed").unwrap(), 2);
    // One view: the lists by name, each oldest first.
    let all = failures.all(0, 10).unwrap();
    let classes: Vec<&Value> = all.iter().map(|f| &f.payload["class"]).collect();
    assert_eq!(classes, ["Archive", "Archive", "Mail"]);
    assert_eq!(failures.all(1, 2).unwrap()[1].queue.as_deref(), Some("mail"));
    assert_eq!(failures.all_in("mail_failed", 0, 5).unwrap().len(), 1);
    let found = failures.select(Some("Mail"), None).unwrap();
    assert_eq!(found.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [2]);
    // Within one list, indexes are the list's own.
    let found = failures.select_in("file_serve_failed", Some("Archive"), Some("file_serve")).unwrap();
    assert_eq!(found.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1]);
    assert!(failures.select_in("file_serve_failed", Some("Mail"), None).unwrap().is_empty());
    // mail_failed sorts after file_serve_failed: its own index 0 is overall index 2.
    let found = failures.select_in("mail_failed", Some("Mail"), None).unwrap();
    assert_eq!(found.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0]);
    assert_eq!(found[0].1.payload, json!({"class":"Mail","args":[1]}));

    // Overall index 2 is mail_failed[0].
    failures.requeue(2).unwrap();
    assert_eq!(redis.lrange("resque:queue:mail"), [job("Mail", 1)]);
    assert_retried(&redis.lrange("resque:mail_failed")[0], &new_failure(&p2, "mail").to_json());
    failures.requeue_in("file_serve_failed", 0).unwrap();
    assert_eq!(redis.lrange("resque:queue:file_serve"), [NODE_PAYLOAD]);
    assert_retried(&redis.lrange("resque:file_serve_failed")[0], &fs[0]);

    let err = failures.requeue(3).unwrap_err();
    assert!(matches!(err, Error::NoSuchFailure { index: 3, count: 3 }), "{err:?}");
    let err = failures.remove_in("mail_failed", 1).unwrap_err();
    assert!(matches!(err, Error::NoSuchFailure { index: 1, count: 1 }), "{err:?}");
    assert_eq!(failures.count().unwrap(), 3);

    assert_eq!(failures.clear_retried().unwrap(), 2);
    assert_eq!(redis.lrange("resque:file_serve_failed"), [fs[1].as_str()]);
    assert_eq!(failures.count().unwrap(), 1);

    failures.save(&new_failure(&p2, "mail")).unwrap();
    failures.save(&new_failure(&p2, "mail")).unwrap();
    failures.remove(1).unwrap();
    assert_eq!(failures.count_in("mail_failed").unwrap(), 1);
    assert_eq!(failures.remove_queue("mail").unwrap(), 1);
    assert_eq!(failures.count().unwrap(), 1);

    assert_eq!(failures.requeue_queue("file_serve").unwrap(), 1);
    assert_eq!(redis.lrange("resque:queue:file_serve"), [NODE_PAYLOAD, &job("Archive", 2)]);
    assert_eq!(failures.requeue_all_in("file_serve_failed").unwrap(), 1);
    assert_eq!(
        redis.lrange("resque:queue:file_serve"),
        [NODE_PAYLOAD, &job("Archive", 2), &job("Archive", 2)]
    );
    failures.remove_in("file_serve_failed", 0).unwrap();
    failures.save(&new_failure(&p2, "mail")).unwrap();
    failures.clear().unwrap();
    assert_eq!(failures.count().unwrap(), 0);
    assert_eq!(
        redis.client().keys_in_namespace().unwrap(),
        ["failed_queues", "queue:file_serve", "queue:mail", "queues"]
    );
}

#[test]
fn multi_queue_backend_reads_ruby_lists() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let _: () = conn.sadd("resque:failed_queues", "file_serve_failed").unwrap();
    push_all(&redis, "resque:file_serve_failed", &[RUBY_ENTRY]);
    let failures = RedisMultiQueueFailures::new(redis.client());
    assert_eq!(failures.count().unwrap(), 1);
    assert_eq!(failures.requeue_all().unwrap(), 1);
    assert_eq!(redis.lrange("resque:queue:file_serve"), [RUBY_PAYLOAD]);
    assert_retried(&redis.lrange("resque:file_serve_failed")[0], RUBY_ENTRY);
}

#[test]
fn multiple_saves_to_every_backend_and_queries_the_first() {
    let redis = TestRedis::start();
    let c = redis.client();
    let failures = MultipleFailures::new(vec![
        Box::new(RedisFailures::new(c.clone())),
        Box::new(RedisMultiQueueFailures::new(c.clone())),
        Box::new(LogFailures::new()),
    ]);
    let p = raw(NODE_PAYLOAD);
    let f = new_failure(&p, "file_serve");
    failures.save(&f).unwrap();
    assert_eq!(redis.lrange("resque:failed"), [f.to_json()]);
    assert_eq!(redis.lrange("resque:file_serve_failed"), [f.to_json()]);
    assert_eq!(failures.count().unwrap(), 1);
    failures.remove(0).unwrap();
    assert_eq!(failures.count().unwrap(), 0);
    assert_eq!(redis.lrange("resque:file_serve_failed").len(), 1, "only the first is changed");

    let none = MultipleFailures::new(Vec::new());
    none.save(&f).unwrap();
    assert_eq!(none.count().unwrap(), 0);
    assert!(matches!(none.requeue(0), Err(Error::NoSuchFailure { index: 0, count: 0 })));
}

#[test]
fn log_backend_stores_nothing() {
    let redis = TestRedis::start();
    let log = LogFailures::new();
    let p = raw(RUBY_PAYLOAD);
    log.save(&new_failure(&p, "file_serve")).unwrap();
    assert_eq!(log.count().unwrap(), 0);
    assert!(log.all(0, 10).unwrap().is_empty());
    assert!(log.select(None, None).unwrap().is_empty());
    assert!(matches!(log.remove(0), Err(Error::NoSuchFailure { index: 0, count: 0 })));
    assert!(matches!(log.remove_id(id_of(RUBY_ENTRY)), Err(Error::NoSuchFailureId { .. })));
    assert_eq!(log.requeue_not_retried().unwrap(), 0);
    assert_eq!(log.requeue_all().unwrap(), 0);
    assert!(redis.client().keys_in_namespace().unwrap().is_empty());
}

mod worker_backends {
    use std::time::Duration;

    use redis::Commands;
    use resque::FailureBackend;
    use resque_tests::jobs::fail;
    use resque_tests::{run, TestRedis};

    fn work(redis: &TestRedis, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
        let out = run(
            crate::worker(redis)
                .args(["work", "-i", "0", "-q", "failing"])
                .args(args)
                .envs(env.iter().copied()),
            Duration::from_secs(60),
        );
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    #[test]
    fn failure_backend_redis_multi_queue_writes_rubys_per_queue_lists() {
        let redis = TestRedis::start();
        fail::enqueue_to(&redis.client(), "per queue").unwrap();
        let (ok, stderr) = work(&redis, &[("FAILURE_BACKEND", "redis_multi_queue")], &[]);
        assert!(ok, "{stderr}");
        let mut conn = redis.conn();
        let lists: Vec<String> = conn.smembers("resque:failed_queues").unwrap();
        assert_eq!(lists, ["failing_failed"]);
        let entries: Vec<String> = conn.lrange("resque:failing_failed", 0, -1).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].contains("failed on purpose: per queue"), "{}", entries[0]);
        assert!(redis.failures().is_empty(), "nothing in the plain failed list");
        assert_eq!(redis.client().stat("failed").unwrap(), 1);

        let backend = resque::RedisMultiQueueFailures::new(redis.client());
        assert_eq!(backend.count().unwrap(), 1);
        backend.requeue(0).unwrap();
        assert_eq!(redis.client().size("failing").unwrap(), 1, "retried from the per-queue list");
    }

    #[test]
    fn several_backends_and_the_log_backend() {
        let redis = TestRedis::start();
        fail::enqueue_to(&redis.client(), "both").unwrap();
        let (ok, stderr) = work(&redis, &[], &["--failure-backend", "redis,redis_multi_queue"]);
        assert!(ok, "{stderr}");
        assert_eq!(redis.failures().len(), 1);
        let per_queue: u64 = redis.conn().llen("resque:failing_failed").unwrap();
        assert_eq!(per_queue, 1);

        fail::enqueue_to(&redis.client(), "logged").unwrap();
        let (ok, stderr) = work(&redis, &[("FAILURE_BACKEND", "log")], &[]);
        assert!(ok, "{stderr}");
        assert!(stderr.contains("job failed") && stderr.contains("failed on purpose: logged"), "{stderr}");
        assert_eq!(redis.failures().len(), 1, "the log backend stores nothing");
        assert_eq!(redis.client().stat("failed").unwrap(), 2, "but the failure is counted");

        let (ok, stderr) = work(&redis, &[("FAILURE_BACKEND", "airbrake")], &[]);
        assert!(!ok);
        assert!(stderr.contains("unknown failure backend \"airbrake\""), "{stderr}");
    }
}
