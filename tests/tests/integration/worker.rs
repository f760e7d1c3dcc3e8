//! The worker binary against a real server: jobs, failures, priorities,
//! registration, process titles and signals.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::{abort_job, archive, exit_with, fail, panicking, record, report_title, slow_record};
use resque_tests::{cmdline, drain, eventually, lines, run, wait_for_exit, worker_id, Reaped, TestRedis};
use serde_json::{json, Value};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

fn spawn_worker(redis: &TestRedis, args: &[&str]) -> Reaped {
    Reaped::spawn(worker(redis).args(args).stdout(Stdio::null()).stderr(Stdio::piped()))
}

#[test]
fn runs_jobs_in_forked_children_and_counts_them() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let c = redis.client();
    for i in 0..3 {
        record::enqueue_to(&c, out.to_str().unwrap(), format!("job{i}")).unwrap();
    }
    let mut child = spawn_worker(&redis, &["work", "-i", "0", "-q", "record"]);
    let worker_pid = child.id();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    let done = lines(&out);
    assert_eq!(done.len(), 3, "{done:?}");
    for (i, line) in done.iter().enumerate() {
        assert!(line.starts_with(&format!("job{i} pid=")), "{line}");
        assert_ne!(line, &format!("job{i} pid={worker_pid}"), "ran in the worker, not a child");
    }
    let pids: std::collections::HashSet<_> =
        done.iter().map(|l| l.split("pid=").nth(1).unwrap().to_string()).collect();
    assert_eq!(pids.len(), 3, "one child per job: {done:?}");
    assert_eq!(redis.client().stat("processed").unwrap(), 3);
    assert_eq!(redis.client().stat("failed").unwrap(), 0);
    assert_eq!(c.size("record").unwrap(), 0);
    // Unregistered on exit: no worker, no per-worker keys left.
    assert!(redis.workers().is_empty());
    let keys = c.keys_in_namespace().unwrap();
    assert_eq!(keys, ["pruning_dead_workers_in_progress", "queues", "stat:processed"], "{keys:?}");
    let ttl: i64 = redis.conn().ttl("resque:pruning_dead_workers_in_progress").unwrap();
    assert!(ttl > 0, "the pruning lock expires: {ttl}");
}

#[test]
fn no_fork_runs_jobs_in_the_worker_process() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "inline").unwrap();
    let mut child = spawn_worker(&redis, &["work", "-i", "0", "-q", "record", "--no-fork"]);
    let pid = child.id();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert_eq!(lines(&out), [format!("inline pid={pid}")]);

    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "env").unwrap();
    let mut child = super::worker(&redis)
        .args(["work", "-i", "0", "-q", "record"])
        .env("FORK_PER_JOB", "false")
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert_eq!(lines(&out)[1], format!("env pid={pid}"));
}

#[test]
fn queue_order_is_priority() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let c = redis.client();
    for q in ["low", "high", "low", "high"] {
        c.enqueue_to(q, &record::Args { path: out.into(), line: q.into() }).unwrap();
    }
    drain(worker(&redis), "high,low", &[]);
    let order: Vec<String> =
        lines(out.as_ref()).iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(order, ["high", "high", "low", "low"]);
}

#[test]
fn wildcards_globs_and_exclusions() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let c = redis.client();
    for q in ["b_mail", "file_b", "a_mail", "file_a", "skip_me", "critical"] {
        c.enqueue_to(q, &record::Args { path: out.into(), line: q.into() }).unwrap();
    }
    drain(worker(&redis), "critical,file_*,*,!skip_*", &[]);
    let order: Vec<String> =
        lines(out.as_ref()).iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(order, ["critical", "file_a", "file_b", "a_mail", "b_mail"]);
    assert_eq!(c.size("skip_me").unwrap(), 1);
}

