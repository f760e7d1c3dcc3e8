//! One step per job: a worker records the job that ran, records the job that
//! starts and takes the next ones in one script, and keeps jobs taken ahead
//! in its in-flight list (one for a forking worker, a batch with
//! `--no-fork`). Nothing of that may lose a job, skew a counter or show the
//! wrong job in `worker:<id>`.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::{fail, record, slow_record, stop_once};
use resque_tests::{eventually, lines, wait_for_exit, worker_id, Reaped, TestRedis};
use serde_json::Value;

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

fn spawn(redis: &TestRedis, args: &[&str]) -> Reaped {
    Reaped::spawn(worker(redis).args(args).stdout(Stdio::null()).stderr(Stdio::null()))
}

/// The `line` argument of each `slow_record` payload in a queue (of at most
/// 100 jobs), in order.
fn queued_lines(c: &resque::Client, queue: &str) -> Vec<String> {
    let payloads = c.peek(queue, 0, 100).unwrap();
    payloads.iter().map(|p| p["args"][2].as_str().unwrap().to_string()).collect()
}

#[test]
fn stats_failures_and_order_stay_right_with_one_step_per_job() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    let c = redis.client();
    for (round, extra) in [&[][..], &["--no-fork"][..]].into_iter().enumerate() {
        for i in 0..5 {
            record::enqueue_to(&c, path, format!("job{}", round * 5 + i)).unwrap();
        }
        fail::enqueue_to(&c, format!("first {round}")).unwrap();
        fail::enqueue_to(&c, format!("second {round}")).unwrap();
        let mut w = spawn(&redis, &[&["work", "-i", "0", "-q", "record,failing"][..], extra].concat());
        assert!(wait_for_exit(&mut w, LIMIT).unwrap().success());
        let done = lines(&out);
        assert_eq!(done.len(), 5 * (round + 1), "{done:?}");
        for (i, line) in done.iter().enumerate() {
            assert!(line.starts_with(&format!("job{i} ")), "queue order kept: {done:?}");
        }
        assert_eq!(c.stat("processed").unwrap(), 7 * (round as u64 + 1));
        assert_eq!(c.stat("failed").unwrap(), 2 * (round as u64 + 1));
    }
    let failures = redis.failures();
    let errors: Vec<&str> = failures.iter().map(|f| f["error"].as_str().unwrap()).collect();
    assert_eq!(
        errors,
        [
            "failed on purpose: first 0",
            "failed on purpose: second 0",
            "failed on purpose: first 1",
            "failed on purpose: second 1"
        ]
    );
    assert!(failures.iter().all(|f| f["queue"] == "failing"));
    let keys = c.keys_in_namespace().unwrap();
    assert_eq!(
        keys,
        ["failed", "pruning_dead_workers_in_progress", "queues", "stat:failed", "stat:processed"]
    );
}

#[test]
fn the_record_describes_the_running_job_when_it_was_taken_ahead() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    let c = redis.client();
    // After a short job the worker takes one ahead: b, taken with a (short too), starts from there.
    slow_record::enqueue_to(&c, path, 0, "warm").unwrap();
    slow_record::enqueue_to(&c, path, 0, "a").unwrap();
    slow_record::enqueue_to(&c, path, 1500, "b").unwrap();
    let mut w = spawn(&redis, &["work", "-i", "0.05", "-q", "slow"]);
    let id = worker_id(w.id(), "slow");
    let record_line = || -> Option<String> {
        let record: Option<String> = redis.conn().get(c.keys().worker(&id)).unwrap();
        let record: Value = serde_json::from_str(&record?).ok()?;
        record["payload"]["args"][2].as_str().map(str::to_string)
    };
    let inflight = || -> usize { redis.conn().llen(c.keys().inflight(&id)).unwrap() };

    assert!(eventually(LIMIT, || lines(&out).contains(&"start b".to_string())));
    // A forking worker sends the step that records b without awaiting its
    // reply, so the child can start before Redis has applied it.
    assert!(eventually(LIMIT, || record_line().as_deref() == Some("b")), "{:?}", record_line());
    // Written by the worker, not by the script that took the job: the same shape.
    let record: String = redis.conn().get(c.keys().worker(&id)).unwrap();
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record.as_object().unwrap().keys().collect::<Vec<_>>(), ["queue", "run_at", "payload"]);
    assert_eq!(record["queue"], "slow");
    let run_at = record["run_at"].as_str().unwrap();
    assert!(run_at.len() == 20 && run_at.ends_with('Z'), "{run_at}");
    assert!(eventually(LIMIT, || inflight() == 1), "{}", inflight());
    assert!(eventually(LIMIT, || c.stat("processed").unwrap() == 2), "{:?}", c.stat("processed"));

    assert!(eventually(LIMIT, || lines(&out).contains(&"done b".to_string())));
    assert!(eventually(LIMIT, || record_line().is_none()), "no record once idle");
    assert!(eventually(LIMIT, || inflight() == 0));
    assert_eq!(c.stat("processed").unwrap(), 3);
    kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut w, LIMIT).unwrap().success());
}

