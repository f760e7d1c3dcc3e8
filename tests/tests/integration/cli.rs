//! The worker command line: flags, environment, configuration, errors.

use std::time::Duration;

use resque_tests::jobs::record;
use resque_tests::{command, lines, run, TestRedis};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

fn stderr_of(cmd: &mut std::process::Command) -> (bool, String) {
    let out = run(cmd, LIMIT);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_flags_and_environment_are_named() {
    let redis = TestRedis::start();
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["work", "-q", "a", "-i", "soon"], vec![], "invalid interval \"soon\""),
        (vec!["work", "-q", "a", "-i", "-1"], vec![], "invalid interval"),
        (vec!["work", "-q", "a"], vec![("RESQUE_HEARTBEAT_INTERVAL", "0")], "invalid heartbeat interval 0"),
        (vec!["work"], vec![], "no queues given"),
        (vec!["work", "-q", "!a"], vec![], "only exclusions"),
        (vec!["work", "-q", "a"], vec![("FORK_PER_JOB", "maybe")], "invalid FORK_PER_JOB"),
        (vec!["work", "-q", "a", "-r", "host:port"], vec![], "invalid Redis address \"host:port\""),
        (vec!["work", "-q", "a", "--bogus"], vec![], "--bogus"),
    ];
    for (args, env, expected) in cases {
        let mut cmd = worker(&redis);
        cmd.args(&args).envs(env);
        let (ok, stderr) = stderr_of(&mut cmd);
        assert!(!ok, "{args:?} should fail");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in:\n{stderr}");
    }
    assert!(redis.client().keys_in_namespace().unwrap().is_empty(), "nothing was written");
}

#[test]
fn empty_queue_names_are_usage_errors() {
    let redis = TestRedis::start();
    type Case<'a> = (Vec<&'a str>, Option<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["-q", "q,,"], None, "invalid queue list \"q,,\": empty queue name at position 2"),
        (vec!["-q", ",a"], None, "empty queue name at position 1"),
        (vec!["-q", ","], None, "no queue given"),
        (vec!["-q", ""], None, "no queue given"),
        (vec![], Some(("QUEUE", "a,,b")), "invalid queue list \"a,,b\": empty queue name at position 2"),
        (vec![], Some(("QUEUES", "a, ,b")), "empty queue name at position 2"),
    ];
    for (args, env, expected) in cases {
        let out = run(worker(&redis).arg("work").args(&args).envs(env), LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?} {env:?}: expected {expected:?} in:\n{stderr}");
    }
    assert!(redis.workers().is_empty());
}

#[test]
fn redis_down_at_start_is_a_clear_error() {
    let mut redis = TestRedis::start();
    redis.stop();
    let (ok, stderr) = stderr_of(worker(&redis).args(["work", "-q", "a"]));
    assert!(!ok);
    assert!(
        stderr.contains(&format!("cannot connect to Redis at redis://127.0.0.1:{}", redis.port())),
        "{stderr}"
    );
}

#[test]
fn queues_come_from_the_environment_and_namespace_from_the_flag() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let other = redis.client_in("other");
    record::enqueue_to(&other, out.to_str().unwrap(), "from QUEUE").unwrap();
    let (ok, stderr) =
        stderr_of(worker(&redis).args(["work", "-N", "other"]).env("QUEUE", "record").env("INTERVAL", "0"));
    assert!(ok, "{stderr}");
    assert_eq!(lines(&out).len(), 1);
    assert_eq!(other.size("record").unwrap(), 0);
}

#[test]
fn config_file_and_resque_env_choose_the_server() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("resque.yml");
    std::fs::write(
        &config,
        format!("development: 127.0.0.1:1\nstaging: 127.0.0.1:{}/staged\n", redis.port()),
    )
    .unwrap();
    record::enqueue_to(&redis.client_in("staged"), out.to_str().unwrap(), "via yml").unwrap();
    let mut cmd = command(env!("CARGO_BIN_EXE_test-worker"), &redis);
    cmd.env_remove("RESQUE_REDIS").env("RESQUE_ENV", "staging").arg("--config").arg(&config);
    let (ok, stderr) = stderr_of(cmd.args(["work", "-q", "record", "-i", "0"]));
    assert!(ok, "{stderr}");
    assert_eq!(lines(&out).len(), 1);

    let (ok, stderr) = stderr_of(
        worker(&redis).arg("--config").arg(dir.path().join("missing.yml")).args(["work", "-q", "a"]),
    );
    assert!(!ok);
    assert!(stderr.contains("missing.yml") && stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn duplicate_job_classes_stop_the_worker_naming_both() {
    let redis = TestRedis::start();
    let (ok, stderr) = stderr_of(command(env!("CARGO_BIN_EXE_dup-worker"), &redis).args(["work", "-q", "*"]));
    assert!(!ok);
    assert!(stderr.contains("job class \"Archive\" is defined twice"), "{stderr}");
    assert!(stderr.contains("resque_tests::jobs::archive"), "{stderr}");
    assert!(stderr.contains("dup_worker::another_archive"), "{stderr}");
}

#[test]
fn jobs_lists_what_the_binary_links() {
    let redis = TestRedis::start();
    let out = run(worker(&redis).arg("jobs"), LIMIT);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for class in
        ["Archive", "Record", "SlowRecord", "Test::Fail", "Panicking", "AbortJob", "ExitWith", "ReportTitle"]
    {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("{class}\t"))), "{class} missing:\n{stdout}");
    }
}

#[test]
fn redis_url_and_resque_namespace_from_the_environment() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    record::enqueue_to(&redis.client_in("envns"), out.to_str().unwrap(), "x").unwrap();
    let mut cmd = worker(&redis);
    cmd.env_remove("RESQUE_REDIS").env("REDIS_URL", redis.url()).env("RESQUE_NAMESPACE", "envns");
    let (ok, stderr) = stderr_of(cmd.args(["work", "-q", "record", "-i", "0"]));
    assert!(ok, "{stderr}");
    assert_eq!(lines(&out).len(), 1);
}

#[test]
fn verbose_logs_each_job_and_quiet_logs_only_the_start() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    record::enqueue_to(&redis.client(), path, "a").unwrap();
    let (ok, quiet) = stderr_of(worker(&redis).args(["work", "-q", "record", "-i", "0"]));
    assert!(ok && quiet.lines().count() == 1 && quiet.contains("worker started"), "{quiet}");

    record::enqueue_to(&redis.client(), path, "b").unwrap();
    let (ok, verbose) =
        stderr_of(worker(&redis).args(["work", "-q", "record", "-i", "0"]).env("VERBOSE", "1"));
    assert!(ok && verbose.contains("worker started") && verbose.contains("job done"), "{verbose}");
    assert!(!verbose.contains("heartbeat"), "-v does not log at debug level: {verbose}");
    assert!(!verbose.contains('\x1b'), "no colour codes when stderr is not a terminal: {verbose}");

    record::enqueue_to(&redis.client(), path, "c").unwrap();
    let (ok, very) = stderr_of(worker(&redis).args(["-vv", "work", "-q", "record", "-i", "0"]));
    assert!(ok && very.contains("heartbeat") && very.contains("forked a child"), "{very}");
    assert_eq!(lines(&out).len(), 3);
}
