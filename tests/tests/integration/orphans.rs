//! No process outlives the one that started it: a job's child dies with its
//! worker (and the job runs again once recovered), a supervisor's workers
//! stop when the supervisor is killed.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use resque_tests::jobs::slow_record;
use resque_tests::{eventually, lines, wait_for_exit, Reaped, TestRedis};

use super::process::{running, KillOnDrop};
use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

fn spawn(redis: &TestRedis, args: &[&str]) -> Reaped {
    Reaped::spawn(worker(redis).args(args).stdout(Stdio::null()).stderr(Stdio::null()))
}

/// The child processes of `pid`.
fn children(pid: u32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn a_job_child_dies_with_its_killed_worker_and_the_job_runs_once_more() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 3000, "orphan").unwrap();
    let mut first = spawn(&redis, &["work", "-i", "60", "-q", "slow", "--heartbeat-interval", "1"]);
    assert!(eventually(LIMIT, || lines(&out) == ["start orphan"]));
    let child = children(first.id());
    assert_eq!(child.len(), 1, "one child runs the job: {child:?}");
    let child = child[0];
    let _cleanup = KillOnDrop(vec![child]);

    kill(Pid::from_raw(first.id() as i32), Signal::SIGKILL).unwrap();
    first.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(2), || !running(child)),
        "the job's child {child} still runs 2 s after its worker was killed"
    );

    // Recovered from the dead worker's in-flight list by the next worker on
    // the host, once the dead one's pruning lock (EX 1 s) has expired.
    let mut second = spawn(&redis, &["work", "-i", "0.05", "-q", "slow", "--heartbeat-interval", "1"]);
    assert!(
        eventually(LIMIT, || lines(&out).iter().any(|l| l == "done orphan")),
        "the job was not run again: {:?}",
        lines(&out)
    );
    kill(Pid::from_raw(second.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut second, LIMIT).unwrap().success());
    // Only the second run finished: the first was stopped where it was.
    assert_eq!(lines(&out), ["start orphan", "start orphan", "done orphan"]);
    assert_eq!(redis.client().stat("processed").unwrap(), 1);
    assert!(redis.failures().is_empty(), "recovered, not failed: {:#?}", redis.failures());
    assert!(redis.workers().is_empty() && redis.inflight_keys().is_empty());
}

/// As resque-pool's workers do when their master goes away: each finishes
/// the job in hand, unregisters and exits.
#[test]
fn a_killed_supervisors_workers_finish_their_job_and_exit() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut supervisor = spawn(&redis, &["work", "--count", "2", "-q", "slow", "-i", "0.1"]);
    let sup = supervisor.id();
    assert!(eventually(LIMIT, || children(sup).len() == 2 && redis.workers().len() == 2));
    let workers = children(sup);
    let _cleanup = KillOnDrop(workers.clone());
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 1500, "kept").unwrap();
    assert!(eventually(LIMIT, || lines(&out) == ["start kept"]));

    kill(Pid::from_raw(sup as i32), Signal::SIGKILL).unwrap();
    supervisor.wait().unwrap();
    assert!(eventually(LIMIT, || workers.iter().all(|&w| !running(w))), "a worker outlived its supervisor");
    assert_eq!(lines(&out), ["start kept", "done kept"], "the job in hand finished");
    assert!(redis.workers().is_empty(), "the worker unregistered: {:?}", redis.workers());
    assert!(redis.failures().is_empty(), "{:#?}", redis.failures());
}
