//! `delayed list|show|queue-now|cancel|clear` against a real server: their
//! output, and what they leave in resque-scheduler's keys.

use std::collections::BTreeSet;

use redis::Commands;
use resque_tests::TestRedis;
use serde_json::{json, Value};

use super::admin::{admin, fails, json_of, ok, row};

/// 2100-01-01, always ahead.
const AT: i64 = 4_102_444_800;
const ITEM: &str = r#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#;
const NODE_ITEM: &str = r#"{"class":"Mailer","queue":"mail","args":["hi"]}"#;

fn keys(redis: &TestRedis) -> BTreeSet<String> {
    let names: Vec<String> = redis.conn().keys("*").unwrap();
    names.into_iter().collect()
}

/// The time `delayed` shows for `at`, read back.
fn second_of(time: &Value) -> i64 {
    let text = time.as_str().unwrap_or_else(|| panic!("not a time: {time}"));
    resque::payload::time::parse_any(text).unwrap_or_else(|| panic!("unreadable time {text:?}")).as_second()
}

#[test]
fn list_shows_each_second_with_its_jobs() {
    let redis = TestRedis::start();
    assert_eq!(ok(&redis, &["delayed", "list"]), "no delayed jobs\n");
    assert_eq!(json_of(&redis, &["delayed", "list", "--json"]), json!([]));
    redis.delay_as_ruby(AT, ITEM);
    redis.delay_as_ruby(AT, NODE_ITEM);
    redis.delay_as_ruby(AT + 60, ITEM);
    let listed = json_of(&redis, &["delayed", "list", "--json"]);
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0]["at"].as_i64(), rows[0]["jobs"].as_u64()), (Some(AT), Some(2)));
    assert_eq!((rows[1]["at"].as_i64(), rows[1]["jobs"].as_u64()), (Some(AT + 60), Some(1)));
    assert_eq!(second_of(&rows[1]["time"]), AT + 60);
    let table = ok(&redis, &["delayed", "list"]);
    assert!(table.starts_with("AT "), "{table}");
    let first = row(&table, &AT.to_string());
    assert_eq!(first.last().map(String::as_str), Some("2"), "{table}");
    // 4102444800 is 2100-01-01 00:00:00 UTC, shown as every CLI time is.
    assert_eq!(first[1..4], ["2100-01-01", "00:00:00", "UTC"], "{table}");
    assert!(table.ends_with("2 of 2 seconds shown; 3 jobs delayed in all\n"), "{table}");
    let paged = json_of(&redis, &["delayed", "list", "--start", "1", "--count", "5", "--json"]);
    assert_eq!(paged[0]["at"].as_i64(), Some(AT + 60));
    assert_eq!(paged.as_array().map(Vec::len), Some(1));
    assert_eq!(
        ok(&redis, &["delayed", "list", "--start", "7"]),
        "no seconds from position 7: 2 seconds have delayed jobs\n"
    );
}

