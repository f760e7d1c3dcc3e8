//! Automatic retries with real worker processes (`tests/src/retry_jobs.rs`),
//! forking and `--no-fork`: a flaky job runs until it succeeds and leaves
//! nothing behind; a doomed one gives up after its limit with one failure
//! entry, its delays honoured through the scheduler; `never_on` fails at
//! once; a crash, a timeout and a dead worker's run count as attempts;
//! counters expire; a custom decision and a plugin's policy are followed.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::{drain, eventually, lines, scratch, Reaped, TestRedis};

use super::worker;

/// The runs `name` `key` made, as (attempt, unix ms), from the jobs' notes.
fn runs(out: &std::path::Path, name: &str, key: &str) -> Vec<(u32, u128)> {
    lines(out)
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.first() == Some(&name) && f.get(1) == Some(&key))
                .then(|| Some((f.get(3)?.parse().ok()?, f.get(4)?.parse().ok()?)))
                .flatten()
        })
        .collect()
}

fn attempts(out: &std::path::Path, name: &str, key: &str) -> Vec<u32> {
    runs(out, name, key).into_iter().map(|(a, _)| a).collect()
}

fn get(redis: &TestRedis, key: &str) -> Option<String> {
    redis.conn().get(key).expect("GET")
}

fn exists(redis: &TestRedis, key: &str) -> bool {
    redis.conn().exists(key).expect("EXISTS")
}

fn enqueue(redis: &TestRedis, class: &str, args: serde_json::Value) {
    redis.client().enqueue_class("retry", class, &args).expect("enqueue");
}

const MODES: [&[&str]; 2] = [&[], &["--no-fork"]];

#[test]
fn a_flaky_job_runs_until_it_succeeds_and_leaves_no_failure_and_no_counter() {
    for (mode, key) in MODES.iter().zip(["f1", "f2"]) {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = scratch(&dir, "out");
        enqueue(&redis, "Flaky", serde_json::json!([key, 2]));
        let mut cmd = worker(&redis);
        cmd.env("TEST_OUT", &out);
        drain(cmd, "retry", mode);
        assert_eq!(attempts(&out, "flaky", key), [1, 2, 3], "{mode:?}");
        assert!(redis.failures().is_empty(), "{:?}", redis.failures());
        // resque-retry's key: resque-retry:<Class>:<SHA-1 of args.join('-')>;
        // ["f1", 2].join('-') is "f1-2", SHA-1 f465b08b...; "f2-2": 39312bcc...
        let sha = if key == "f1" {
            "f465b08b5922e35e005ecd1c0fbe05e0175e2dc8"
        } else {
            "39312bcc317aafe16fdd20177a1fd6a20160a3ef"
        };
        assert!(!exists(&redis, &format!("resque:resque-retry:Flaky:{sha}")), "{mode:?}");
        let keys: Vec<String> = redis.conn().keys("resque:*resque-retry*").expect("KEYS");
        assert!(keys.is_empty(), "{keys:?}");
        assert_eq!(get(&redis, "resque:stat:retried").as_deref(), Some("2"));
        assert_eq!(get(&redis, "resque:stat:failed").as_deref(), Some("2"));
        assert_eq!(get(&redis, "resque:stat:processed").as_deref(), Some("3"));
    }
}