#[test]
fn quit_puts_the_jobs_taken_ahead_back_in_order_and_uncounted() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    let c = redis.client();
    // After a short job a --no-fork worker takes a batch; the jobs behind a
    // long one go back to the queue (handed back while it runs, or at QUIT).
    slow_record::enqueue_to(&c, path, 0, "warm").unwrap();
    for i in 0..6 {
        slow_record::enqueue_to(&c, path, 700, format!("{i}")).unwrap();
    }
    let mut w = spawn(&redis, &["work", "-i", "0.05", "-q", "slow", "--no-fork"]);
    assert!(eventually(LIMIT, || lines(&out).contains(&"start 0".to_string())));
    kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut w, LIMIT).unwrap().success());
    assert_eq!(lines(&out), ["start warm", "done warm", "start 0", "done 0"]);
    assert_eq!(queued_lines(&c, "slow"), ["1", "2", "3", "4", "5"]);
    assert_eq!(c.stat("processed").unwrap(), 2);
    let keys = c.keys_in_namespace().unwrap();
    assert_eq!(keys, ["pruning_dead_workers_in_progress", "queue:slow", "queues", "stat:processed"]);
}

#[test]
fn a_batch_in_flight_is_recovered_after_a_no_fork_worker_is_killed() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    let marker = dir.path().join("stopped");
    let c = redis.client();
    // A short job, so that the worker takes a batch; then a job that stops
    // the whole process at once (its watchdog too: nothing is handed back)
    // with 7 jobs taken behind it.
    slow_record::enqueue_to(&c, path, 0, "warm").unwrap();
    stop_once::enqueue_to(&c, path, marker.to_str().unwrap()).unwrap();
    for i in 0..7 {
        slow_record::enqueue_to(&c, path, 50, format!("{i}")).unwrap();
    }
    let args = ["work", "-i", "0.05", "-q", "slow", "--no-fork", "--heartbeat-interval", "1"];
    let mut w = spawn(&redis, &args);
    let id = worker_id(w.id(), "slow");
    let stopped =
        || std::fs::read_to_string(format!("/proc/{}/stat", w.id())).is_ok_and(|s| s.contains(") T "));
    assert!(eventually(LIMIT, stopped), "the worker did not stop");
    let taken: usize = redis.conn().llen(c.keys().inflight(&id)).unwrap();
    assert_eq!(taken, 8, "the stopped job and the 7 taken behind it");
    assert_eq!(c.size("slow").unwrap(), 0);
    kill(Pid::from_raw(w.id() as i32), Signal::SIGKILL).unwrap();
    wait_for_exit(&mut w, LIMIT).unwrap();

    // A new worker on this host with the same queues prunes the dead one
    // (at start-up or at a heartbeat, once the pruning lock is free) and puts
    // its whole batch back, in order, then works it off.
    let mut w = spawn(&redis, &args);
    let all_done = || {
        let seen = lines(&out);
        (0..7).all(|i| seen.contains(&format!("done {i}"))) && redis.inflight_keys().is_empty()
    };
    assert!(eventually(LIMIT, all_done), "{:?}", lines(&out));
    kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut w, LIMIT).unwrap().success());
    let mut expected = vec!["start warm".to_string(), "done warm".to_string(), "stopped before".to_string()];
    for i in 0..7 {
        expected.push(format!("start {i}"));
        expected.push(format!("done {i}"));
    }
    // The job that was running when the worker died runs again; every job of the batch ran once, in queue order.
    assert_eq!(lines(&out), expected);
    assert!(redis.inflight_keys().is_empty());
    assert!(!c.keys_in_namespace().unwrap().iter().any(|k| k == "recoveries"));
    assert_eq!(c.size("slow").unwrap(), 0);
}

#[test]
fn a_no_fork_worker_with_jobs_ahead_rides_out_a_redis_restart() {
    let mut redis = TestRedis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    let c = redis.client();
    for i in 0..6 {
        slow_record::enqueue_to(&c, path, 300, format!("{i}")).unwrap();
    }
    let mut w = spawn(&redis, &["work", "-i", "0.05", "-q", "slow", "--no-fork"]);
    assert!(eventually(LIMIT, || lines(&out).contains(&"start 1".to_string())));
    redis.stop();
    std::thread::sleep(Duration::from_millis(500));
    redis.restart();
    // A client that connects after the restart (`c`'s connection died with it).
    let c = redis.client();
    let done = || lines(&out).iter().filter(|l| l.starts_with("done ")).count();
    assert!(eventually(LIMIT, || done() >= 6), "{:?}", lines(&out));
    let settled = || c.stat("processed").unwrap() >= 6 && redis.inflight_keys().is_empty();
    assert!(eventually(LIMIT, settled), "{:?}", c.keys_in_namespace());
    kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut w, LIMIT).unwrap().success());
    let mut done: Vec<String> = lines(&out).into_iter().filter(|l| l.starts_with("done ")).collect();
    done.sort();
    assert_eq!(done, (0..6).map(|i| format!("done {i}")).collect::<Vec<_>>(), "each job ran once");
    assert_eq!(c.stat("processed").unwrap(), 6, "each job recorded once");
    assert_eq!(c.stat("failed").unwrap(), 0);
    assert_eq!(c.size("slow").unwrap(), 0);
}