#[test]
fn show_lists_the_jobs_at_one_second() {
    let redis = TestRedis::start();
    redis.delay_as_ruby(AT, ITEM);
    redis.delay_as_ruby(AT, NODE_ITEM);
    redis.delay_as_ruby(AT, "not json");
    let shown = json_of(&redis, &["delayed", "show", &AT.to_string(), "--json"]);
    assert_eq!(shown["at"].as_i64(), Some(AT));
    assert_eq!(second_of(&shown["time"]), AT);
    assert_eq!(
        shown["jobs"][0],
        json!({
            "index": 0, "class": "Archive", "queue": "file_serve", "args": [44, "masterbrew"],
            "item": {"class": "Archive", "args": [44, "masterbrew"], "queue": "file_serve"}
        })
    );
    assert_eq!(shown["jobs"][1]["queue"], "mail");
    assert_eq!(
        shown["jobs"][2],
        json!({"index": 2, "class": null, "queue": null, "args": null, "item": "not json"})
    );
    let table = ok(&redis, &["delayed", "show", &AT.to_string()]);
    assert!(table.starts_with("3 jobs due at "), "{table}");
    assert!(table.lines().next().unwrap().ends_with(&format!("({AT})")), "{table}");
    assert_eq!(row(&table, "0"), ["0", "Archive", "file_serve", r#"[44,"masterbrew"]"#]);
    assert_eq!(row(&table, "2"), ["2", "-", "-", "not", "json"]);
    // A time as `list` shows it names the same second.
    let time = shown["time"].as_str().unwrap().to_string();
    assert_eq!(json_of(&redis, &["delayed", "show", &time, "--json"])["at"].as_i64(), Some(AT));
    assert!(ok(&redis, &["delayed", "show", "12"]).starts_with("no delayed jobs at "));
    let bad = admin(&redis, &["delayed", "show", "soon"]);
    assert!(!bad.ok && bad.stderr.contains("\"soon\" is not a second"), "{}", bad.stderr);
}

#[test]
fn queue_now_pushes_every_job_of_the_second_and_tidies() {
    let redis = TestRedis::start();
    redis.delay_as_ruby(AT, ITEM);
    redis.delay_as_ruby(AT, NODE_ITEM);
    redis.delay_as_ruby(AT + 1, ITEM);
    let said = ok(&redis, &["delayed", "queue-now", &AT.to_string()]);
    assert!(said.starts_with("queued 2 jobs due at ") && said.ends_with(&format!("({AT}) now\n")), "{said}");
    assert_eq!(redis.lrange("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
    assert_eq!(redis.lrange("resque:queue:mail"), [r#"{"class":"Mailer","args":["hi"]}"#]);
    let left: Vec<i64> = redis.conn().zrange("resque:delayed_queue_schedule", 0, -1).unwrap();
    assert_eq!(left, [AT + 1]);
    // An item that is not a job stays, and is named.
    redis.delay_as_ruby(AT + 1, "not json");
    let out = admin(&redis, &["delayed", "queue-now", &(AT + 1).to_string()]);
    let err = out.stderr;
    assert!(!out.ok && out.stdout.starts_with("queued 1 job due at "), "{}", out.stdout);
    assert!(err.contains("left 1 item at 4102444801 that is not a job") && err.contains("not json"), "{err}");
    assert_eq!(redis.lrange("resque:delayed:4102444801"), ["not json"]);
    assert_eq!(redis.lrange("resque:queue:file_serve").len(), 2);
}

#[test]
fn cancel_removes_a_second_or_one_job() {
    let redis = TestRedis::start();
    redis.delay_as_ruby(AT, ITEM);
    redis.delay_as_ruby(AT, NODE_ITEM);
    redis.delay_as_ruby(AT + 1, ITEM);
    redis.delay_as_ruby(AT + 2, ITEM);
    let said = ok(&redis, &["delayed", "cancel", &AT.to_string()]);
    assert!(said.starts_with("cancelled 2 jobs due at "), "{said}");
    // Archive is linked into the test binary: its queue is known.
    let said = ok(&redis, &["delayed", "cancel", "--class", "Archive", "--args", r#"[44,"masterbrew"]"#]);
    assert_eq!(said, "cancelled 2 delayed jobs of Archive [44,\"masterbrew\"] on queue file_serve\n");
    assert_eq!(keys(&redis), ["resque:delayed_queue_schedule".to_string()].into());
    let err = fails(&redis, &["delayed", "cancel", "--class", "Mailer", "--args", r#"["hi"]"#]);
    assert!(err.contains("pass -q QUEUE"), "{err}");
    // Matched by its bytes as Ruby writes them: node-resque's order is another job.
    redis.delay_as_ruby(AT, NODE_ITEM);
    redis.delay_as_ruby(AT, r#"{"class":"Mailer","args":["hi"],"queue":"mail"}"#);
    let said = ok(&redis, &["delayed", "cancel", "--class", "Mailer", "--args", r#"["hi"]"#, "-q", "mail"]);
    assert_eq!(said, "cancelled 1 delayed job of Mailer [\"hi\"] on queue mail\n");
    let err = fails(&redis, &["delayed", "cancel", "--class", "Mailer", "--args", "{}", "-q", "mail"]);
    assert!(err.contains("args must be a JSON array"), "{err}");
    assert_eq!(redis.lrange(&format!("resque:delayed:{AT}")), [NODE_ITEM]);
}

#[test]
fn clear_removes_every_delayed_job() {
    let redis = TestRedis::start();
    redis.delay_as_ruby(AT, ITEM);
    redis.delay_as_ruby(AT + 3, NODE_ITEM);
    let _: () = redis.conn().rpush("resque:queue:mail", "{}").unwrap();
    assert_eq!(ok(&redis, &["delayed", "clear"]), "cleared the delayed jobs: removed 2 jobs\n");
    assert_eq!(keys(&redis), ["resque:queue:mail".to_string()].into());
}
