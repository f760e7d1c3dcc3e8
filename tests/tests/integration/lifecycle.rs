//! Worker lifecycle: every signal and stop setting, reliable fetch, and
//! recovery of dead workers' jobs.

use std::process::{Child, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::{overrun, record, slow_record, stubborn};
use resque_tests::{cmdline, eventually, lines, wait_for_exit, worker_id, Reaped, TestRedis};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

fn spawn(redis: &TestRedis, args: &[&str], env: &[(&str, &str)]) -> Reaped {
    Reaped::spawn(
        worker(redis).args(args).envs(env.iter().copied()).stdout(Stdio::null()).stderr(Stdio::null()),
    )
}

fn signal(child: &Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
}

fn processed(redis: &TestRedis) -> u64 {
    redis.client().stat("processed").unwrap()
}

#[test]
fn usr1_kills_the_child_and_the_worker_goes_on() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    slow_record::enqueue_to(&redis.client(), path, 600_000, "killed").unwrap();
    let mut child = spawn(&redis, &["work", "-i", "0.05", "-q", "slow,record"], &[]);
    assert!(eventually(LIMIT, || lines(&out) == ["start killed"]));
    signal(&child, Signal::SIGUSR1);
    assert!(eventually(LIMIT, || redis.failures().len() == 1));
    assert_eq!(redis.failures()[0]["error"], "Child process received unhandled signal SIGKILL (9)");
    record::enqueue_to(&redis.client(), path, "after").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 2), "the worker went on: {:?}", lines(&out));
    assert!(lines(&out)[1].starts_with("after pid="));
    signal(&child, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

#[test]
fn usr2_pauses_and_cont_resumes() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = spawn(&redis, &["work", "-i", "0.05", "-q", "record"], &[]);
    assert!(eventually(LIMIT, || !redis.workers().is_empty()));
    signal(&child, Signal::SIGUSR2);
    assert!(eventually(LIMIT, || cmdline(child.id()).ends_with("Paused")), "{}", cmdline(child.id()));
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "later").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(redis.client().size("record").unwrap(), 1, "a paused worker takes nothing");
    signal(&child, Signal::SIGCONT);
    assert!(eventually(LIMIT, || lines(&out).len() == 1));
    signal(&child, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

#[test]
fn term_child_sends_term_first() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 600_000, "t").unwrap();
    let mut child = spawn(&redis, &["work", "-i", "60", "-q", "slow"], &[("TERM_CHILD", "1")]);
    assert!(eventually(LIMIT, || lines(&out) == ["start t"]));
    signal(&child, Signal::SIGTERM);
    assert!(wait_for_exit(&mut child, LIMIT).is_some());
    let f = redis.failures();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["exception"], "Resque::DirtyExit");
    assert_eq!(f[0]["error"], "Child process received unhandled signal SIGTERM (15)");
    assert!(redis.workers().is_empty());
}

#[test]
fn a_child_that_ignores_term_is_killed_after_the_term_timeout() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    stubborn::enqueue_to(&redis.client(), out.to_str().unwrap(), 600_000, "s").unwrap();
    let mut child =
        spawn(&redis, &["work", "-i", "60", "-q", "slow", "--term-child", "--term-timeout", "0.3"], &[]);
    assert!(eventually(LIMIT, || lines(&out) == ["start s"]));
    signal(&child, Signal::SIGTERM);
    assert!(wait_for_exit(&mut child, LIMIT).is_some());
    let f = redis.failures();
    assert_eq!(f[0]["error"], "Child process received unhandled signal SIGKILL (9)");
}

#[test]
fn pre_shutdown_timeout_lets_a_short_job_finish() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 800, "short").unwrap();
    let env = [("TERM_CHILD", "1"), ("RESQUE_PRE_SHUTDOWN_TIMEOUT", "30")];
    let mut child = spawn(&redis, &["work", "-i", "60", "-q", "slow"], &env);
    assert!(eventually(LIMIT, || lines(&out) == ["start short"]));
    signal(&child, Signal::SIGTERM);
    assert!(wait_for_exit(&mut child, LIMIT).is_some());
    assert_eq!(lines(&out), ["start short", "done short"]);
    assert!(redis.failures().is_empty());
    assert_eq!(processed(&redis), 1);
}