#[test]
fn a_doomed_job_waits_its_delays_then_gives_up_with_one_failure_entry() {
    for (mode, key) in MODES.iter().zip(["d1", "d2"]) {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = scratch(&dir, "out");
        let mut cmd = worker(&redis);
        cmd.env("TEST_OUT", &out)
            .args(["work", "--scheduler", "-i", "0.1", "-q", "retry"])
            .args(*mode)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _worker = Reaped::spawn(&mut cmd);
        assert!(eventually(Duration::from_secs(10), || !redis.workers().is_empty()));
        enqueue(&redis, "Doomed", serde_json::json!([key]));
        // ["d1"].join('-') is "d1": SHA-1 ee17560c...; "d2": ce9ed66d...
        let sha = if key == "d1" {
            "ee17560c8b77385b5bb8d8687820f9b82f3fdcdf"
        } else {
            "ce9ed66d82df7ce028a8623498350e2fb4412132"
        };
        let counter = format!("resque:resque-retry:Doomed:{sha}");
        let kept = format!("resque:failure-resque-retry:Doomed:{sha}");
        // while the first retry waits: the counter (0 after the first run), the kept failure, the delayed item
        assert!(eventually(Duration::from_secs(10), || exists(&redis, &kept)), "{mode:?}: no kept failure");
        assert_eq!(get(&redis, &counter).as_deref(), Some("0"));
        let kept_entry: serde_json::Value =
            serde_json::from_str(&get(&redis, &kept).unwrap_or_default()).expect("kept failure is JSON");
        assert!(kept_entry["error"].as_str().unwrap_or_default().contains("run 1 failed"), "{kept_entry}");
        assert!(redis.failures().is_empty(), "a retried failure reached `failed`");
        let ttl: i64 = redis.conn().ttl(&counter).expect("TTL");
        assert!((3000..=3601).contains(&ttl), "counter TTL {ttl}");
        assert!(
            eventually(Duration::from_secs(15), || redis.failures().len() == 1),
            "{mode:?}: no final failure"
        );
        let runs = runs(&out, "doomed", key);
        assert_eq!(runs.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3], "{mode:?}");
        for pair in runs.windows(2) {
            let (before, after) = (pair[0].1, pair[1].1);
            // due at the whole second nearest to the failed run's end + 1 s
            assert!(after >= before + 500, "{mode:?}: retried {} ms after the run before", after - before);
            assert!(after - before < 3500, "{mode:?}: retried {} ms after the run before", after - before);
        }
        let failure = &redis.failures()[0];
        assert_eq!(failure["attempts"], 3, "{failure}");
        assert_eq!(failure["payload"]["class"], "Doomed");
        assert!(failure["exception"].as_str().unwrap_or_default().ends_with("Flake"), "{failure}");
        assert!(eventually(Duration::from_secs(2), || !exists(&redis, &counter) && !exists(&redis, &kept)));
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(runs_count(&out, "doomed", key), 3, "{mode:?}: ran again after giving up");
        assert_eq!(redis.failures().len(), 1);
    }
}

#[test]
fn jobs_taken_together_are_each_retried() {
    // Taken in one batch: a worker running jobs in process keeps the steps
    // of the ones before in flight on its connection while the next runs,
    // and counting a run must not read their replies as its own.
    for mode in MODES {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = scratch(&dir, "out");
        let keys = ["t1", "t2", "t3", "t4"];
        for key in keys {
            enqueue(&redis, "Flaky", serde_json::json!([key, 2]));
        }
        let mut cmd = worker(&redis);
        cmd.env("TEST_OUT", &out);
        let said = drain(cmd, "retry", mode);
        for key in keys {
            assert_eq!(attempts(&out, "flaky", key), [1, 2, 3], "{mode:?} {key}: {said}");
        }
        assert!(!said.contains("could not count"), "{mode:?}: {said}");
        assert!(redis.failures().is_empty(), "{:?}", redis.failures());
        assert_eq!(get(&redis, "resque:stat:retried").as_deref(), Some("8"), "{mode:?}");
        assert_eq!(get(&redis, "resque:stat:processed").as_deref(), Some("12"), "{mode:?}");
    }
}

fn runs_count(out: &std::path::Path, name: &str, key: &str) -> usize {
    runs(out, name, key).len()
}

#[test]
fn never_on_fails_at_once_and_custom_and_plugin_policies_are_followed() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = scratch(&dir, "out");
    enqueue(&redis, "Hopeless", serde_json::json!(["h"]));
    enqueue(&redis, "Custom", serde_json::json!(["c"]));
    enqueue(&redis, "Plugged", serde_json::json!(["p"]));
    let mut cmd = worker(&redis);
    cmd.env("TEST_OUT", &out);
    drain(cmd, "retry", &[]);
    assert_eq!(attempts(&out, "hopeless", "h"), [1]);
    assert_eq!(attempts(&out, "custom", "c"), [1, 2, 3, 4]);
    assert_eq!(attempts(&out, "plugged", "p"), [1, 2]);
    let failures = redis.failures();
    let of =
        |class: &str| failures.iter().find(|f| f["payload"]["class"] == class).cloned().unwrap_or_default();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert_eq!(of("Hopeless")["attempts"], 1);
    assert_eq!(of("Custom")["attempts"], 4);
    assert_eq!(of("Plugged")["attempts"], 2);
    let keys: Vec<String> = redis.conn().keys("resque:*resque-retry*").expect("KEYS");
    assert!(keys.is_empty(), "{keys:?}");
}

#[test]
fn a_crash_and_a_timeout_are_retried() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = scratch(&dir, "out");
    enqueue(&redis, "CrashOnce", serde_json::json!(["k"]));
    enqueue(&redis, "SlowOnce", serde_json::json!(["k"]));
    let mut cmd = worker(&redis);
    cmd.env("TEST_OUT", &out);
    drain(cmd, "retry", &[]);
    assert_eq!(attempts(&out, "crash_once", "k"), [1, 2]);
    assert_eq!(attempts(&out, "slow_once", "k"), [1, 2]);
    assert!(redis.failures().is_empty(), "{:?}", redis.failures());
    assert_eq!(get(&redis, "resque:stat:retried").as_deref(), Some("2"));
}

