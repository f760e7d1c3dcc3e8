//! What a worker says on stderr at the default level: that it started,
//! that it lost Redis and has it back, what it will not do as asked; and
//! JSON logs that stay one object per line through a panicking job, whose
//! failure entry keeps a trimmed backtrace.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use resque_tests::jobs::{deep_panic, panicking, record};
use resque_tests::{drain, eventually, lines, wait_for_exit, worker_id, Reaped, TestRedis};
use serde_json::Value;

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "s3cret-pw";

/// Spawns `cmd` with its stderr written to `log`.
fn spawn_logged(cmd: &mut Command, log: &Path) -> Reaped {
    let file = std::fs::File::create(log).unwrap();
    Reaped::spawn(cmd.stdout(Stdio::null()).stderr(file))
}

fn text(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

fn quit(child: &mut Reaped) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(child, LIMIT).unwrap().success());
}

/// Every line of `stderr` as a JSON object.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{stderr}")))
        .inspect(|event| assert!(event.is_object(), "not a JSON object: {event}"))
        .collect()
}

#[test]
fn the_start_line_names_the_worker_its_queues_mode_redis_and_jobs_but_never_the_password() {
    let redis = TestRedis::start();
    redis::cmd("CONFIG").arg("SET").arg("requirepass").arg(PASSWORD).query::<()>(&mut redis.conn()).unwrap();
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", redis.port());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let mut child = spawn_logged(worker(&redis).args(["work", "-q", "record", "-r", &url]), &log);
    assert!(eventually(LIMIT, || text(&log).contains("worker started")), "{}", text(&log));
    let stderr = text(&log);
    let id = worker_id(child.id(), "record");
    for part in [
        format!(" INFO resque::worker::status: worker started worker={id} queues=record mode=fork "),
        format!(" redis=redis://127.0.0.1:{}/0 namespace=resque jobs=", redis.port()),
        ",Record,".to_string(),
    ] {
        assert!(stderr.contains(&part), "{part:?} missing from:\n{stderr}");
    }
    assert!(!stderr.contains(PASSWORD), "the password is printed:\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "nothing else at the default level:\n{stderr}");
    quit(&mut child);
    assert!(!text(&log).contains(PASSWORD));
}

#[test]
fn an_in_process_worker_on_wildcards_says_what_they_match_and_which_timeouts_it_ignores() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "ran").unwrap();
    let mut cmd = worker(&redis);
    cmd.args(["--log-format", "json"]);
    let events = json_lines(&drain(cmd, "rec*", &["--no-fork"]));
    let started: Vec<&Value> = events.iter().filter(|e| e["fields"]["message"] == "worker started").collect();
    assert_eq!(started.len(), 1, "{events:#?}");
    let fields = &started[0]["fields"];
    assert_eq!(started[0]["target"], "resque::worker::status");
    assert_eq!(
        (&fields["queues"], &fields["resolved_now"], &fields["mode"]),
        (&"rec*".into(), &"record".into(), &"in-process".into()),
        "{fields}"
    );
    for class in ["Overrun", "SlowOnce"] {
        let warned = events
            .iter()
            .filter(|e| e["level"] == "WARN")
            .filter_map(|e| e["fields"]["message"].as_str())
            .filter(|m| {
                m.starts_with(&format!("job {class} has a timeout of ")) && m.contains("not enforced")
            })
            .count();
        assert_eq!(warned, 1, "{class}: {events:#?}");
    }
    assert_eq!(lines(&out).len(), 1);
}

#[test]
fn a_worker_on_queues_no_linked_job_uses_says_so_once() {
    let redis = TestRedis::start();
    let stderr = drain(worker(&redis), "nope,other_*", &[]);
    let warned: Vec<&str> = stderr.lines().filter(|l| l.contains("no linked job uses")).collect();
    assert_eq!(warned.len(), 1, "{stderr}");
    assert!(warned[0].contains("no linked job uses queue(s) nope, other_*; linked jobs use "), "{stderr}");
    assert!(warned[0].contains(" record, "), "names the queues the jobs use: {stderr}");
    assert!(!stderr.contains("not enforced"), "a forking worker enforces timeouts: {stderr}");

    let stderr = drain(worker(&redis), "nope,record", &[]);
    assert!(!stderr.contains("no linked job uses"), "{stderr}");
}

