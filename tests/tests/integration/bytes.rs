//! Bytes that are not UTF-8, and payloads that are JSON but not jobs, as
//! other producers may write them: never run, never rewritten, and no
//! reader (worker, pruning, CLI, client) stops working because of them.

use std::time::Duration;

use redis::Commands;
use resque::failure::{FailureBackend, RedisFailures, RedisMultiQueueFailures};
use resque_tests::{drain, eventually, lines, run, Reaped, TestRedis};
use serde_json::Value;

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

/// A `Record` payload whose second argument is `caf` and the raw byte 0xE9
/// (Latin-1 `é`): not UTF-8.
fn latin1_payload(out: &str) -> Vec<u8> {
    let mut p = format!(r#"{{"class":"Record","args":["{out}","caf"#).into_bytes();
    p.push(0xe9);
    p.extend_from_slice(br#""]}"#);
    p
}

/// Runs the CLI (the test worker binary) with `args`; it must succeed.
fn cli(redis: &TestRedis, args: &[&str]) -> String {
    let out = run(worker(redis).args(args), LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn a_payload_that_is_not_utf8_is_failed_unrun_and_retried_byte_for_byte() {
    for mode in [&[][..], &["--no-fork"][..]] {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let out = out.to_str().unwrap();
        let bad = latin1_payload(out);
        let mut conn = redis.conn();
        let _: () = conn.rpush("resque:queue:record", &bad).unwrap();
        let naive = format!(r#"{{"class":"Record","args":["{out}","naïve"]}}"#);
        let _: () = conn.rpush("resque:queue:record", &naive).unwrap();
        let _: () = conn.sadd("resque:queues", "record").unwrap();

        drain(worker(&redis), "record", mode);

        let ran = lines(std::path::Path::new(out));
        assert_eq!(ran.len(), 1, "{mode:?}: only the UTF-8 payload runs: {ran:?}");
        assert!(ran[0].starts_with("naïve pid="), "{mode:?}: {ran:?}");
        let c = redis.client();
        assert_eq!((c.stat("processed").unwrap(), c.stat("failed").unwrap()), (2, 1), "{mode:?}");

        // The entry is valid UTF-8 JSON that any reader can show: the
        // payload as text with the byte escaped, and its exact bytes.
        let failures = redis.failures();
        assert_eq!(failures.len(), 1, "{mode:?}");
        let f = &failures[0];
        let shown = format!(r#"{{"class":"Record","args":["{out}","caf\xe9"]}}"#);
        assert_eq!(f["payload"], Value::String(shown), "{mode:?}");
        assert_eq!(f["exception"], "JSON::ParserError", "{mode:?}");
        let error = f["error"].as_str().unwrap();
        assert!(error.contains("not valid UTF-8") && error.contains("0xe9"), "{mode:?}: {error}");
        assert_eq!(f["queue"], "record");
        let members: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            members,
            ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue", "payload_base64"],
            "{mode:?}: Ruby's members in Ruby's order, then the bytes"
        );

        // Readers cope with it.
        cli(&redis, &["info"]);
        let listed = cli(&redis, &["failed", "list"]);
        assert!(listed.contains("JSON::ParserError") && listed.contains("record"), "{listed}");
        let shown = cli(&redis, &["failed", "show", "0"]);
        assert!(shown.contains(r"caf\xe9"), "{shown}");

        // A retry pushes back the very bytes that were queued.
        RedisFailures::new(c.clone()).requeue(0).unwrap();
        let queued: Vec<Vec<u8>> = conn.lrange("resque:queue:record", 0, -1).unwrap();
        assert_eq!(queued, vec![bad], "{mode:?}");
    }
}

#[test]
fn the_cli_retry_of_a_payload_that_is_not_utf8_pushes_its_bytes() {
    let redis = TestRedis::start();
    let bad = latin1_payload("/nonexistent");
    let mut conn = redis.conn();
    let _: () = conn.rpush("resque:queue:record", &bad).unwrap();
    drain(worker(&redis), "record", &[]);
    assert_eq!(redis.failures().len(), 1);
    cli(&redis, &["failed", "retry", "0"]);
    let queued: Vec<Vec<u8>> = conn.lrange("resque:queue:record", 0, -1).unwrap();
    assert_eq!(queued, vec![bad]);
}

#[test]
fn json_payloads_that_are_not_objects_are_kept_as_their_text() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    // The last one is a job, but its spaces would be lost in an object.
    let payloads = ["[1,2,3]", "42", r#""hello""#, "null", " {\"class\":\"Record\",\"args\":[]} "];
    let exceptions =
        ["JSON::ParserError", "JSON::ParserError", "JSON::ParserError", "JSON::ParserError", "ArgumentError"];
    for p in payloads {
        let _: () = conn.rpush("resque:queue:nobj", p).unwrap();
    }
    drain(worker(&redis), "nobj", &[]);
    let failures = redis.failures();
    assert_eq!(failures.len(), payloads.len());
    // resque-web's Failed page reads `payload['class']`: every payload is an
    // object or a string, never an array, a number or null. A string holds
    // the queued text exactly.
    for ((f, p), exception) in failures.iter().zip(payloads).zip(exceptions) {
        assert_eq!(f["payload"], Value::String(p.to_string()), "{f}");
        assert_eq!(f["exception"], exception, "{f}");
    }
    let failures = RedisFailures::new(redis.client());
    failures.requeue(2).unwrap();
    failures.requeue(4).unwrap();
    let queued: Vec<String> = conn.lrange("resque:queue:nobj", 0, -1).unwrap();
    assert_eq!(
        queued,
        [r#""hello""#, " {\"class\":\"Record\",\"args\":[]} "],
        "retried as the original bytes"
    );
}

/// The name of a queue another producer wrote with the byte 0xFF: not UTF-8.
const BAD_QUEUE: &[u8] = b"bad\xff";

/// Pushes `payload` to the queue `bad\xff` as another producer would:
/// `SADD queues` and `RPUSH queue:<name>` with the raw bytes.
fn push_to_bad_queue(conn: &mut redis::Connection, payload: &[u8]) {
    let _: () = conn.sadd("resque:queues", BAD_QUEUE).unwrap();
    let _: () = conn.rpush([b"resque:queue:".as_slice(), BAD_QUEUE].concat(), payload).unwrap();
}

fn bad_queue_len(conn: &mut redis::Connection) -> u64 {
    conn.llen([b"resque:queue:".as_slice(), BAD_QUEUE].concat()).unwrap()
}

#[test]
fn a_star_worker_works_a_queue_name_that_is_not_utf8() {
    for (list, mode) in [("*", &[][..]), ("*", &["--no-fork"][..]), (r"bad\x*", &[][..])] {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let out_s = out.to_str().unwrap();
        let mut conn = redis.conn();
        push_to_bad_queue(&mut conn, format!(r#"{{"class":"Record","args":["{out_s}","bad"]}}"#).as_bytes());
        resque_tests::jobs::record::enqueue_to(&redis.client(), out_s, "star").unwrap();

        let stderr = drain(worker(&redis), list, mode);

        let mut ran: Vec<String> =
            lines(&out).iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
        ran.sort();
        let expected: &[&str] = if list == "*" { &["bad", "star"] } else { &["bad"] };
        assert_eq!(ran, expected, "{list} {mode:?}: {stderr}");
        assert_eq!(bad_queue_len(&mut conn), 0, "{list} {mode:?}");
        let c = redis.client();
        assert_eq!(c.stat("failed").unwrap(), 0, "{list} {mode:?}: {stderr}");
        // Readers still show the name escaped.
        assert_eq!(c.queues().unwrap(), [r"bad\xff", "record"]);
        let listed = cli(&redis, &["queues"]);
        assert!(listed.contains(r"bad\xff"), "{listed}");
    }
}

#[test]
fn a_failure_from_a_queue_name_that_is_not_utf8_is_retried_to_that_queue() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let payload = br#"{"class":"Test::Fail","args":["boom"]}"#;
    push_to_bad_queue(&mut conn, payload);

    drain(worker(&redis), "*", &[]);

    let raw: Vec<Vec<u8>> = conn.lrange("resque:failed", 0, -1).unwrap();
    assert_eq!(raw.len(), 1);
    let f: Value = serde_json::from_slice(&raw[0]).expect("the entry is UTF-8 JSON");
    // `queue` is the name as text, each stray byte as `\xNN`; the exact
    // name is base64 (standard alphabet, padded): b"bad\xff" -> "YmFk/w==".
    assert_eq!(f["queue"], r"bad\xff");
    assert_eq!(f["queue_base64"], "YmFk/w==");
    assert_eq!(f["payload"]["class"], "Test::Fail");
    let members: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        members,
        ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue", "queue_base64"],
        "Ruby's members in Ruby's order, then the exact name"
    );
    assert_eq!(bad_queue_len(&mut conn), 0);

    // The library's retry pushes the exact payload to the exact queue.
    RedisFailures::new(redis.client()).requeue(0).unwrap();
    let queued: Vec<Vec<u8>> = conn.lrange([b"resque:queue:".as_slice(), BAD_QUEUE].concat(), 0, -1).unwrap();
    assert_eq!(queued, vec![payload.to_vec()]);
    let escaped: u64 = conn.llen(r"resque:queue:bad\xff").unwrap();
    assert_eq!(escaped, 0, "nothing goes to a queue named by the escaped text");
    let members: Vec<Vec<u8>> = conn.smembers("resque:queues").unwrap();
    assert_eq!(members, vec![BAD_QUEUE.to_vec()]);

    // So does the CLI's, for the entry the retried job fails with again.
    drain(worker(&redis), "*", &[]);
    assert_eq!(redis.failures().len(), 2);
    cli(&redis, &["failed", "retry", "1"]);
    let queued: Vec<Vec<u8>> = conn.lrange([b"resque:queue:".as_slice(), BAD_QUEUE].concat(), 0, -1).unwrap();
    assert_eq!(queued, vec![payload.to_vec()]);
}

#[test]
fn the_multi_queue_backend_fails_a_job_into_the_exact_queue_name() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    push_to_bad_queue(&mut conn, br#"{"class":"Test::Fail","args":["boom"]}"#);

    drain(worker(&redis), "*", &["--failure-backend", "redis_multi_queue"]);

    // Ruby's RedisMultiQueue: `<queue>_failed`, the name in `failed_queues`.
    let failed_list = [b"resque:".as_slice(), BAD_QUEUE, b"_failed"].concat();
    let entries: Vec<Vec<u8>> = conn.lrange(&failed_list, 0, -1).unwrap();
    assert_eq!(entries.len(), 1);
    let f: Value = serde_json::from_slice(&entries[0]).unwrap();
    assert_eq!(f["queue_base64"], "YmFk/w==");
    let names: Vec<Vec<u8>> = conn.smembers("resque:failed_queues").unwrap();
    assert_eq!(names, vec![[BAD_QUEUE, b"_failed"].concat()]);
    let plain: u64 = conn.llen("resque:failed").unwrap();
    assert_eq!(plain, 0);

    // Its readers show the list by its text and act on the exact key.
    let multi = RedisMultiQueueFailures::new(redis.client());
    assert_eq!(multi.lengths().unwrap(), [(r"bad\xff_failed".to_string(), 1)]);
    assert_eq!(multi.count().unwrap(), 1);
    assert_eq!(multi.all(0, 10).unwrap()[0].queue.as_deref(), Some(r"bad\xff"));
    multi.requeue(0).unwrap();
    let queued: Vec<Vec<u8>> = conn.lrange([b"resque:queue:".as_slice(), BAD_QUEUE].concat(), 0, -1).unwrap();
    assert_eq!(queued, vec![br#"{"class":"Test::Fail","args":["boom"]}"#.to_vec()]);
}

#[test]
fn an_inflight_entry_of_a_queue_name_that_is_not_utf8_goes_back_to_it() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let payload = br#"{"class":"Record","args":["/nonexistent","x"]}"#;
    // What the step script's cjson writes: the name's byte 0xFF as it is,
    // inside the JSON string.
    let mut entry = br#"{"queue":"bad"#.to_vec();
    entry.push(0xff);
    entry.extend_from_slice(br#"","payload":"{\"class\":\"Record\",\"args\":[\"/nonexistent\",\"x\"]}"}"#);
    let _: () = conn.rpush("resque:inflight:gone:1:*", &entry).unwrap();

    let pruned = redis.client().prune_dead_workers(Duration::from_secs(60)).unwrap();
    assert!(pruned.is_some());

    let queued: Vec<Vec<u8>> = conn.lrange([b"resque:queue:".as_slice(), BAD_QUEUE].concat(), 0, -1).unwrap();
    assert_eq!(queued, vec![payload.to_vec()]);
    let members: Vec<Vec<u8>> = conn.smembers("resque:queues").unwrap();
    assert_eq!(members, vec![BAD_QUEUE.to_vec()]);
    let left: u64 = conn.llen("resque:inflight:gone:1:*").unwrap();
    assert_eq!(left, 0);
}

#[test]
fn readers_show_bytes_that_are_not_utf8_escaped() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    // A worker of another host, busy with a payload that is not UTF-8, and a
    // failure entry of another producer that is not UTF-8 either.
    let id = b"otherhost:4242:eq\xff".as_slice();
    let mut record =
        br#"{"queue":"eq","run_at":"2026-11-23T23:50:00Z","payload":{"class":"Echo","args":["caf"#.to_vec();
    record.extend_from_slice(b"\xe9\"]}}");
    let mut entry =
        br#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Echo","args":["caf"#.to_vec();
    entry.extend_from_slice(b"\xe9\"]},\"exception\":\"RuntimeError\",\"error\":\"boom\",\"backtrace\":[],\"worker\":\"w\",\"queue\":\"eq\"}");
    let now: (i64, i64) = redis::cmd("TIME").query(&mut conn).unwrap();
    let beat = resque::payload::time::heartbeat(now.0);
    let _: () = conn.sadd("resque:workers", id).unwrap();
    let _: () = conn.set([b"resque:worker:".as_slice(), id].concat(), &record).unwrap();
    let _: () = conn
        .set(
            [b"resque:worker:".as_slice(), id, b":started"].concat(),
            b"2026-11-23 23:50:00 +0000\xff".as_slice(),
        )
        .unwrap();
    let _: () = conn.hset("resque:workers:heartbeat", id, beat).unwrap();
    let _: () = conn.rpush("resque:failed", &entry).unwrap();
    let _: () = conn.rpush("resque:queue:eq", b"\xff\xfe".as_slice()).unwrap();
    let _: () = conn.sadd("resque:queues", "eq").unwrap();

    let c = redis.client();
    assert_eq!(c.workers().unwrap(), [r"otherhost:4242:eq\xff"]);
    let info = c.info().unwrap();
    assert_eq!((info.workers, info.pending, info.failed), (1, 1, 1));
    assert_eq!(c.peek("eq", 0, 10).unwrap(), [Value::String(r"\xff\xfe".into())]);
    let failures = c.failures(0, 10).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].payload["args"][0], r"caf\xe9", "{:?}", failures[0].payload);
    assert_eq!(failures[0].exception.as_deref(), Some("RuntimeError"));
    let working = c.working().unwrap();
    assert_eq!(working.len(), 1);
    assert_eq!(working[0].1.payload["args"][0], r"caf\xe9");
    let contents = c.key_contents("failed", 0, 10).unwrap();
    assert!(contents.values[0].contains(r"caf\xe9"), "{:?}", contents.values);

    for args in [
        &["info"][..],
        &["workers"],
        &["workers", "--json"],
        &["queues"],
        &["failed", "list"],
        &["failed", "show", "0"],
    ] {
        let stdout = cli(&redis, args);
        assert!(!stdout.is_empty(), "{args:?}");
    }
    let workers = cli(&redis, &["workers"]);
    assert!(workers.contains(r"eq\xff"), "{workers}");
}

#[test]
fn an_inflight_entry_that_is_not_utf8_is_put_back_byte_for_byte() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    // What the step script's cjson writes for a payload with the byte 0xE9:
    // the byte as it is, inside the JSON string.
    let payload = latin1_payload("/nonexistent");
    let mut entry = br#"{"queue":"record","payload":""#.to_vec();
    for &b in &payload {
        if b == b'"' {
            entry.extend_from_slice(b"\\\"");
        } else {
            entry.push(b);
        }
    }
    entry.extend_from_slice(b"\"}");
    // A worker no longer registered (another implementation pruned it).
    let _: () = conn.rpush("resque:inflight:gone:1:record", &entry).unwrap();
    let pruned = redis.client().prune_dead_workers(Duration::from_secs(60)).unwrap();
    assert!(pruned.is_some());
    let queued: Vec<Vec<u8>> = conn.lrange("resque:queue:record", 0, -1).unwrap();
    assert_eq!(queued, vec![payload]);
    let left: u64 = conn.llen("resque:inflight:gone:1:record").unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_running_worker_takes_jobs_pushed_after_a_payload_that_is_not_utf8() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = Reaped::spawn(
        worker(&redis)
            .args(["work", "-i", "0.1", "-q", "record"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    let mut conn = redis.conn();
    let _: () = conn.rpush("resque:queue:record", latin1_payload(out.to_str().unwrap())).unwrap();
    resque_tests::jobs::record::enqueue_to(&redis.client(), out.to_str().unwrap(), "after").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 1), "the job after it ran");
    assert!(eventually(LIMIT, || redis.client().stat("failed").unwrap() == 1));
    assert!(child.try_wait().unwrap().is_none(), "the worker is still running");
}

#[test]
fn a_job_of_a_queue_name_that_is_not_utf8_is_recorded_as_text_and_put_back_on_stop() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    let mut conn = redis.conn();
    let payloads: Vec<String> = ["running", "ahead", "waiting"]
        .iter()
        .map(|line| format!(r#"{{"class":"SlowRecord","args":["{path}",1000,"{line}"]}}"#))
        .collect();
    for p in &payloads {
        push_to_bad_queue(&mut conn, p.as_bytes());
    }
    // A forking worker takes 2: the job it runs, and one ahead.
    let mut child = Reaped::spawn(
        worker(&redis)
            .args(["work", "-i", "0.05", "-q", "*"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    assert!(eventually(LIMIT, || lines(&out) == ["start running"]));

    // The processing record is UTF-8 JSON, naming the queue as text.
    let id = resque_tests::worker_id(child.id(), "*");
    let record: Vec<u8> = conn.get(format!("resque:worker:{id}")).unwrap();
    let record: Value = serde_json::from_slice(&record).expect("the record is UTF-8 JSON");
    assert_eq!(record["queue"], r"bad\xff");
    assert_eq!(record["payload"]["args"][2], "running");

    // Stopped, it finishes the job and puts the one ahead back, first.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGQUIT)
        .unwrap();
    assert!(resque_tests::wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert_eq!(lines(&out), ["start running", "done running"]);
    let queued: Vec<Vec<u8>> = conn.lrange([b"resque:queue:".as_slice(), BAD_QUEUE].concat(), 0, -1).unwrap();
    assert_eq!(queued, vec![payloads[1].clone().into_bytes(), payloads[2].clone().into_bytes()]);
    assert_eq!(redis.client().stat("processed").unwrap(), 1);
}

#[test]
fn a_large_payload_that_fails_is_in_its_failure_entry_byte_for_byte() {
    // Large enough that the worker lets it go while the job runs and reads
    // it back from the in-flight entry: escapes, spacing and members as
    // the producer wrote them, forked and in process.
    // (The bulk is in a member of its own: the error, which the worker logs, stays short.)
    let padding = format!(r#"caf\u00e9 \"quoted\" a\/b {}"#, "x".repeat(100 * 1024));
    let payload = format!(
        r#"{{ "class" : "Test::Fail", "queue":"failing", "args":["short"], "padding":"{padding}" }}"#
    );
    for extra in [&[][..], &["--no-fork"]] {
        let redis = TestRedis::start();
        let mut conn = redis.conn();
        let _: () = conn.rpush("resque:queue:failing", &payload).unwrap();
        drain(worker(&redis), "failing", extra);
        let entries: Vec<Vec<u8>> = conn.lrange("resque:failed", 0, -1).unwrap();
        assert_eq!(entries.len(), 1, "{extra:?}");
        let entry: Value = serde_json::from_slice(&entries[0]).unwrap();
        assert_eq!(entry["exception"], "resque_tests::jobs::TestError", "{extra:?}: {}", entry["exception"]);
        let embedded = format!(r#""payload":{payload},"#);
        let found = entries[0].windows(embedded.len()).any(|w| w == embedded.as_bytes());
        assert!(found, "{extra:?}: the payload's exact text is in the entry");
    }
}
