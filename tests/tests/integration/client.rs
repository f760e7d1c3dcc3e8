//! The client API against a real server.

use redis::Commands;
use resque_tests::jobs::{archive, record};
use resque_tests::TestRedis;
use serde_json::json;

#[test]
fn queues_size_peek_and_remove() {
    let redis = TestRedis::start();
    let c = redis.client();
    for i in 0..5 {
        archive::enqueue_to(&c, i, "b").unwrap();
    }
    c.enqueue_class("mail", "Mail", &["x"]).unwrap();
    assert_eq!(c.queues().unwrap(), ["file_serve", "mail"]);
    assert_eq!(c.size("file_serve").unwrap(), 5);
    let peeked = c.peek("file_serve", 1, 2).unwrap();
    assert_eq!(
        peeked,
        [json!({"class":"Archive","args":[1,"b"]}), json!({"class":"Archive","args":[2,"b"]})]
    );
    assert_eq!(c.size("file_serve").unwrap(), 5, "peek does not remove");
    c.remove_queue("file_serve").unwrap();
    assert_eq!(c.queues().unwrap(), ["mail"]);
    assert_eq!(c.size("file_serve").unwrap(), 0);
}

#[test]
fn dequeue_by_class_and_by_args() {
    let redis = TestRedis::start();
    let c = redis.client();
    archive::enqueue_to(&c, 1, "a").unwrap();
    archive::enqueue_to(&c, 2, "b").unwrap();
    archive::enqueue_to(&c, 1, "a").unwrap();
    c.enqueue_class("file_serve", "Other", &(1, "a")).unwrap();
    // A node-resque style payload with an extra member still matches.
    c.push_raw("file_serve", r#"{"class":"Archive","queue":"file_serve","args":[3,"c"]}"#).unwrap();

    let removed = c.dequeue_job(&archive::Args { repo_id: 1, branch: "a".into() }).unwrap();
    assert_eq!(removed, 2);
    assert_eq!(c.size("file_serve").unwrap(), 3);

    let removed = c.dequeue::<archive::Args>().unwrap();
    assert_eq!(removed, 2);
    let left: Vec<String> = redis.conn().lrange("resque:queue:file_serve", 0, -1).unwrap();
    assert_eq!(left, [r#"{"class":"Other","args":[1,"a"]}"#]);

    assert_eq!(c.dequeue_class("file_serve", "Other", Some(&[json!(9), json!("a")])).unwrap(), 0);
    assert_eq!(c.dequeue_class("file_serve", "Other", None).unwrap(), 1);
}

#[test]
fn info_workers_working_failures_and_keys() {
    let redis = TestRedis::start();
    let c = redis.client();
    record::enqueue_to(&c, "/tmp/x", "y").unwrap();
    archive::enqueue_to(&c, 1, "a").unwrap();
    archive::enqueue_to(&c, 2, "a").unwrap();
    let mut conn = redis.conn();
    // A Ruby worker's registration and processing record, verbatim.
    let id = "web1:4211:file_serve";
    let _: () = conn.sadd("resque:workers", id).unwrap();
    let _: () = conn.sadd("resque:workers", "web1:4212:mail").unwrap();
    let _: () = conn
        .set(
            format!("resque:worker:{id}"),
            r#"{"queue":"file_serve","run_at":"2026-11-23T23:50:00Z","payload":{"class":"Archive","args":[44,"masterbrew"]}}"#,
        )
        .unwrap();
    let _: () = conn.set("resque:stat:processed", 7).unwrap();
    // A Ruby failure entry, verbatim from PROTOCOL.md.
    let entry = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Archive","args":[44,"masterbrew"]},"exception":"Errno::ENOENT","error":"No such file or directory","backtrace":["..."],"worker":"web1:4211:file_serve","queue":"file_serve"}"#;
    let _: () = conn.rpush("resque:failed", entry).unwrap();

    let info = c.info().unwrap();
    assert_eq!(info.pending, 3);
    assert_eq!(info.processed, 7);
    assert_eq!(info.queues, 2);
    assert_eq!(info.workers, 2);
    assert_eq!(info.working, 1);
    assert_eq!(info.failed, 1);
    assert_eq!(info.servers, [redis.url()]);

    assert_eq!(c.workers().unwrap(), ["web1:4211:file_serve", "web1:4212:mail"]);
    let working = c.working().unwrap();
    assert_eq!(working.len(), 1);
    assert_eq!(working[0].0, id);
    assert_eq!(working[0].1.queue, "file_serve");
    assert_eq!(working[0].1.payload, json!({"class":"Archive","args":[44,"masterbrew"]}));

    assert_eq!(c.failed_count().unwrap(), 1);
    let failures = c.failures(0, 10).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].exception.as_deref(), Some("Errno::ENOENT"));
    assert_eq!(failures[0].worker.as_deref(), Some(id));
    assert_eq!(failures[0].backtrace.as_deref(), Some(&["...".to_string()][..]));

    let keys = c.keys_in_namespace().unwrap();
    for k in ["failed", "queue:file_serve", "queue:record", "queues", "stat:processed", "workers"] {
        assert!(keys.contains(&k.to_string()), "{k} missing from {keys:?}");
    }
}

#[test]
fn info_on_an_empty_namespace() {
    let redis = TestRedis::start();
    let info = redis.client().info().unwrap();
    assert_eq!((info.pending, info.queues, info.workers, info.failed), (0, 0, 0, 0));
}

#[test]
fn resque_yml_picks_the_environment() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resque.yml");
    std::fs::write(
        &path,
        format!(
            "development: 127.0.0.1:1\nproduction:\n  host: 127.0.0.1\n  port: {}\n  namespace: prod\n",
            redis.port()
        ),
    )
    .unwrap();
    let config = resque::config::Config::load(&path).unwrap();
    let client = config.client_for("production").unwrap();
    assert_eq!(client.namespace(), "prod");
    client.enqueue_class("q", "J", &[1]).unwrap();
    let len: u64 = redis.conn().llen("prod:queue:q").unwrap();
    assert_eq!(len, 1);
    let err = config.client_for("staging").unwrap_err().to_string();
    assert!(err.contains("staging") && err.contains("development, production"), "{err}");
}

#[test]
fn pages_and_indexes_past_the_end_never_wrap_around() {
    use resque::failure::{FailureBackend, RedisFailures};
    let redis = TestRedis::start();
    let c = redis.client();
    for i in 0..3 {
        archive::enqueue_to(&c, i, "b").unwrap();
    }
    // LRANGE counts a negative index from the end: a huge count or start
    // must not turn into one.
    assert_eq!(c.peek("file_serve", 0, usize::MAX).unwrap().len(), 3);
    assert!(c.peek("file_serve", usize::MAX, 2).unwrap().is_empty());

    let failure = json!({"failed_at": "2026/11/24 07:00:00 UTC", "payload": {"class": "Archive", "args": [9, "b"]},
        "exception": "RuntimeError", "error": "boom", "backtrace": [], "worker": "w", "queue": "file_serve"});
    let _: () = redis.conn().rpush(c.keys().failed(), failure.to_string()).unwrap();
    assert_eq!(c.failures(0, usize::MAX).unwrap().len(), 1);
    let failures = RedisFailures::new(c.clone());
    assert!(matches!(failures.requeue(usize::MAX), Err(resque::Error::NoSuchFailure { .. })));
    assert_eq!(c.size("file_serve").unwrap(), 3, "nothing was requeued");
}
