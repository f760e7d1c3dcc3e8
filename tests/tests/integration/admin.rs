//! The admin commands (`queues`, `info`, `workers`, `failed ...`, `enqueue`,
//! `remove-queue`, `remove-worker`, `prune`, `pause`, `resume`) against a
//! real server: their output, and what they leave in Redis.

use std::time::Duration;

use redis::Commands;
use resque_tests::{run, TestRedis};
use serde_json::{json, Value};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

/// A Ruby failure entry, as in `failure.rs` (Ruby's `Failure::Redis` format).
const RUBY_ENTRY: &str = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Archive","args":[44,"masterbrew"]},"exception":"Errno::ENOENT","error":"No such file or directory","backtrace":["..."],"worker":"web1:4211:file_serve","queue":"file_serve"}"#;

/// An entry as resque-rs writes one, for `queue`, with a job of `class`.
fn entry(queue: &str, class: &str, n: u32, extra: &str) -> String {
    format!(
        r#"{{"failed_at":"2026/11/23 23:51:00 UTC","payload":{{"class":"{class}","args":[{n}]}},"exception":"RuntimeError","error":"boom {n}","backtrace":["jobs.rs:{n}","worker.rs:7"],"worker":"web1:4212:{queue}","queue":"{queue}"{extra}}}"#
    )
}