#[test]
fn a_second_term_stops_at_once() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    stubborn::enqueue_to(&redis.client(), out.to_str().unwrap(), 600_000, "s").unwrap();
    let env = [("TERM_CHILD", "1"), ("RESQUE_PRE_SHUTDOWN_TIMEOUT", "600"), ("RESQUE_TERM_TIMEOUT", "600")];
    let mut child = spawn(&redis, &["work", "-i", "60", "-q", "slow"], &env);
    assert!(eventually(LIMIT, || lines(&out) == ["start s"]));
    signal(&child, Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "the first TERM waits for the pre-shutdown time");
    signal(&child, Signal::SIGINT);
    assert!(wait_for_exit(&mut child, LIMIT).is_some(), "the second signal stopped it");
    assert_eq!(redis.failures()[0]["error"], "Child process received unhandled signal SIGKILL (9)");
    assert!(redis.workers().is_empty());
}

#[test]
fn graceful_term_finishes_the_job() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 800, "g").unwrap();
    let mut child = spawn(&redis, &["work", "-i", "60", "-q", "slow"], &[("GRACEFUL_TERM", "1")]);
    assert!(eventually(LIMIT, || lines(&out) == ["start g"]));
    signal(&child, Signal::SIGTERM);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert_eq!(lines(&out), ["start g", "done g"]);
    assert!(redis.failures().is_empty());
}

#[test]
fn job_timeout_stops_an_overrunning_child() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap();
    slow_record::enqueue_to(&redis.client(), path, 600_000, "over").unwrap();
    stubborn::enqueue_to(&redis.client(), path, 600_000, "stubborn").unwrap();
    slow_record::enqueue_to(&redis.client(), path, 10, "quick").unwrap();
    let mut child = spawn(
        &redis,
        &["work", "-i", "0", "-q", "slow", "--job-timeout", "0.5", "--term-timeout", "0.3"],
        &[],
    );
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    let f = redis.failures();
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(f[0]["exception"], "Resque::JobTimeout");
    assert_eq!(f[0]["error"], "the job ran longer than its timeout of 500ms and was stopped with SIGTERM");
    assert_eq!(f[1]["exception"], "Resque::JobTimeout");
    assert_eq!(f[1]["error"], "the job ran longer than its timeout of 500ms and was stopped with SIGKILL");
    assert!(lines(&out).contains(&"done quick".to_string()));
    assert_eq!(processed(&redis), 3);
}

#[test]
fn a_jobs_own_timeout_wins_over_the_workers() {
    let redis = TestRedis::start();
    assert_eq!(overrun::TIMEOUT, Some(Duration::from_millis(500)));
    overrun::enqueue_to(&redis.client(), 600_000).unwrap();
    let mut child = spawn(&redis, &["work", "-i", "0", "-q", "slow", "--job-timeout", "3600"], &[]);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    let f = redis.failures();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["error"], "the job ran longer than its timeout of 500ms and was stopped with SIGTERM");
}

