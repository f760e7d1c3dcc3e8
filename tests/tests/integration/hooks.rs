//! Job hooks and plugins, in order, and worker hooks, seen from a real
//! forked worker: each hook appends a line to a file.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use resque_tests::jobs::hooked;
use resque_tests::{cmdline, eventually, lines, run, wait_for_exit, Reaped, TestRedis};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

/// The lines without their `pid=...` suffixes.
fn notes(path: &std::path::Path) -> Vec<String> {
    lines(path).iter().map(|l| l.split(" pid=").next().unwrap_or("").to_string()).collect()
}

fn drain(redis: &TestRedis, extra: &[&str]) {
    let out = run(worker(redis).args(["work", "-i", "0", "-q", "hooks"]).args(extra), LIMIT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn enqueue_hooks_run_in_the_caller_and_can_veto() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    hooked::enqueue_to(&redis.client(), path, "ok").unwrap();
    hooked::enqueue_to(&redis.client(), path, "veto").unwrap();
    assert_eq!(notes(&out), ["job:before_enqueue", "job:after_enqueue", "job:before_enqueue"]);
    assert_eq!(redis.client().size("hooks").unwrap(), 1, "the vetoed job was not pushed");
}

#[test]
fn dequeue_hooks_run_and_can_veto() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    let c = redis.client();
    hooked::enqueue_to(&c, path, "keep").unwrap();
    hooked::enqueue_to(&c, path, "ok").unwrap();
    let keep = hooked::Args { path: path.into(), mode: "keep".into() };
    assert_eq!(c.dequeue_job(&keep).unwrap(), 0, "before_dequeue vetoed");
    let ok = hooked::Args { path: path.into(), mode: "ok".into() };
    assert_eq!(c.dequeue_job(&ok).unwrap(), 1);
    let tail: Vec<String> = notes(&out).into_iter().skip(4).collect();
    assert_eq!(tail, ["job:before_dequeue", "job:before_dequeue", "job:after_dequeue"]);
}

#[test]
fn perform_hooks_run_in_order_in_the_child() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    hooked::enqueue_to(&redis.client(), out.to_str().unwrap(), "ok").unwrap();
    std::fs::remove_file(&out).unwrap();
    drain(&redis, &[]);
    assert_eq!(
        notes(&out),
        [
            "job:before_perform",
            "plugin:before_perform",
            "job:around:before",
            "plugin:around:before",
            "perform",
            "plugin:around:after",
            "job:around:after",
            "job:after_perform",
            "plugin:after_perform",
        ]
    );
    assert!(redis.failures().is_empty());
}

#[test]
fn a_failing_job_runs_on_failure_hooks_not_after_perform() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    hooked::enqueue_to(&redis.client(), out.to_str().unwrap(), "fail").unwrap();
    std::fs::remove_file(&out).unwrap();
    drain(&redis, &[]);
    let notes = notes(&out);
    assert_eq!(notes[4], "perform");
    assert!(!notes.iter().any(|n| n.contains("after_perform")), "{notes:?}");
    let failure = notes.iter().position(|n| n.starts_with("job:on_failure:")).unwrap();
    assert!(notes[failure].ends_with("TestError"), "{notes:?}");
    assert!(notes[failure + 1].starts_with("plugin:on_failure:"), "{notes:?}");
    assert_eq!(redis.failures().len(), 1);
}

#[test]
fn before_perform_can_skip_a_job_without_failing_it() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    hooked::enqueue_to(&redis.client(), out.to_str().unwrap(), "skip").unwrap();
    std::fs::remove_file(&out).unwrap();
    drain(&redis, &[]);
    assert_eq!(notes(&out), ["job:before_perform"]);
    assert!(redis.failures().is_empty());
    assert_eq!(redis.client().stat("processed").unwrap(), 1);
}

#[test]
fn around_perform_can_skip_the_job() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    hooked::enqueue_to(&redis.client(), out.to_str().unwrap(), "around-skip").unwrap();
    std::fs::remove_file(&out).unwrap();
    drain(&redis, &[]);
    let notes = notes(&out);
    assert_eq!(
        notes[..4],
        ["job:before_perform", "plugin:before_perform", "job:around:before", "job:around:skipped"]
    );
    assert!(!notes.contains(&"perform".to_string()), "{notes:?}");
    assert!(redis.failures().is_empty());
}

/// A child that dies or overruns cannot run its hooks: the worker runs
/// `on_failure` for it.
#[test]
fn on_failure_runs_in_the_worker_for_crashes_and_timeouts() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    hooked::enqueue_to(&redis.client(), path, "crash").unwrap();
    hooked::enqueue_to(&redis.client(), path, "sleep").unwrap();
    std::fs::remove_file(&out).unwrap();
    let mut child = Reaped::spawn(
        worker(&redis)
            .args(["work", "-i", "0", "-q", "hooks", "--job-timeout", "0.5", "--term-timeout", "0.2"])
            .stderr(Stdio::null()),
    );
    let worker_pid = child.id();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    let failures: Vec<String> =
        lines(&out).into_iter().filter(|l| l.starts_with("job:on_failure:")).collect();
    assert_eq!(
        failures,
        [
            format!("job:on_failure:Resque::DirtyExit pid={worker_pid}"),
            format!("job:on_failure:Resque::JobTimeout pid={worker_pid}"),
        ]
    );
}

#[test]
fn worker_hooks_run_where_ruby_runs_them() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("jobs");
    let hooks = dir.path().join("worker-hooks");
    hooked::enqueue_to(&redis.client(), out.to_str().unwrap(), "ok").unwrap();
    let mut child = Reaped::spawn(
        worker(&redis)
            .args(["work", "-i", "0.05", "-q", "hooks"])
            .env("TEST_WORKER_HOOKS", &hooks)
            .stderr(Stdio::null()),
    );
    let pid = child.id();
    assert!(eventually(LIMIT, || notes(&hooks).contains(&"queue_empty".to_string())));
    kill(Pid::from_raw(pid as i32), Signal::SIGUSR2).unwrap();
    assert!(eventually(LIMIT, || cmdline(pid).ends_with("Paused")));
    kill(Pid::from_raw(pid as i32), Signal::SIGCONT).unwrap();
    assert!(eventually(LIMIT, || notes(&hooks).contains(&"after_pause".to_string())));
    kill(Pid::from_raw(pid as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    let seen = lines(&hooks);
    let events: Vec<String> = notes(&hooks);
    assert_eq!(
        events,
        [
            "before_first_fork",
            "before_fork",
            "after_fork",
            "queue_empty",
            "before_pause",
            "after_pause",
            "shutdown",
            "worker_exit",
        ],
        "{seen:?}"
    );
    assert!(seen[1].ends_with(&format!("pid={pid} job=Hooked")), "before_fork in the worker: {seen:?}");
    assert!(
        seen[2].ends_with(" job=Hooked") && !seen[2].contains(&format!("pid={pid} ")),
        "after_fork in the child: {seen:?}"
    );
}