pub(super) struct Out {
    pub(super) ok: bool,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

/// Runs the CLI (the test worker binary, the same CLI) with `args`.
pub(super) fn admin(redis: &TestRedis, args: &[&str]) -> Out {
    let out = run(worker(redis).args(args), LIMIT);
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `args`, which must succeed; returns stdout.
pub(super) fn ok(redis: &TestRedis, args: &[&str]) -> String {
    let out = admin(redis, args);
    assert!(out.ok, "{args:?} failed:\n{}{}", out.stdout, out.stderr);
    out.stdout
}

/// Runs `args`, which must fail; returns stderr.
pub(super) fn fails(redis: &TestRedis, args: &[&str]) -> String {
    let out = admin(redis, args);
    assert!(!out.ok, "{args:?} should fail:\n{}", out.stdout);
    assert!(out.stderr.starts_with("resque-cli: error: "), "{}", out.stderr);
    out.stderr
}

/// Runs `args` in the stock CLI (no job linked), which must fail; returns stderr.
pub(super) fn stock_fails(redis: &TestRedis, args: &[&str]) -> String {
    let out = run(super::cli_tools::stock(redis).args(args), LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} should fail:\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.starts_with("resque-cli: error: "), "{stderr}");
    stderr
}

pub(super) fn json_of(redis: &TestRedis, args: &[&str]) -> Value {
    let stdout = ok(redis, args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{stdout}"))
}

fn rpush(redis: &TestRedis, key: &str, values: &[&str]) {
    let mut conn = redis.conn();
    for v in values {
        let _: () = conn.rpush(key, *v).unwrap();
    }
}

/// The whitespace-separated cells of the table line that starts with `first`.
pub(super) fn row(table: &str, first: &str) -> Vec<String> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no row {first:?} in:\n{table}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Registers a worker the way Ruby does; `beat` is its heartbeat, if any.
fn register(redis: &TestRedis, id: &str, beat: Option<&str>) {
    let mut conn = redis.conn();
    let _: () = conn.sadd("resque:workers", id).unwrap();
    let _: () = conn.set(format!("resque:worker:{id}:started"), "2026-11-23 23:50:00 +0000").unwrap();
    if let Some(beat) = beat {
        let _: () = conn.hset("resque:workers:heartbeat", id, beat).unwrap();
    }
}

fn inflight_entry(queue: &str, payload: &str) -> String {
    json!({ "queue": queue, "payload": payload }).to_string()
}

#[test]
fn queues_lists_each_queue_with_its_size() {
    let redis = TestRedis::start();
    assert_eq!(ok(&redis, &["queues"]), "no queues\n");
    assert_eq!(json_of(&redis, &["queues", "--json"]), json!([]));
    let client = redis.client();
    for n in 0..3 {
        client.enqueue_class("file_serve", "Archive", &(n, "masterbrew")).unwrap();
    }
    client.enqueue_class("critical", "Archive", &(9, "x")).unwrap();
    let table = ok(&redis, &["queues"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines, ["QUEUE       SIZE", "critical    1", "file_serve  3"], "{table}");
    assert_eq!(
        json_of(&redis, &["queues", "--json"]),
        json!([{ "name": "critical", "size": 1 }, { "name": "file_serve", "size": 3 }])
    );
    assert_eq!(client.size("file_serve").unwrap(), 3, "reading changes nothing");
}

#[test]
fn info_reports_resque_info_and_pause() {
    let redis = TestRedis::start();
    let client = redis.client();
    client.enqueue_class("a", "Archive", &(1, "x")).unwrap();
    client.enqueue_class("b", "Archive", &(2, "x")).unwrap();
    client.enqueue_class("b", "Archive", &(3, "x")).unwrap();
    rpush(&redis, "resque:failed", &[RUBY_ENTRY]);
    let _: () = redis.conn().set("resque:stat:processed", 7).unwrap();
    register(&redis, "web1:11:a", None);
    let _: () = redis.conn().set("resque:pause-all-workers", "true").unwrap();
    let info = json_of(&redis, &["info", "--json"]);
    assert_eq!(
        info,
        json!({
            "pending": 3,
            "processed": 7,
            "queues": 2,
            "workers": 1,
            "working": 0,
            "failed": 1,
            "servers": [redis.url()],
            "environment": "development",
            "paused": true,
            "paused_workers": 1,
        })
    );
    let table = ok(&redis, &["info"]);
    for (field, value) in [
        ("pending", "3"),
        ("processed", "7"),
        ("queues", "2"),
        ("workers", "1"),
        ("working", "0"),
        ("failed", "1"),
        ("environment", "development"),
        ("paused_workers", "1"),
    ] {
        assert_eq!(row(&table, field), [field, value], "{table}");
    }
    assert_eq!(row(&table, "paused"), ["paused", "yes", "(pause-all-workers)"], "{table}");
    assert_eq!(row(&table, "servers"), ["servers".to_string(), redis.url()]);
}

#[test]
fn workers_lists_idle_and_busy_workers() {
    let redis = TestRedis::start();
    assert_eq!(ok(&redis, &["workers"]), "no workers\n");
    register(&redis, "web1:4211:file_serve,critical", Some("2026-11-23T23:57:52+00:00"));
    register(&redis, "web2:99:*", None);
    let record = r#"{"queue":"file_serve","run_at":"2026-11-23T23:50:00Z","payload":{"class":"Archive","args":[44,"masterbrew"]}}"#;
    let _: () = redis.conn().set("resque:worker:web1:4211:file_serve,critical", record).unwrap();

    let table = ok(&redis, &["workers"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "HOST", "PID", "QUEUES", "STARTED", "HEARTBEAT", "PAUSED", "PROCESSING"]);
    let busy = table.lines().find(|l| l.starts_with("web1:")).unwrap();
    // Every time as the CLI shows times, whatever its stored format.
    assert!(
        busy.contains(
            "web1  4211  file_serve,critical  2026-11-23 23:50:00 UTC  2026-11-23 23:57:52 UTC  no      "
        ) && busy.ends_with("Archive from file_serve since 2026-11-23 23:50:00 UTC"),
        "{table}"
    );
    let idle = table.lines().find(|l| l.starts_with("web2:")).unwrap();
    let cells: Vec<&str> = idle.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 3..], ["-", "no", "-"], "no heartbeat, not paused, no job: {table}");
    assert!(!table.contains("pause-all-workers"), "{table}");
    // Columns line up: every row's second column starts where HOST does.
    let host_at = table.find("HOST").unwrap();
    assert!(table.lines().all(|l| l[host_at..].starts_with("web") || l[host_at..].starts_with("HOST")));

    let _: () = redis.conn().set("resque:pause-all-workers", "True\n").unwrap();
    let paused = ok(&redis, &["workers"]);
    let busy = paused.lines().find(|l| l.starts_with("web1:")).unwrap();
    assert!(busy.contains("2026-11-23 23:57:52 UTC  yes     Archive"), "{paused}");
    assert!(
        paused
            .ends_with("all 2 workers are paused by pause-all-workers: no new job is taken until `resume`\n"),
        "{paused}"
    );
    let json = json_of(&redis, &["workers", "--json"]);
    assert_eq!((json[0]["paused"].clone(), json[1]["paused"].clone()), (json!(true), json!(true)));
    let _: () = redis.conn().del("resque:pause-all-workers").unwrap();

    let json = json_of(&redis, &["workers", "--json"]);
    assert_eq!(
        json,
        json!([
            {
                "id": "web1:4211:file_serve,critical",
                "host": "web1",
                "pid": 4211,
                "queues": ["file_serve", "critical"],
                "started": "2026-11-23 23:50:00 +0000",
                "heartbeat": "2026-11-23T23:57:52+00:00",
                "paused": false,
                "processing": {
                    "queue": "file_serve",
                    "run_at": "2026-11-23T23:50:00Z",
                    "class": "Archive",
                    "payload": { "class": "Archive", "args": [44, "masterbrew"] },
                },
            },
            {
                "id": "web2:99:*",
                "host": "web2",
                "pid": 99,
                "queues": ["*"],
                "started": "2026-11-23 23:50:00 +0000",
                "heartbeat": null,
                "paused": false,
                "processing": null,
            },
        ])
    );
}

#[test]
fn failed_list_and_show() {
    let redis = TestRedis::start();
    assert_eq!(ok(&redis, &["failed", "list"]), "no failures\n");
    let second = entry("critical", "Report", 2, "");
    rpush(&redis, "resque:failed", &[RUBY_ENTRY, &second]);

    let table = ok(&redis, &["failed", "list"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["INDEX", "ID", "FAILED_AT", "CLASS", "QUEUE", "EXCEPTION", "RETRIED", "ERROR"]);
    let lines: Vec<&str> = table.lines().collect();
    // The ids: `printf '%s' '<entry>' | sha1sum`, first 12 hex digits.
    assert!(
        lines[1].starts_with(
            "0      3db87e6340c9  2026-11-23 23:50:00 UTC  Archive  file_serve  Errno::ENOENT  -        "
        ),
        "{table}"
    );
    assert!(lines[1].ends_with("No such file or directory"), "{table}");
    assert!(
        lines[2].starts_with(
            "1      6326b47601bc  2026-11-23 23:51:00 UTC  Report   critical    RuntimeError   -        boom 2"
        ),
        "{table}"
    );
    assert!(lines[3].contains("2 of 2"), "{table}");

    let json = json_of(&redis, &["failed", "list", "--json"]);
    assert_eq!(
        json[0],
        json!({
            "index": 0,
            "id": "3db87e6340c9",
            "failed_at": "2026/11/23 23:50:00 UTC",
            "class": "Archive",
            "queue": "file_serve",
            "worker": "web1:4211:file_serve",
            "exception": "Errno::ENOENT",
            "error": "No such file or directory",
            "retried_at": null,
            "attempts": null,
            "backtrace": ["..."],
            "payload": { "class": "Archive", "args": [44, "masterbrew"] },
        })
    );
    assert_eq!((json[1]["index"].clone(), json[1]["class"].clone()), (json!(1), json!("Report")));

    // Paging: by default the last 20, newest last.
    let many: Vec<String> = (10..40).map(|n| entry("q", "Many", n, "")).collect();
    rpush(&redis, "resque:failed", &many.iter().map(String::as_str).collect::<Vec<_>>());
    let page = json_of(&redis, &["failed", "list", "--json"]);
    let indexes: Vec<u64> = page.as_array().unwrap().iter().map(|f| f["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, (12..32).collect::<Vec<_>>());
    let page = json_of(&redis, &["failed", "list", "--json", "--start", "1", "--count", "2"]);
    let errors: Vec<&str> = page.as_array().unwrap().iter().map(|f| f["error"].as_str().unwrap()).collect();
    assert_eq!(errors, ["boom 2", "boom 10"]);
    let text = ok(&redis, &["failed", "list", "--start", "30", "--count", "5"]);
    assert_eq!(text.lines().filter(|l| l.contains("Many")).count(), 2, "{text}");
    assert!(text.contains("2 of 32"), "{text}");

    let show = ok(&redis, &["failed", "show", "1"]);
    assert_eq!(ok(&redis, &["failed", "show", "6326b47601bc"]), show, "by id as by index");
    for expected in [
        "index:       1",
        "id:          6326b47601bc",
        "class:       Report",
        "queue:       critical",
        "worker:      web1:4212:critical",
        "exception:   RuntimeError",
        "error:       boom 2",
        "failed_at:   2026-11-23 23:51:00 UTC",
        "retried_at:  - (not retried)",
        "payload:\n  {\n    \"class\": \"Report\",\n    \"args\": [\n      2\n    ]\n  }\n",
        "backtrace:\n  jobs.rs:2\n  worker.rs:7\n",
    ] {
        assert!(show.contains(expected), "{expected:?} missing in:\n{show}");
    }
    assert_eq!(json_of(&redis, &["failed", "show", "0", "--json"]), json[0]);
    assert_eq!(redis.lrange("resque:failed")[0], RUBY_ENTRY, "reading changes nothing");
}

#[test]
fn failed_retry_remove_and_clear() {
    let redis = TestRedis::start();
    let second = entry("critical", "Report", 2, "");
    let third = entry("critical", "Report", 3, r#","retried_at":"2026/11/23 23:55:00""#);
    rpush(&redis, "resque:failed", &[RUBY_ENTRY, &second, &third]);
    // Ruby writes retried_at in local time without a zone: read in this machine's.
    let in_utc = |args: &[&str]| {
        let out = run(worker(&redis).env("TZ", "UTC").args(args), LIMIT);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = in_utc(&["failed", "list"]);
    let retried_at = table.find("RETRIED").unwrap();
    let cells: Vec<&str> = table.lines().skip(1).take(3).map(|l| l[retried_at..].trim_end()).collect();
    assert!(cells[0].starts_with("-  ") && cells[1].starts_with("-  "), "not retried: {table}");
    assert!(cells[2].starts_with("2026-11-23 23:55:00 UTC  boom 3"), "retried: {table}");
    assert!(in_utc(&["failed", "show", "2"]).contains("retried_at:  2026-11-23 23:55:00 UTC\n"));

    let said = ok(&redis, &["failed", "retry", "0"]);
    assert_eq!(said, "retried failure 0 (id 3db87e6340c9): Archive went back to queue file_serve\n");
    assert_eq!(redis.lrange("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
    let failed = redis.failures();
    assert_eq!(failed.len(), 3);
    assert!(failed[0]["retried_at"].is_string(), "the entry stays, marked retried: {:?}", failed[0]);
    assert!(ok(&redis, &["failed", "show", "0"]).contains("retried_at:"));

    let said = ok(&redis, &["failed", "clear-retried"]);
    assert_eq!(said, "removed 2 failures that had been retried; 1 left\n");
    assert_eq!(redis.lrange("resque:failed"), [second]);

    rpush(&redis, "resque:failed", &[&entry("file_serve", "Archive", 4, "")]);
    let said = ok(&redis, &["failed", "retry-all"]);
    assert!(said.starts_with("retried 2 of 2 failures"), "{said}");
    assert_eq!(redis.lrange("resque:queue:critical"), [r#"{"class":"Report","args":[2]}"#]);
    assert_eq!(redis.lrange("resque:queue:file_serve").len(), 2);

    let said = ok(&redis, &["failed", "remove", "0"]);
    assert_eq!(said, "removed failure 0 (id 6326b47601bc): Report from queue critical; 1 left\n");
    assert_eq!(redis.failures().len(), 1);
    assert_eq!(redis.failures()[0]["payload"]["args"], json!([4]));

    let said = ok(&redis, &["failed", "clear"]);
    assert_eq!(said, "cleared the failed list: removed 1 failure\n");
    assert!(redis.lrange("resque:failed").is_empty());
}

#[test]
fn unknown_failure_index_is_an_error_and_changes_nothing() {
    let redis = TestRedis::start();
    let second = entry("critical", "Report", 2, "");
    rpush(&redis, "resque:failed", &[RUBY_ENTRY, &second]);
    for args in [&["failed", "show", "7"][..], &["failed", "retry", "7"], &["failed", "remove", "7"]] {
        let stderr = fails(&redis, args);
        assert!(
            stderr.contains("no failure at index 7: the failed list holds 2 entries"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(redis.lrange("resque:failed"), [RUBY_ENTRY.to_string(), second]);
    assert!(redis.client().queues().unwrap().is_empty(), "nothing was requeued");
    let out = admin(&redis, &["failed", "show", "seven"]);
    assert!(!out.ok && out.stderr.contains("invalid value 'seven'"), "{}", out.stderr);
}

/// The `id` of each row of `failed list --json`.
fn listed_ids(redis: &TestRedis) -> Vec<String> {
    let rows = json_of(redis, &["failed", "list", "--json"]);
    rows.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn failed_remove_and_retry_by_id_act_on_the_entry_seen() {
    let redis = TestRedis::start();
    let entries: Vec<String> = (0..6).map(|n| entry("boom", "Boom", n, "")).collect();
    rpush(&redis, "resque:failed", &entries.iter().map(String::as_str).collect::<Vec<_>>());
    let ids = listed_ids(&redis);
    assert_eq!(ids.len(), 6);
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 6, "{ids:?}");
    assert!(ids.iter().all(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())), "{ids:?}");

    // Someone removes index 2: [5] moves from index 5 to 4, and index 5 is gone.
    ok(&redis, &["failed", "remove", "2"]);
    let said = ok(&redis, &["failed", "remove", &ids[5]]);
    assert_eq!(said, format!("removed failure 4 (id {}): Boom from queue boom; 4 left\n", ids[5]));
    let left: Vec<String> = redis.lrange("resque:failed");
    assert_eq!(left, [&entries[0], &entries[1], &entries[3], &entries[4]].map(String::clone));

    // A gone id is refused and changes nothing.
    for verb in ["remove", "retry", "show"] {
        let stderr = fails(&redis, &["failed", verb, &ids[5]]);
        assert!(
            stderr.contains(&format!("no failure entry with id {} (it was removed or changed)", ids[5])),
            "{verb}: {stderr}"
        );
    }
    assert_eq!(redis.lrange("resque:failed"), left);
    assert!(redis.lrange("resque:queue:boom").is_empty(), "nothing was requeued");

    // Retry by id after another shift: [4] is pushed, and keeps its id once retried.
    ok(&redis, &["failed", "remove", "0"]);
    let said = ok(&redis, &["failed", "retry", &ids[4].to_uppercase()]);
    assert_eq!(said, format!("retried failure 2 (id {}): Boom went back to queue boom\n", ids[4]));
    assert_eq!(redis.lrange("resque:queue:boom"), [r#"{"class":"Boom","args":[4]}"#]);
    assert_eq!(
        listed_ids(&redis),
        [&ids[1], &ids[3], &ids[4]].map(String::clone),
        "a retried entry keeps its id"
    );
    let table = ok(&redis, &["failed", "list"]);
    assert_eq!(row(&table, "2")[1..2], [ids[4].clone()]);
    // Retried: its RETRIED cell is the time it was, as the CLI shows times.
    let cells = row(&table, "2");
    assert_eq!(cells[10], "UTC", "{table}");
    assert!(
        resque::payload::time::parse_any(&format!("{} {} +0000", cells[8], cells[9])).is_some(),
        "{table}"
    );
    // And removing it by the id seen before the retry works.
    ok(&redis, &["failed", "remove", &ids[4]]);
    assert_eq!(redis.lrange("resque:failed"), [&entries[1], &entries[3]].map(String::clone));
}

#[test]
fn retry_all_not_retried_leaves_retried_entries_alone() {
    let redis = TestRedis::start();
    let retried = entry("q", "Job", 1, r#","retried_at":"2026/11/23 23:55:00""#);
    let fresh = [entry("q", "Job", 2, ""), entry("q", "Job", 3, "")];
    rpush(&redis, "resque:failed", &[&retried, &fresh[0], &fresh[1]]);
    let said = ok(&redis, &["failed", "retry-all", "--not-retried"]);
    assert_eq!(said, "retried 2 failures not retried yet, of 3: their jobs went back to their queues\n");
    assert_eq!(
        redis.lrange("resque:queue:q"),
        [r#"{"class":"Job","args":[2]}"#, r#"{"class":"Job","args":[3]}"#]
    );
    // Again: every entry is retried now, so nothing runs twice.
    let said = ok(&redis, &["failed", "retry-all", "--not-retried"]);
    assert!(said.starts_with("retried 0 failures not retried yet, of 3"), "{said}");
    assert_eq!(redis.lrange("resque:queue:q").len(), 2);
    // Plain retry-all, as scripts know it, retries every entry again.
    let said = ok(&redis, &["failed", "retry-all"]);
    assert!(said.starts_with("retried 3 of 3 failures, those retried before included"), "{said}");
    assert_eq!(redis.lrange("resque:queue:q").len(), 5);
}

#[test]
fn enqueue_pushes_the_exact_payload() {
    let redis = TestRedis::start();
    let said = ok(&redis, &["enqueue", "Archive", r#"[44,"masterbrew"]"#, "-q", "file_serve"]);
    assert_eq!(said, "enqueued Archive [44,\"masterbrew\"] to queue file_serve\n");
    assert_eq!(redis.lrange("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
    let queues: Vec<String> = redis.conn().smembers("resque:queues").unwrap();
    assert_eq!(queues, ["file_serve"]);
    // A class for workers elsewhere, on a queue of its own: both said on purpose.
    ok(&redis, &["enqueue", "Admin::Unknown", "[]", "--queue", "other", "--unchecked", "--new-queue"]);
    assert_eq!(redis.lrange("resque:queue:other"), [r#"{"class":"Admin::Unknown","args":[]}"#]);
}

#[test]
fn enqueue_writes_numbers_as_ruby_does() {
    let redis = TestRedis::start();
    // More args than the linked Floats takes: pushed all the same, unchecked.
    ok(&redis, &["enqueue", "Floats", "[1e20, 1.50, 100.0, 1E-5, 7, -0.0]", "-q", "numbers", "--unchecked"]);
    // Ruby: JSON.generate([1e20, 1.50, 100.0, 1e-5, 7, -0.0]).
    assert_eq!(
        redis.lrange("resque:queue:numbers"),
        [r#"{"class":"Floats","args":[1.0e+20,1.5,100.0,1.0e-05,7,-0.0]}"#]
    );
    // 2**70 would be pushed as a rounded float: refused, naming the argument.
    let stderr = fails(&redis, &["enqueue", "Amount", r#"["x", 1180591620717411303424]"#, "-q", "big"]);
    assert!(stderr.contains("argument 2: the integer 1180591620717411303424 is beyond 64 bits"), "{stderr}");
    assert!(redis.lrange("resque:queue:big").is_empty());
}

#[test]
fn enqueue_errors_name_the_problem() {
    let redis = TestRedis::start();
    let stderr = fails(&redis, &["enqueue", "Archive", "[44,", "-q", "file_serve"]);
    assert!(
        stderr.contains("invalid JSON args \"[44,\"")
            && stderr.contains("EOF while parsing")
            && stderr.contains(r#"args must be a JSON array, e.g. '[44,"masterbrew"]'"#),
        "{stderr}"
    );
    let stderr = fails(&redis, &["enqueue", "Archive", r#"{"repo":44}"#, "-q", "file_serve"]);
    assert!(stderr.contains("args must be a JSON array") && stderr.contains("not an object"), "{stderr}");
    let stderr = fails(&redis, &["enqueue", "Archive", "44", "-q", "file_serve"]);
    assert!(stderr.contains("args must be a JSON array") && stderr.contains("not a number"), "{stderr}");
    let stderr = stock_fails(&redis, &["enqueue", "Archive", "[44]"]);
    assert!(stderr.contains("enqueue needs a queue: pass -q QUEUE"), "{stderr}");
    assert!(redis.client().keys_in_namespace().unwrap().is_empty(), "nothing was written");
}

#[test]
fn enqueue_in_a_worker_binary_checks_the_job() {
    let redis = TestRedis::start();
    // The queue defaults to the job's own.
    let said = ok(&redis, &["enqueue", "Archive", r#"[44,"masterbrew"]"#]);
    assert_eq!(said, "enqueued Archive [44,\"masterbrew\"] to queue file_serve\n");
    assert_eq!(redis.lrange("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
    let before = redis.client().keys_in_namespace().unwrap();

    let stderr = fails(&redis, &["enqueue", "Archve", r#"[44,"masterbrew"]"#]);
    assert!(
        stderr.contains("no job named `Archve` is linked in this binary; did you mean `Archive`?"),
        "{stderr}"
    );
    assert!(stderr.contains("--unchecked"), "{stderr}");
    let stderr = fails(&redis, &["enqueue", "Zzyzx", "[]", "-q", "file_serve"]);
    assert!(stderr.contains("no job named `Zzyzx`") && stderr.contains("`Archive`"), "{stderr}");

    // Args decoded as the worker decodes them: the position, the
    // parameter and the type it expects are named.
    let stderr = fails(&redis, &["enqueue", "Archive", r#"["44","masterbrew"]"#]);
    assert!(
        stderr.contains("nothing enqueued")
            && stderr.contains("argument 1 (repo_id)")
            && stderr.contains("expected u64"),
        "{stderr}"
    );
    let stderr = fails(&redis, &["enqueue", "Archive", r#"[44, 7]"#]);
    assert!(stderr.contains("argument 2 (branch)") && stderr.contains("expected a string"), "{stderr}");
    let stderr = fails(&redis, &["enqueue", "Archive", "[44]"]);
    assert!(stderr.contains("invalid length 1, expected 2 arguments"), "{stderr}");
    assert!(stderr.contains("(repo_id, branch)"), "{stderr}");
    let stderr = fails(&redis, &["enqueue", "Archive", r#"[44,"a","b"]"#]);
    assert!(stderr.contains("invalid length 3, expected 2 arguments"), "{stderr}");

    // A queue that neither exists nor is a job's: refused, the nearest named.
    let stderr = fails(&redis, &["enqueue", "Archive", r#"[1,"x"]"#, "-q", "file_serv"]);
    assert!(stderr.contains("there is no queue `file_serv`"), "{stderr}");
    assert!(stderr.contains("did you mean `file_serve`?") && stderr.contains("pass --new-queue"), "{stderr}");
    assert_eq!(redis.client().keys_in_namespace().unwrap(), before, "nothing was written");
    assert_eq!(redis.lrange("resque:queue:file_serve").len(), 1);

    // A linked job's queue is known before any job was pushed to it.
    ok(&redis, &["enqueue", "Archive", r#"[2,"y"]"#, "-q", "record"]);
    assert_eq!(redis.lrange("resque:queue:record"), [r#"{"class":"Archive","args":[2,"y"]}"#]);
    // A name like no known queue is a new queue; a near one needs --new-queue.
    ok(&redis, &["enqueue", "Archive", r#"[3,"z"]"#, "-q", "brand_new"]);
    assert_eq!(redis.lrange("resque:queue:brand_new"), [r#"{"class":"Archive","args":[3,"z"]}"#]);
    ok(&redis, &["enqueue", "Archive", r#"[4,"w"]"#, "-q", "file_serv", "--new-queue"]);
    assert_eq!(redis.lrange("resque:queue:file_serv"), [r#"{"class":"Archive","args":[4,"w"]}"#]);
    ok(&redis, &["enqueue", "Archive", r#"["not checked"]"#, "--unchecked"]);
    assert_eq!(redis.lrange("resque:queue:file_serve").len(), 2);
}

#[test]
fn enqueue_in_the_stock_binary_pushes_any_class_and_refuses_a_queue_typo() {
    let redis = TestRedis::start();
    let stock = |args: &[&str]| run(super::cli_tools::stock(&redis).args(args), LIMIT);
    let stderr = stock_fails(&redis, &["enqueue", "Anything", "[1]"]);
    assert!(stderr.contains("enqueue needs a queue: pass -q QUEUE"), "{stderr}");
    // On an empty Redis any queue is new: pushed to, as Ruby's enqueue_to does.
    assert!(stock(&["enqueue", "Anything", r#"["x"]"#, "-q", "default"]).status.success());
    let before = redis.client().keys_in_namespace().unwrap();
    let stderr = stock_fails(&redis, &["enqueue", "Anything", "[2]", "-q", "defualt"]);
    assert!(
        stderr.contains("there is no queue `defualt`")
            && stderr.contains("did you mean `default`?")
            && stderr.contains("pass --new-queue"),
        "{stderr}"
    );
    assert_eq!(redis.client().keys_in_namespace().unwrap(), before, "nothing was written");
    assert!(stock(&["enqueue", "Other::Job", "[2]", "-q", "default"]).status.success());
    assert_eq!(
        redis.lrange("resque:queue:default"),
        [r#"{"class":"Anything","args":["x"]}"#, r#"{"class":"Other::Job","args":[2]}"#]
    );
    let queues: Vec<String> = redis.conn().smembers("resque:queues").unwrap();
    assert_eq!(queues, ["default"]);
}

#[test]
fn remove_queue_deletes_the_queue_and_its_jobs() {
    let redis = TestRedis::start();
    let client = redis.client();
    client.enqueue_class("doomed", "Archive", &(1, "x")).unwrap();
    client.enqueue_class("doomed", "Archive", &(2, "x")).unwrap();
    client.enqueue_class("kept", "Archive", &(3, "x")).unwrap();
    assert_eq!(ok(&redis, &["remove-queue", "doomed"]), "removed queue doomed and the 2 jobs in it\n");
    assert_eq!(client.queues().unwrap(), ["kept"]);
    let exists: bool = redis.conn().exists("resque:queue:doomed").unwrap();
    assert!(!exists);
    assert_eq!(client.size("kept").unwrap(), 1);
    assert_eq!(ok(&redis, &["remove-queue", "doomed"]), "no queue named doomed: nothing removed\n");
}

#[test]
fn remove_worker_puts_its_jobs_back_at_the_head() {
    let redis = TestRedis::start();
    let id = "web1:4211:file_serve";
    register(&redis, id, Some("2026-11-23T23:57:52+00:00"));
    let taken = r#"{"class":"Archive","args":[1,"taken"]}"#;
    let waiting = r#"{"class":"Archive","args":[2,"waiting"]}"#;
    rpush(&redis, "resque:queue:file_serve", &[waiting]);
    let _: () = redis.conn().sadd("resque:queues", "file_serve").unwrap();
    rpush(&redis, &format!("resque:inflight:{id}"), &[&inflight_entry("file_serve", taken)]);

    let said = ok(&redis, &["remove-worker", id]);
    assert_eq!(said, format!("removed worker {id}: put 1 in-flight job back on their queues\n"));
    assert_eq!(redis.lrange("resque:queue:file_serve"), [taken, waiting]);
    assert!(redis.workers().is_empty());
    let mut conn = redis.conn();
    let left: Vec<String> = conn.keys(format!("resque:*{id}*")).unwrap();
    assert!(left.is_empty(), "{left:?}");
    let beat: Option<String> = conn.hget("resque:workers:heartbeat", id).unwrap();
    assert_eq!(beat, None);

    let stderr = fails(&redis, &["remove-worker", "web9:1:nobody"]);
    assert!(stderr.contains("no worker \"web9:1:nobody\" is registered"), "{stderr}");
}

#[test]
fn remove_worker_fails_the_job_a_ruby_worker_was_running() {
    // A Ruby (or node-resque) worker keeps nothing in flight: its job lives
    // only in `worker:<id>`. Removing it fails that job, as Ruby's
    // `unregister_worker` does, rather than losing it.
    let redis = TestRedis::start();
    let id = "web1:4211:file_serve";
    register(&redis, id, Some("2026-11-23T23:57:52+00:00"));
    let record = r#"{"queue":"file_serve","run_at":"2026-11-23T23:50:00Z","payload":{"class":"Archive","args":[44,"masterbrew"]}}"#;
    let _: () = redis.conn().set(format!("resque:worker:{id}"), record).unwrap();

    ok(&redis, &["remove-worker", id]);
    assert!(redis.workers().is_empty());
    let failures = redis.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let f = &failures[0];
    assert_eq!(f["exception"], "Resque::DirtyExit");
    assert_eq!(f["error"], "Job still being processed");
    assert_eq!(f["payload"], json!({"class": "Archive", "args": [44, "masterbrew"]}));
    assert_eq!(f["queue"], "file_serve");
    assert_eq!(f["worker"], id);
    let record: Option<String> = redis.conn().get(format!("resque:worker:{id}")).unwrap();
    assert_eq!(record, None);
}

#[test]
fn prune_removes_workers_with_an_old_heartbeat_only() {
    let redis = TestRedis::start();
    let dead = "ghost-host-of-the-test:1:file_serve";
    let quiet = "ghost-host-of-the-test:2:file_serve";
    register(&redis, dead, Some("2020-01-01T00:00:00+00:00"));
    register(&redis, quiet, None);
    let taken = r#"{"class":"Archive","args":[1,"taken"]}"#;
    rpush(&redis, &format!("resque:inflight:{dead}"), &[&inflight_entry("file_serve", taken)]);

    let said = ok(&redis, &["prune", "--heartbeat-interval", "1"]);
    assert!(said.contains(&format!("pruned 1 dead worker:\n  {dead}\n")), "{said}");
    assert!(said.contains("put 1 in-flight job back on their queues"), "{said}");
    assert_eq!(redis.workers(), [quiet], "a worker that never beat is left alone");
    assert_eq!(redis.lrange("resque:queue:file_serve"), [taken]);

    let said = ok(&redis, &["prune"]);
    assert!(said.contains("another worker is pruning dead workers"), "{said}");
    assert_eq!(redis.workers(), [quiet]);

    let stderr = fails(&redis, &["prune", "--heartbeat-interval", "0"]);
    assert!(stderr.contains("invalid heartbeat interval 0"), "{stderr}");
}

#[test]
fn pause_and_resume_set_and_delete_the_key() {
    let redis = TestRedis::start();
    let said = ok(&redis, &["pause"]);
    assert!(said.starts_with("workers are paused"), "{said}");
    let value: Option<String> = redis.conn().get("resque:pause-all-workers").unwrap();
    assert_eq!(value.as_deref(), Some("true"));
    assert_eq!(json_of(&redis, &["info", "--json"])["paused"], json!(true));

    let said = ok(&redis, &["resume"]);
    assert!(said.starts_with("workers are not paused"), "{said}");
    let exists: bool = redis.conn().exists("resque:pause-all-workers").unwrap();
    assert!(!exists);
    assert_eq!(json_of(&redis, &["info", "--json"])["paused"], json!(false));
}

#[test]
fn redis_down_is_a_clear_error() {
    let mut redis = TestRedis::start();
    redis.stop();
    let expected = format!("cannot connect to Redis at redis://127.0.0.1:{}", redis.port());
    for args in [
        &["queues"][..],
        &["info", "--json"],
        &["workers"],
        &["failed", "list"],
        &["failed", "retry", "0"],
        &["enqueue", "Archive", r#"[1,"x"]"#, "-q", "a"],
        &["remove-queue", "a"],
        &["remove-worker", "h:1:a"],
        &["prune"],
        &["pause"],
        &["resume"],
    ] {
        let stderr = fails(&redis, args);
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
}