#[test]
fn errors_panics_and_crashes_become_failure_entries() {
    let redis = TestRedis::start();
    let c = redis.client();
    fail::enqueue_to(&c, "disk full").unwrap();
    panicking::enqueue_to(&c, "no such branch").unwrap();
    abort_job::enqueue_to(&c).unwrap();
    exit_with::enqueue_to(&c, 3).unwrap();
    drain(worker(&redis), "failing", &[]);

    let f = redis.failures();
    assert_eq!(f.len(), 4, "{f:#?}");
    let worker_id = f[0]["worker"].as_str().unwrap().to_string();
    assert!(worker_id.ends_with(":failing"), "{worker_id}");
    for entry in &f {
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"]);
        assert_eq!(entry["queue"], "failing");
        assert_eq!(entry["worker"], worker_id.as_str());
        let failed_at = entry["failed_at"].as_str().unwrap();
        assert_eq!(
            failed_at.len(),
            "2026/11/23 23:50:00 ".len() + failed_at.split(' ').nth(2).unwrap().len()
        );
        assert_eq!(&failed_at[4..5], "/");
    }

    assert_eq!(f[0]["payload"], json!({"class":"Test::Fail","args":["disk full"]}));
    assert!(f[0]["exception"].as_str().unwrap().ends_with("TestError"), "{}", f[0]["exception"]);
    assert_eq!(f[0]["error"], "failed on purpose: disk full");

    assert_eq!(f[1]["exception"], "Panic");
    assert_eq!(f[1]["error"], "no such branch");
    let bt = f[1]["backtrace"].as_array().unwrap();
    assert!(bt[0].as_str().unwrap().contains("jobs.rs"), "{bt:?}");

    assert_eq!(f[2]["exception"], "Resque::DirtyExit");
    assert_eq!(f[2]["error"], "Child process received unhandled signal SIGABRT (6)");
    assert_eq!(f[2]["backtrace"], json!([]));

    assert_eq!(f[3]["exception"], "Resque::DirtyExit");
    assert_eq!(f[3]["error"], "Child process exited with status 3");

    assert_eq!(redis.client().stat("failed").unwrap(), 4);
    assert_eq!(redis.client().stat("processed").unwrap(), 4);
}

