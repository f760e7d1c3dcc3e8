//! `schedule list|enqueue-now|set|remove` against a real server: their
//! output, and what they write to resque-scheduler's keys.

use redis::Commands;
use resque_tests::TestRedis;
use serde_json::{json, Value};

use super::admin::{fails, json_of, ok, row};

const PERSISTENT: &str = "resque:persistent_schedules";
const CHANGED: &str = "resque:schedules_changed";
const LOCK: &str = "resque:resque:resque_scheduler_master_lock";

/// A schedule file with one static schedule; its path.
fn schedule_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("schedule.yml");
    std::fs::write(
        &path,
        "nightly:\n  cron: \"0 3 * * * UTC\"\n  class: Archive\n  queue: file_serve\n  args: [44]\n",
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

fn named<'a>(listing: &'a Value, name: &str) -> &'a Value {
    let all = listing["schedules"].as_array().unwrap();
    all.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no schedule {name} in {listing}"))
}

#[test]
fn set_list_and_remove_a_dynamic_schedule() {
    let redis = TestRedis::start();
    // The job the test binary declares with a cron is a static schedule.
    let listing = json_of(&redis, &["schedule", "list", "--json"]);
    assert_eq!(listing["leader"], Value::Null);
    assert_eq!(listing["schedules"].as_array().map(Vec::len), Some(1), "{listing}");
    let config = r#"{"every":["1h",{"first_in":"5s"}],"persist":true,"class":"Mailer","queue":"mail","args":{"to":"a"}}"#;
    let said = ok(&redis, &["schedule", "set", "digest", config]);
    assert_eq!(said, "set the dynamic schedule digest (Mailer, every 1h (first in 5s))\n");
    let stored: Option<String> = redis.conn().hget(PERSISTENT, "digest").unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(r#"{"every":["1h",{"first_in":"5s"}],"class":"Mailer","queue":"mail","args":{"to":"a"}}"#)
    );
    let changed: Vec<String> = redis.conn().smembers(CHANGED).unwrap();
    assert_eq!(changed, ["digest"]);
    let _: () = redis.conn().set(LOCK, "rubyhost:77").unwrap();
    let listing = json_of(&redis, &["schedule", "list", "--json"]);
    assert_eq!(listing["leader"], "rubyhost:77");
    let digest = named(&listing, "digest");
    assert_eq!(digest["dynamic"], true);
    assert_eq!(digest["every"], "1h");
    assert_eq!(digest["first_in"], "5s");
    assert_eq!(digest["args"], json!([{"to": "a"}]));
    assert_eq!(digest["last_run"], Value::Null);
    assert!(digest["next_run"].is_string(), "{digest}");
    let table = ok(&redis, &["schedule", "list"]);
    assert!(table.starts_with("scheduler leading: rubyhost:77\n"), "{table}");
    let line = row(&table, "digest");
    assert_eq!(line[1..3], ["Mailer".to_string(), "mail".to_string()], "{table}");
    assert_eq!(line.last().map(String::as_str), Some("dynamic"), "{table}");
    // The job's cron runs on January 1st at midnight UTC: its next run, as every CLI time.
    let yearly = row(&table, "Yearly");
    let day = yearly.iter().position(|c| c.len() == 10 && c.ends_with("-01-01")).unwrap_or(0);
    assert_eq!(yearly[day + 1..day + 3], ["00:00:00".to_string(), "UTC".to_string()], "{table}");
    assert_eq!(ok(&redis, &["schedule", "remove", "digest"]), "removed the dynamic schedule digest\n");
    let stored: Option<String> = redis.conn().hget(PERSISTENT, "digest").unwrap();
    assert_eq!(stored, None);
    let e = fails(&redis, &["schedule", "remove", "digest"]);
    assert!(e.contains("no dynamic schedule named \"digest\""), "{e}");
}

#[test]
fn a_bad_config_says_what_is_wrong_and_writes_nothing() {
    let redis = TestRedis::start();
    for (config, says) in [
        (r#"{"class":"A"}"#, "no cron or every"),
        (r#"{"cron":"61 * * * *"}"#, "invalid cron"),
        ("not json", "is not JSON"),
        ("[1]", "mapping"),
    ] {
        let e = fails(&redis, &["schedule", "set", "x", config]);
        assert!(e.contains(says), "{config}: {e}");
    }
    let keys: Vec<String> = redis.conn().keys("*").unwrap();
    assert_eq!(keys, Vec::<String>::new());
}

#[test]
fn enqueue_now_runs_a_static_or_dynamic_schedule_once() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let file = schedule_file(&dir);
    let listing = json_of(&redis, &["schedule", "list", "--json", "--schedule", &file]);
    let nightly = named(&listing, "nightly");
    assert_eq!(
        (nightly["cron"].as_str(), nightly["dynamic"].as_bool()),
        (Some("0 3 * * * UTC"), Some(false))
    );
    assert_eq!(
        ok(&redis, &["schedule", "enqueue-now", "nightly", "--schedule", &file]),
        "enqueued Archive of schedule nightly on queue file_serve\n"
    );
    let queued: Vec<String> = redis.conn().lrange("resque:queue:file_serve", 0, -1).unwrap();
    assert_eq!(queued, [r#"{"class":"Archive","args":[44]}"#]);
    // The declared job's queue is its own.
    let declared = named(&listing, "Yearly");
    ok(&redis, &["schedule", "enqueue-now", "Yearly"]);
    let queued: Vec<String> = redis.conn().lrange("resque:queue:yearly", 0, -1).unwrap();
    assert_eq!(queued, [r#"{"class":"Yearly","args":["new year"]}"#], "{declared}");
    let last: Vec<String> = redis.conn().hkeys("resque:delayed:last_enqueued_at").unwrap();
    assert_eq!(last, Vec::<String>::new(), "enqueue now records no run");
    let e = fails(&redis, &["schedule", "enqueue-now", "nightly"]);
    assert!(e.contains("no schedule named \"nightly\"") && e.contains("--schedule"), "{e}");
}
