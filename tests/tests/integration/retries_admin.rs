//! `retries list|now|cancel` and the attempts `failed list|show` print,
//! against a real server holding waiting retries as Ruby's resque-retry
//! (and a resque-rs worker) write them.

use redis::Commands;
use resque_tests::TestRedis;
use serde_json::{json, Value};

use super::admin::{admin, fails, json_of, ok, row};

/// 2100-01-01, always ahead.
const AT: i64 = 4_102_444_800;
/// SHA-1("9") and SHA-1("hi"): resque-retry's identifiers of the args [9] and ["hi"].
const ID9: &str = "0ade7c2cf97f75d009975f4d720d1fa6c19f4897";
const ID_HI: &str = "c22b5f9178342609428d6f51b2c5af4c0bde6a42";

/// The failure Ruby's MultipleWithRetrySuppression keeps for a run.
fn kept(class: &str, args: Value, error: &str) -> String {
    json!({
        "failed_at": "2026/12/02 04:00:00 UTC",
        "payload": {"class": class, "args": args},
        "exception": "RuntimeError",
        "error": error,
        "backtrace": ["doomed.rb:3:in `perform'"],
        "worker": "web1:4211:rq",
        "queue": "rq",
    })
    .to_string()
}

/// Doomed [9] waiting at AT as Ruby leaves it after the second run (counter
/// 1); Mailer ["hi"] at AT + 60 as a resque-rs worker leaves it after the
/// first (the payload with "queue" appended, counter 0).
fn populate(redis: &TestRedis) {
    let mut conn = redis.conn();
    redis.delay_as_ruby(AT, r#"{"class":"Doomed","args":[9],"queue":"rq"}"#);
    let () = conn.set(format!("resque:resque-retry:Doomed:{ID9}"), "1").unwrap();
    let () = conn
        .set_ex(format!("resque:failure-resque-retry:Doomed:{ID9}"), kept("Doomed", json!([9]), "boom"), 120)
        .unwrap();
    redis.delay_as_ruby(AT + 60, r#"{"class":"Mailer","args":["hi"],"queue":"rq"}"#);
    let () = conn.set(format!("resque:resque-retry:Mailer:{ID_HI}"), "0").unwrap();
    let () = conn
        .set_ex(
            format!("resque:failure-resque-retry:Mailer:{ID_HI}"),
            kept("Mailer", json!(["hi"]), "smtp down"),
            120,
        )
        .unwrap();
}

#[test]
fn list_shows_each_waiting_retry() {
    let redis = TestRedis::start();
    assert_eq!(ok(&redis, &["retries", "list"]), "no retries waiting\n");
    assert_eq!(json_of(&redis, &["retries", "list", "--json"]), json!([]));
    populate(&redis);
    let listed = json_of(&redis, &["retries", "list", "--json"]);
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(
        (&first["index"], &first["at"], &first["class"], &first["queue"], &first["args"]),
        (&json!(0), &json!(AT), &json!("Doomed"), &json!("rq"), &json!([9]))
    );
    // Doomed is linked into the test worker with retry(limit = 2): 3 runs in all;
    // Mailer is not linked, so its limit is unknown.
    assert_eq!((&first["attempt"], &first["max_attempts"]), (&json!(2), &json!(3)));
    assert_eq!(rows[1]["max_attempts"], Value::Null);
    assert_eq!(first["error"], "RuntimeError: boom");
    assert_eq!(first["id"].as_str().map(str::len), Some(12));
    assert_eq!((&rows[1]["class"], &rows[1]["attempt"]), (&json!("Mailer"), &json!(1)));
    let table = ok(&redis, &["retries", "list"]);
    assert!(table.starts_with("INDEX  ID "), "{table}");
    let doomed = row(&table, "0");
    assert_eq!(doomed[1], first["id"].as_str().unwrap(), "{table}");
    assert_eq!(doomed[2..5], ["2100-01-01", "00:00:00", "UTC"], "the next run as every CLI time: {table}");
    for cell in ["Doomed", "rq", "2", "of", "3", "[9]", "RuntimeError:", "boom"] {
        assert!(doomed.contains(&cell.to_string()), "{cell} not in {doomed:?}");
    }
    assert!(table.ends_with("2 of 2 waiting retries shown\n"), "{table}");
    let paged = json_of(&redis, &["retries", "list", "--start", "1", "--json"]);
    assert_eq!((paged[0]["index"].clone(), paged[0]["class"].clone()), (json!(1), json!("Mailer")));
    assert_eq!(
        ok(&redis, &["retries", "list", "--start", "5"]),
        "no retries from position 5: 2 retries waiting\n"
    );
}

#[test]
fn now_queues_the_named_retries() {
    let redis = TestRedis::start();
    populate(&redis);
    let stderr = fails(&redis, &["retries", "now", "7"]);
    assert!(stderr.contains("no waiting retry 7"), "{stderr}");
    let stderr = fails(&redis, &["retries", "now", "soon"]);
    assert!(stderr.contains("names no retry"), "{stderr}");
    let bare = admin(&redis, &["retries", "now"]);
    assert!(!bare.ok && bare.stderr.contains("--class"), "{}", bare.stderr);
    assert_eq!(redis.lrange("resque:queue:rq"), Vec::<String>::new());

    let out = ok(&redis, &["retries", "now", "0"]);
    assert!(out.starts_with("queued 1 retry now\n"), "{out}");
    assert_eq!(redis.lrange("resque:queue:rq"), [r#"{"class":"Doomed","args":[9]}"#]);
    // The counter stays for the run to count.
    let counter: Option<String> = redis.conn().get(format!("resque:resque-retry:Doomed:{ID9}")).unwrap();
    assert_eq!(counter.as_deref(), Some("1"));
    let out = ok(&redis, &["retries", "now", "--class", "Mailer"]);
    assert!(out.starts_with("queued 1 retry now\n"), "{out}");
    assert_eq!(redis.lrange("resque:queue:rq").len(), 2);
    assert_eq!(ok(&redis, &["retries", "now", "--all"]), "queued 0 retries now\n");
}

#[test]
fn cancel_moves_the_last_failure_to_the_failed_list() {
    let redis = TestRedis::start();
    populate(&redis);
    let id = json_of(&redis, &["retries", "list", "--json"])[1]["id"].as_str().unwrap().to_string();
    let out = ok(&redis, &["retries", "cancel", &id]);
    assert_eq!(out, "cancelled 1 retry: its last failure moved to the failed list\n");
    assert_eq!(redis.lrange("resque:failed"), [kept("Mailer", json!(["hi"]), "smtp down")]);
    let left: Vec<String> = redis.conn().keys("resque:*Mailer*").unwrap();
    assert_eq!(left, Vec::<String>::new());
    assert!(fails(&redis, &["retries", "cancel", &id]).contains("no waiting retry"));

    // The failure Doomed kept expired: an entry says the retry was cancelled.
    let () = redis.conn().del(format!("resque:failure-resque-retry:Doomed:{ID9}")).unwrap();
    assert_eq!(ok(&redis, &["retries", "cancel", "--all"]), "no retry cancelled: none was waiting\n");
    let () = redis
        .conn()
        .set_ex(format!("resque:failure-resque-retry:Doomed:{ID9}"), kept("Doomed", json!([9]), "boom"), 120)
        .unwrap();
    let out = ok(&redis, &["retries", "cancel", "--class", "Doomed"]);
    assert!(out.starts_with("cancelled 1 retry"), "{out}");
    assert_eq!(redis.failures().len(), 2);
    assert_eq!(ok(&redis, &["retries", "list"]), "no retries waiting\n");
}

#[test]
fn failed_list_and_show_print_the_attempts_of_a_job_given_up_on() {
    let redis = TestRedis::start();
    let plain = kept("Plain", json!([]), "once");
    let table = {
        let () = redis.conn().rpush("resque:failed", &plain).unwrap();
        ok(&redis, &["failed", "list"])
    };
    assert!(!table.contains("ATTEMPTS"), "no column without attempts: {table}");
    let mut given_up: Value = serde_json::from_str(&kept("Doomed", json!([9]), "boom")).unwrap();
    given_up["attempts"] = json!(3);
    let () = redis.conn().rpush("resque:failed", given_up.to_string()).unwrap();
    let table = ok(&redis, &["failed", "list"]);
    assert!(table.lines().next().unwrap().contains("RETRIED  ATTEMPTS  ERROR"), "{table}");
    assert_eq!(row(&table, "1")[8..10], ["-".to_string(), "3".to_string()], "{table}");
    assert_eq!(row(&table, "0")[8..10], ["-".to_string(), "-".to_string()], "{table}");
    let shown = ok(&redis, &["failed", "show", "1"]);
    assert!(shown.lines().any(|l| l.split_whitespace().eq(["attempts:", "3"])), "{shown}");
    assert!(!ok(&redis, &["failed", "show", "0"]).contains("attempts:"));
    let json = json_of(&redis, &["failed", "list", "--json"]);
    assert_eq!((&json[0]["attempts"], &json[1]["attempts"]), (&Value::Null, &json!(3)));
    assert_eq!(json_of(&redis, &["failed", "show", "1", "--json"])["attempts"], 3);
}