#[test]
fn bad_payloads_are_failed_with_the_original_and_the_worker_goes_on() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let c = redis.client();
    let unknown = r#"{"class":"NoSuchJob","args":[1],"queue":"record"}"#;
    c.push_raw("record", unknown).unwrap();
    c.push_raw("record", "{not json").unwrap();
    c.push_raw("record", r#"{"class":"Record","args":"nope"}"#).unwrap();
    c.push_raw("record", r#"{"class":"Record","args":["a","b","c"]}"#).unwrap();
    record::enqueue_to(&c, out.to_str().unwrap(), "after").unwrap();
    drain(worker(&redis), "record", &[]);

    assert_eq!(lines(&out).len(), 1, "the good job after the bad ones ran");
    let f = redis.failures();
    assert_eq!(f.len(), 4, "{f:#?}");
    // Extra members (node-resque's "queue") survive, in their order.
    let raw: Vec<String> = redis.conn().lrange("resque:failed", 0, 0).unwrap();
    assert!(raw[0].contains(&format!(r#""payload":{unknown}"#)), "{}", raw[0]);
    assert_eq!(f[0]["exception"], "NameError");
    assert!(f[0]["error"].as_str().unwrap().contains("\"NoSuchJob\""), "{}", f[0]["error"]);

    assert_eq!(f[1]["payload"], "{not json");
    assert_eq!(f[1]["exception"], "JSON::ParserError");

    assert_eq!(f[2]["payload"], json!({"class":"Record","args":"nope"}));
    assert_eq!(f[2]["exception"], "JSON::ParserError");

    assert_eq!(f[3]["exception"], "ArgumentError");
    let error = f[3]["error"].as_str().unwrap();
    assert!(error.starts_with("arguments do not fit job Record: "), "{error}");
    assert!(error.contains("expected 2 arguments"), "{error}");
    assert_eq!(redis.client().stat("processed").unwrap(), 5);
    assert_eq!(redis.client().stat("failed").unwrap(), 4);
}

/// Registration, heartbeat, the processing record and process titles, seen
/// while the worker runs.
#[test]
fn a_busy_worker_is_visible_as_ruby_shows_it() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = spawn_worker(&redis, &["work", "-i", "0.05", "-q", "record,slow"]);
    let pid = child.id();
    let c = redis.client();
    assert!(eventually(LIMIT, || !redis.workers().is_empty()));
    let id = worker_id(pid, "record,slow");
    assert_eq!(redis.workers(), std::slice::from_ref(&id));
    let mut conn = redis.conn();
    let started: String = conn.get(format!("resque:worker:{id}:started")).unwrap();
    assert!(started.len() == "2026-11-23 23:50:00 +0000".len() && &started[10..11] == " ", "{started}");
    let beat: String = conn.hget("resque:workers:heartbeat", &id).unwrap();
    assert!(beat.len() == "2026-11-23T23:57:52+00:00".len() && beat.ends_with("+00:00"), "{beat}");
    assert!(eventually(LIMIT, || cmdline(pid).contains("Waiting for record,slow")), "{}", cmdline(pid));
    assert!(cmdline(pid).starts_with(&format!("resque-{}: ", env!("CARGO_PKG_VERSION"))), "{}", cmdline(pid));

    report_title::enqueue_to(&c, out.to_str().unwrap(), 3000).unwrap();
    assert!(eventually(LIMIT, || !lines(&out).is_empty()));
    let child_title = &lines(&out)[0];
    assert!(child_title.starts_with("resque-") && child_title.contains("Processing record since "));
    assert!(child_title.ends_with("[ReportTitle]"), "{child_title}");
    assert!(cmdline(pid).contains("Forked "), "{}", cmdline(pid));

    let record: String = conn.get(format!("resque:worker:{id}")).unwrap();
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record.as_object().unwrap().keys().collect::<Vec<_>>(), ["queue", "run_at", "payload"]);
    assert_eq!(record["queue"], "record");
    assert_eq!(record["payload"]["class"], "ReportTitle");
    let run_at = record["run_at"].as_str().unwrap();
    assert!(run_at.len() == 20 && run_at.ends_with('Z'), "{run_at}");
    let working = c.working().unwrap();
    assert_eq!(working.len(), 1);
    assert_eq!(working[0].0, id);

    kill(Pid::from_raw(pid as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert!(redis.workers().is_empty());
    let beats: Vec<String> = conn.hkeys("resque:workers:heartbeat").unwrap();
    assert!(beats.is_empty());
    assert_eq!(redis.client().stat("processed").unwrap(), 1, "QUIT let the running job finish");
    assert_eq!(redis.client().stat("failed").unwrap(), 0);
}

#[test]
fn quit_finishes_the_current_job_then_exits() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let c = redis.client();
    slow_record::enqueue_to(&c, out.to_str().unwrap(), 1500, "one").unwrap();
    slow_record::enqueue_to(&c, out.to_str().unwrap(), 1500, "two").unwrap();
    let mut child = spawn_worker(&redis, &["work", "-i", "60", "-q", "slow"]);
    assert!(eventually(LIMIT, || lines(&out).contains(&"start one".to_string())));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert_eq!(lines(&out), ["start one", "done one"]);
    assert_eq!(c.size("slow").unwrap(), 1, "the second job stays queued");
    assert!(redis.failures().is_empty());
    assert!(redis.workers().is_empty());
}

#[test]
fn quit_while_idle_exits_without_finishing_the_sleep() {
    let redis = TestRedis::start();
    let mut child = spawn_worker(&redis, &["work", "-i", "3600", "-q", "record"]);
    assert!(eventually(LIMIT, || !redis.workers().is_empty()));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT).unwrap();
    // Far less than the hour-long interval: the sleep was cut short.
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert!(redis.workers().is_empty());
}

#[test]
fn term_and_int_kill_the_child_and_record_a_dirty_exit() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let c = redis.client();
        slow_record::enqueue_to(&c, out.to_str().unwrap(), 600_000, "long").unwrap();
        let mut child = spawn_worker(&redis, &["work", "-i", "60", "-q", "slow"]);
        assert!(eventually(LIMIT, || lines(&out) == ["start long"]));
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        assert!(wait_for_exit(&mut child, LIMIT).is_some(), "{signal} stopped the worker");
        assert_eq!(lines(&out), ["start long"], "the job was killed before it finished");
        let f = redis.failures();
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0]["exception"], "Resque::DirtyExit");
        assert_eq!(f[0]["error"], "Child process received unhandled signal SIGKILL (9)");
        assert_eq!(f[0]["payload"]["class"], "SlowRecord");
        assert!(redis.workers().is_empty());
        assert_eq!(redis.client().working().unwrap().len(), 0);
    }
}