#[test]
fn losing_redis_is_said_once_and_its_return_too_and_work_goes_on() {
    let mut redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let out = dir.path().join("out");
    let mut child = spawn_logged(worker(&redis).args(["work", "-i", "0.05", "-q", "record"]), &log);
    assert!(eventually(LIMIT, || text(&log).contains("worker started")), "{}", text(&log));
    redis.stop();
    assert!(eventually(LIMIT, || text(&log).contains("lost Redis")), "{}", text(&log));
    // Several more attempts fail while it is down (backoff from 250 ms).
    std::thread::sleep(Duration::from_millis(1500));
    redis.restart();
    assert!(eventually(LIMIT, || text(&log).contains("Redis is back")), "{}", text(&log));
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "after").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 1), "a job pushed after the return runs");
    quit(&mut child);

    let stderr = text(&log);
    let address = format!("redis://127.0.0.1:{}/0", redis.port());
    let lost: Vec<&str> = stderr.lines().filter(|l| l.contains("lost Redis")).collect();
    assert_eq!(lost.len(), 1, "said once, not at every retry:\n{stderr}");
    assert!(
        lost[0].contains(&format!(" WARN resque::worker::status: lost Redis at {address}: ")),
        "{stderr}"
    );
    assert!(lost[0].contains(", retrying"), "{stderr}");
    let back: Vec<&str> = stderr.lines().filter(|l| l.contains("Redis is back")).collect();
    assert_eq!(back.len(), 1, "{stderr}");
    assert!(
        back[0].contains(&format!(" INFO resque::worker::status: Redis is back at {address}")),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot fetch a job"), "retries are not logged at the default level:\n{stderr}");
}

#[test]
fn json_logs_stay_json_through_a_panic_and_the_failure_keeps_a_trimmed_backtrace() {
    let redis = TestRedis::start();
    let c = redis.client();
    for extra in [&[][..], &["--no-fork"][..]] {
        redis::cmd("DEL").arg("resque:failed").query::<()>(&mut redis.conn()).unwrap();
        panicking::enqueue_to(&c, "kaboom 7").unwrap();
        deep_panic::enqueue_to(&c, 40).unwrap();
        let mut cmd = worker(&redis);
        cmd.env("RUST_BACKTRACE", "1").args(["--log-format", "json"]);
        let stderr = drain(cmd, "failing", extra);
        let events = json_lines(&stderr);
        let panicked: Vec<&Value> =
            events.iter().filter(|e| e["fields"]["message"] == "the job panicked: kaboom 7").collect();
        assert_eq!(panicked.len(), 1, "{extra:?}: one event for the panic:\n{stderr}");
        assert!(
            panicked[0]["fields"]["location"].as_str().is_some_and(|l| l.starts_with("tests/src/jobs.rs:")),
            "{extra:?}: {stderr}"
        );
        assert!(!stderr.contains("stack backtrace"), "{extra:?}: no backtrace on stderr:\n{stderr}");

        let f = redis.failures();
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!((&f[0]["exception"], &f[0]["error"]), (&"Panic".into(), &"kaboom 7".into()));
        let frames = |i: usize| -> Vec<String> {
            f[i]["backtrace"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect()
        };
        for i in 0..2 {
            for frame in frames(i) {
                for machinery in ["std::panicking", "core::panicking", "rust_begin_unwind", "resque::perform"]
                {
                    assert!(!frame.contains(machinery), "{extra:?}: {frame} in {:#?}", frames(i));
                }
            }
        }
        let shallow = frames(0);
        assert!(
            shallow[0].contains("jobs.rs:") && shallow[0].ends_with("in `resque_tests::jobs::panicking'")
        );
        assert!(shallow.len() < 30, "{shallow:#?}");
        let deep = frames(1);
        assert_eq!(f[1]["error"], "deep down");
        assert!(deep[0].ends_with("in `resque_tests::jobs::descend'"), "{deep:#?}");
        assert_eq!(deep.len(), 31, "capped at 30 frames and a count: {deep:#?}");
        let more = deep[30].strip_prefix("... ").and_then(|m| m.strip_suffix(" more frames"));
        assert!(more.and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n > 0), "{deep:#?}");
    }
}