#[test]
fn procline_prefix_comes_first() {
    let redis = TestRedis::start();
    let mut child =
        spawn(&redis, &["work", "-i", "60", "-q", "record"], &[("RESQUE_PROCLINE_PREFIX", "billing-")]);
    let expected = format!("billing-resque-{}: Waiting for record", env!("CARGO_PKG_VERSION"));
    assert!(eventually(LIMIT, || cmdline(child.id()) == expected), "{}", cmdline(child.id()));
    signal(&child, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

/// A worker SIGKILLed mid-job leaves the job in its in-flight list; the next
/// worker on the host prunes the dead one and puts the job back.
#[test]
fn a_killed_workers_job_is_recovered_by_the_next_worker() {
    for kill_child_too in [false, true] {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 2000, "survivor").unwrap();
        let mut first = spawn(&redis, &["work", "-i", "60", "-q", "slow", "--heartbeat-interval", "1"], &[]);
        assert!(eventually(LIMIT, || lines(&out) == ["start survivor"]));
        let inflight = redis.inflight_keys();
        assert_eq!(inflight.len(), 1, "{inflight:?}");
        if kill_child_too {
            // The worker's child is its only child process.
            let children =
                std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", first.id())).unwrap();
            for pid in children.split_whitespace() {
                kill(Pid::from_raw(pid.parse().unwrap()), Signal::SIGKILL).unwrap();
            }
        }
        signal(&first, Signal::SIGKILL);
        first.wait().unwrap();
        assert_eq!(redis.workers().len(), 1, "a SIGKILLed worker cannot unregister");
        assert_eq!(redis.client().size("slow").unwrap(), 0);

        // The dead worker took the pruning lock for one heartbeat interval
        // (Ruby's throttle); the next worker prunes once it has expired.
        let mut second =
            spawn(&redis, &["work", "-i", "0.05", "-q", "slow", "--heartbeat-interval", "1"], &[]);
        let reran = || lines(&out).iter().filter(|l| *l == "start survivor").count() == 2;
        assert!(eventually(LIMIT, reran), "the job was run again: {:?}", lines(&out));
        assert!(eventually(LIMIT, || processed(&redis) == 1));
        signal(&second, Signal::SIGQUIT);
        assert!(wait_for_exit(&mut second, LIMIT).unwrap().success());
        assert!(redis.inflight_keys().is_empty());
        assert!(redis.workers().is_empty(), "the dead worker was pruned");
        assert!(redis.failures().is_empty(), "recovered, not failed: {:#?}", redis.failures());
    }
}

/// Ruby's rules: expired heartbeat → pruned (its in-flight job put back at
/// the head of its queue); no heartbeat at all → another client, left alone;
/// a dead Ruby worker's job → `Resque::PruneDeadWorkerDirtyExit`.
#[test]
fn pruning_follows_rubys_rules_and_recovers_jobs() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let stale = "elsewhere:1:slow";
    let no_beat = "elsewhere:2:slow";
    let ruby = "elsewhere:3:mail";
    for w in [stale, no_beat, ruby] {
        let _: () = conn.sadd("resque:workers", w).unwrap();
        let _: () = conn.set(format!("resque:worker:{w}:started"), "2026-11-23 23:50:00 +0000").unwrap();
    }
    let old = "2020-01-01T00:00:00+00:00";
    let _: () = conn.hset("resque:workers:heartbeat", stale, old).unwrap();
    let _: () = conn.hset("resque:workers:heartbeat", ruby, old).unwrap();
    let job = r#"{"class":"SlowRecord","args":["/dev/null",1,"recovered"]}"#;
    let entry = serde_json::json!({"queue": "slow", "payload": job}).to_string();
    let _: () = conn.rpush(format!("resque:inflight:{stale}"), &entry).unwrap();
    let _: () =
        conn.rpush("resque:queue:slow", r#"{"class":"SlowRecord","args":["/dev/null",1,"queued"]}"#).unwrap();
    let ruby_job =
        r#"{"queue":"mail","run_at":"2026-11-23T23:50:00Z","payload":{"class":"Mail","args":[1]}}"#;
    let _: () = conn.set(format!("resque:worker:{ruby}"), ruby_job).unwrap();

    // A worker on another queue: it prunes but runs nothing.
    let mut child = spawn(&redis, &["work", "-i", "0", "-q", "other"], &[]);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());

    assert_eq!(redis.workers(), [no_beat]);
    let queued: Vec<String> = conn.lrange("resque:queue:slow", 0, -1).unwrap();
    assert_eq!(queued[0], job, "put back at the head");
    assert_eq!(queued.len(), 2);
    assert!(redis.inflight_keys().is_empty());
    let f = redis.failures();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["exception"], "Resque::PruneDeadWorkerDirtyExit");
    // Ruby: PruneDeadWorkerDirtyExit.new(worker.to_s, job_class), the whole id.
    assert_eq!(f[0]["error"], "Worker elsewhere:3:mail did not gracefully exit while processing Mail");
    assert_eq!(f[0]["worker"], ruby);
    let gone: bool = conn.exists(format!("resque:worker:{stale}:started")).unwrap();
    assert!(!gone);
}

#[test]
fn a_job_that_keeps_killing_its_workers_is_failed_on_the_third_recovery() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let job = r#"{"class":"SlowRecord","args":["/dev/null",1,"poison"]}"#;
    let entry = serde_json::json!({"queue": "slow", "payload": job}).to_string();
    for round in 1..=3 {
        let dead = format!("elsewhere:{round}:slow");
        let _: () = conn.sadd("resque:workers", &dead).unwrap();
        let _: () = conn.hset("resque:workers:heartbeat", &dead, "2020-01-01T00:00:00+00:00").unwrap();
        let _: () = conn.rpush(format!("resque:inflight:{dead}"), &entry).unwrap();
        let _: Option<String> = conn.lpop("resque:queue:slow", None).unwrap();
        let _: () = conn.del("resque:pruning_dead_workers_in_progress").unwrap();
        let mut child = spawn(&redis, &["work", "-i", "0", "-q", "none"], &[]);
        assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
        let queued: u64 = conn.llen("resque:queue:slow").unwrap();
        if round < 3 {
            assert_eq!(queued, 1, "round {round}: put back");
            assert!(redis.failures().is_empty());
        } else {
            assert_eq!(queued, 0, "round 3: not put back");
            let f = redis.failures();
            assert_eq!(f.len(), 1);
            assert_eq!(f[0]["exception"], "Resque::DirtyExit");
            assert!(f[0]["error"].as_str().unwrap().contains("died 3 times"), "{}", f[0]["error"]);
            assert_eq!(f[0]["payload"]["args"][2], "poison");
        }
    }
}