#[test]
fn a_worker_rides_out_a_redis_restart() {
    let mut redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = spawn_worker(&redis, &["work", "-i", "0.05", "-q", "record"]);
    assert!(eventually(LIMIT, || !redis.workers().is_empty()));
    redis.stop();
    std::thread::sleep(Duration::from_millis(500));
    redis.restart();
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "after restart").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 1), "the worker took a job after Redis came back");
    assert!(child.try_wait().unwrap().is_none(), "the worker is still running");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

#[test]
fn paused_workers_take_nothing_until_resumed() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut conn = redis.conn();
    let _: () = conn.set("resque:pause-all-workers", "TRUE").unwrap();
    let mut child = spawn_worker(&redis, &["work", "-i", "0.05", "-q", "record"]);
    let pid = child.id();
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "x").unwrap();
    assert!(eventually(LIMIT, || cmdline(pid).ends_with("Paused")), "{}", cmdline(pid));
    assert_eq!(redis.client().size("record").unwrap(), 1);
    let _: () = conn.del("resque:pause-all-workers").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 1));
    kill(Pid::from_raw(pid as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

#[test]
fn pause_all_workers_is_read_as_ruby_reads_it() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut conn = redis.conn();
    // Ruby: redis.get('pause-all-workers').to_s.strip.downcase == 'true'.
    let _: () = conn.set("resque:pause-all-workers", " true").unwrap();
    let mut child = spawn_worker(&redis, &["work", "-i", "0.05", "-q", "record"]);
    let pid = child.id();
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "x").unwrap();
    assert!(eventually(LIMIT, || cmdline(pid).ends_with("Paused")), "' true' pauses: {}", cmdline(pid));
    for value in ["True\n", "\ttrue ", "\0TRUE\r\n"] {
        let _: () = conn.set("resque:pause-all-workers", value).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(cmdline(pid).ends_with("Paused"), "{value:?} pauses: {}", cmdline(pid));
        assert!(redis.client().all_workers_paused().unwrap(), "{value:?}: the client reads it as paused");
    }
    assert_eq!(redis.client().size("record").unwrap(), 1, "a paused worker took nothing");
    // Not "true" once stripped: the worker goes on.
    let _: () = conn.set("resque:pause-all-workers", "truex").unwrap();
    assert!(!redis.client().all_workers_paused().unwrap());
    assert!(eventually(LIMIT, || lines(&out).len() == 1), "'truex' does not pause");
    let _: () = conn.set("resque:pause-all-workers", "\u{a0}true").unwrap();
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "y").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 2), "a no-break space is not stripped: no pause");
    let _: () = conn.set("resque:pause-all-workers", "TRUE ").unwrap();
    assert!(eventually(LIMIT, || cmdline(pid).ends_with("Paused")), "{}", cmdline(pid));
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "z").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(&out).len(), 2);
    let _: () = conn.del("resque:pause-all-workers").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 3), "DEL resumes");
    kill(Pid::from_raw(pid as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

#[test]
fn the_example_job_runs_from_the_issue() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    archive::enqueue_to(&redis.client(), 44, "masterbrew").unwrap();
    let status =
        run(worker(&redis).args(["work", "-i", "0", "-q", "file_serve"]).env("TEST_OUT", &out), LIMIT).status;
    assert!(status.success());
    assert_eq!(lines(&out), ["archive 44 masterbrew"]);
}

#[test]
fn heartbeats_continue_while_a_job_runs() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 3000, "beating").unwrap();
    let mut child = spawn_worker(&redis, &["work", "-i", "0", "-q", "slow", "--heartbeat-interval", "0.2"]);
    let beat = |redis: &TestRedis| -> Option<String> {
        let beats: Vec<String> = redis.conn().hvals("resque:workers:heartbeat").unwrap();
        beats.into_iter().next()
    };
    assert!(eventually(LIMIT, || lines(&out) == ["start beating"]));
    let first = beat(&redis).expect("a heartbeat while the job runs");
    assert!(
        eventually(LIMIT, || beat(&redis).is_some_and(|b| b != first) || lines(&out).len() > 1),
        "no new heartbeat"
    );
    assert_eq!(lines(&out), ["start beating"], "the heartbeat moved on while the job was still running");
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}