/// Starts a worker of the `retry` queue in its own process group, beating
/// every second (it prunes dead workers, and recovers their jobs, as often).
fn start_worker(redis: &TestRedis, out: &std::path::Path) -> Reaped {
    let mut cmd = worker(redis);
    cmd.env("TEST_OUT", out)
        .args(["work", "-i", "0.1", "-q", "retry", "--heartbeat-interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    Reaped::spawn(&mut cmd)
}

fn kill_group(worker: &Reaped) {
    let _ = killpg(Pid::from_raw(worker.0.id() as i32), Signal::SIGKILL);
}

#[test]
fn a_counter_left_by_a_killed_run_expires() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = scratch(&dir, "out");
    enqueue(&redis, "Hang", serde_json::json!(["k"]));
    let mut w = start_worker(&redis, &out);
    assert!(eventually(Duration::from_secs(10), || runs_count(&out, "hang", "k") == 1));
    // ["k"].join('-') is "k": SHA-1 13fbd79c...
    let counter = "resque:resque-retry:Hang:13fbd79c3d390e5d6585a21e11ff5ec1970cff0c";
    let ttl: i64 = redis.conn().ttl(counter).expect("TTL");
    assert!((1..=2).contains(&ttl), "TTL {ttl}: expire_key_after = \"2s\" and no delay");
    kill_group(&w);
    let _ = w.0.wait();
    assert!(exists(&redis, counter));
    assert!(eventually(Duration::from_secs(4), || !exists(&redis, counter)), "the counter did not expire");
}

#[test]
fn runs_cut_short_by_dead_workers_count_as_attempts() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = scratch(&dir, "out");
    enqueue(&redis, "HangCounted", serde_json::json!(["k"]));
    // two runs allowed (limit = 1); each worker is killed mid-run
    for run in 1..=2 {
        let mut w = start_worker(&redis, &out);
        assert!(
            eventually(Duration::from_secs(15), || runs_count(&out, "hang_counted", "k") == run),
            "run {run} did not start"
        );
        kill_group(&w);
        let _ = w.0.wait();
    }
    // the third worker recovers the job, counts attempt 3 and fails it without running it
    let _w = start_worker(&redis, &out);
    assert!(eventually(Duration::from_secs(15), || redis.failures().len() == 1), "no failure");
    assert_eq!(attempts(&out, "hang_counted", "k"), [1, 2]);
    let failure = &redis.failures()[0];
    assert_eq!(failure["exception"], "Resque::DirtyExit", "{failure}");
    assert_eq!(failure["attempts"], 3, "{failure}");
    assert!(failure["error"].as_str().unwrap_or_default().contains("allows 2 runs"), "{failure}");
    let keys: Vec<String> = redis.conn().keys("resque:*resque-retry*").expect("KEYS");
    assert!(keys.is_empty(), "{keys:?}");
}

#[test]
fn every_failure_is_recorded_on_request_and_failed_lists_are_capped() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = scratch(&dir, "out");
    enqueue(&redis, "Flaky", serde_json::json!(["r", 2]));
    let mut cmd = worker(&redis);
    cmd.env("TEST_OUT", &out);
    drain(cmd, "retry", &["--record-retried-failures"]);
    assert_eq!(attempts(&out, "flaky", "r"), [1, 2, 3]);
    let failures = redis.failures();
    // Ruby's default without MultipleWithRetrySuppression: each failed run has its entry
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(
        (&failures[0]["attempts"], &failures[1]["attempts"]),
        (&serde_json::json!(1), &serde_json::json!(2))
    );

    for i in 0..5 {
        redis.client().enqueue_class("failing", "Test::Fail", &(format!("m{i}"),)).expect("enqueue");
    }
    drain(worker(&redis), "failing", &["--failed-max", "3"]);
    let failures = redis.failures();
    let errors: Vec<&str> = failures.iter().map(|f| f["error"].as_str().unwrap_or_default()).collect();
    assert_eq!(errors, ["failed on purpose: m2", "failed on purpose: m3", "failed on purpose: m4"]);
}

#[test]
fn a_payload_the_job_cannot_hold_is_failed_once_not_retried() {
    let redis = TestRedis::start();
    // 2**70 fits no u32: the same ArgumentError on every run, so no retry.
    let _: () = redis
        .conn()
        .rpush("resque:queue:retry", r#"{"class":"Flaky","args":["big",1180591620717411303424]}"#)
        .expect("RPUSH");
    drain(worker(&redis), "retry", &[]);
    let failures = redis.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["exception"], "ArgumentError");
    let keys: Vec<String> = redis.conn().keys("resque:*resque-retry*").expect("KEYS");
    assert!(keys.is_empty(), "{keys:?}");
    assert_eq!(get(&redis, "resque:stat:retried"), None);
}