#[test]
fn a_job_finished_while_redis_was_down_is_recorded_when_it_returns() {
    let mut redis = TestRedis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 1000, "outage").unwrap();
    let mut child = spawn(&redis, &["work", "-i", "0.05", "-q", "slow"], &[]);
    assert!(eventually(LIMIT, || lines(&out) == ["start outage"]));
    redis.stop();
    assert!(eventually(LIMIT, || lines(&out).len() == 2), "the job finished while Redis was down");
    std::thread::sleep(Duration::from_millis(300));
    redis.restart();
    assert!(eventually(LIMIT, || processed(&redis) == 1), "recorded once Redis was back");
    assert!(redis.inflight_keys().is_empty());
    assert!(redis.failures().is_empty());
    signal(&child, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

/// An idle worker polling once an hour still takes a job pushed by
/// resque-rs at once: the push publishes on the wake channel.
#[test]
fn an_idle_worker_wakes_for_a_published_job() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = spawn(&redis, &["work", "-i", "3600", "-q", "record"], &[]);
    assert!(eventually(LIMIT, || cmdline(child.id()).ends_with("Waiting for record")));
    for i in 0..3 {
        record::enqueue_to(&redis.client(), out.to_str().unwrap(), format!("woken{i}")).unwrap();
        assert!(
            eventually(LIMIT, || lines(&out).len() == i + 1),
            "job {i} was taken without waiting an hour"
        );
        assert!(eventually(LIMIT, || cmdline(child.id()).ends_with("Waiting for record")));
    }
    // A producer that does not publish (Ruby Resque) wakes it too, through
    // its wait on the list (see pickup.rs).
    let _: () = redis
        .conn()
        .rpush("resque:queue:record", r#"{"class":"Record","args":["/dev/null","ruby"]}"#)
        .unwrap();
    assert!(
        eventually(Duration::from_secs(2), || redis.client().size("record").unwrap() == 0),
        "taken without waiting for the next poll"
    );
    signal(&child, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

/// Idle, a worker polls once per INTERVAL and beats once per heartbeat
/// interval: with INTERVAL 5 it sends Redis about one command a second or less.
#[test]
fn an_idle_worker_costs_redis_little() {
    let redis = TestRedis::start();
    let mut child = spawn(&redis, &["work", "-q", "record,mail,*"], &[]);
    assert!(eventually(LIMIT, || !redis.workers().is_empty()));
    std::thread::sleep(Duration::from_millis(500));
    let total = |redis: &TestRedis| -> u64 {
        let info: String = redis::cmd("INFO").arg("stats").query(&mut redis.conn()).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let before = total(&redis);
    std::thread::sleep(Duration::from_secs(6));
    // Minus the INFO command itself and the test's own connection setup.
    let sent = total(&redis).saturating_sub(before + 3);
    assert!(sent <= 6, "{sent} commands in 6 s while idle");
    signal(&child, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

/// A live worker on this host (here a process titled as Ruby titles its
/// workers) is never pruned, however its heartbeat looks; once its process
/// is gone, it is.
#[test]
fn a_live_ruby_worker_on_this_host_is_left_alone() {
    let redis = TestRedis::start();
    let mut ruby = Reaped::spawn(
        std::process::Command::new("bash").args(["-c", "exec -a 'resque-2.6.0: Waiting for slow' sleep 600"]),
    );
    assert!(eventually(LIMIT, || cmdline(ruby.id()).starts_with("resque-2.6.0: Waiting")));
    let id = worker_id(ruby.id(), "slow");
    let mut conn = redis.conn();
    let _: () = conn.sadd("resque:workers", &id).unwrap();
    let now: (i64, i64) = redis::cmd("TIME").query(&mut conn).unwrap();
    let beat = resque::payload::time::heartbeat(now.0);
    let _: () = conn.hset("resque:workers:heartbeat", &id, &beat).unwrap();

    let prune_once = |redis: &TestRedis| {
        let _: () = redis.conn().del("resque:pruning_dead_workers_in_progress").unwrap();
        let mut w = spawn(redis, &["work", "-i", "0", "-q", "slow"], &[]);
        assert!(wait_for_exit(&mut w, LIMIT).unwrap().success());
    };
    prune_once(&redis);
    assert_eq!(redis.workers(), std::slice::from_ref(&id), "a live worker stays registered");

    ruby.kill().unwrap();
    ruby.wait().unwrap();
    prune_once(&redis);
    assert!(redis.workers().is_empty(), "its process is gone: pruned");
}
