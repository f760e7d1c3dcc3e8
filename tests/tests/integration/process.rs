//! Process management: --count supervisor, --pidfile, --background, --log-format.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::{record, slow_record};
use resque_tests::{cmdline, eventually, lines, run, wait_for_exit, TestRedis};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

/// The pids in the registered worker ids (`host:pid:queues`).
fn registered_pids(redis: &TestRedis) -> HashSet<i32> {
    redis.workers().iter().map(|id| id.split(':').nth(1).unwrap().parse().unwrap()).collect()
}

/// `/proc/<pid>/stat` fields after the command name: state, ppid, pgrp, session, ...
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat[stat.rfind(')')? + 1..].split_whitespace().map(str::to_string).collect())
}

/// Alive: exists and is not a zombie (a daemon's parent may never reap it).
pub fn running(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z")
}

fn parent_of(pid: i32) -> Option<i32> {
    stat_fields(pid).map(|f| f[1].parse().unwrap())
}

fn session_of(pid: i32) -> Option<i32> {
    stat_fields(pid).map(|f| f[3].parse().unwrap())
}

/// The pid in a pidfile, once it has one.
pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn signal(pid: i32, sig: Signal) {
    kill(Pid::from_raw(pid), sig).unwrap();
}

/// SIGKILLs processes this test started but does not own as children (a
/// daemon), should the test fail before they are stopped.
pub struct KillOnDrop(pub Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if running(pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

/// Spawns the worker with stdout and stderr to `log` (not a pipe: a daemon
/// keeps them, and a reader would wait for it).
fn spawn_logged(mut cmd: std::process::Command, log: &Path) -> Child {
    let log = File::create(log).unwrap();
    cmd.stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap()
}

#[test]
fn pidfile_holds_the_pid_and_is_removed_on_quit() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("worker.pid");
    let mut cmd = worker(&redis);
    cmd.args(["work", "-q", "record", "-i", "0.1", "--pidfile"]).arg(&pidfile);
    let mut child = spawn_logged(cmd, &dir.path().join("log"));
    let pid = child.id() as i32;
    assert!(eventually(LIMIT, || read_pid(&pidfile) == Some(pid)), "{:?}", read_pid(&pidfile));
    assert!(eventually(LIMIT, || registered_pids(&redis) == HashSet::from([pid])));
    signal(pid, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
    assert!(!pidfile.exists(), "the pidfile was removed");
    assert!(redis.workers().is_empty());
}

#[test]
fn a_pidfile_naming_a_running_process_refuses_and_a_stale_one_is_replaced() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("worker.pid");
    // This test's own process: certainly running.
    let live = std::process::id();
    std::fs::write(&pidfile, format!("{live}\n")).unwrap();
    let out = run(worker(&redis).args(["work", "-q", "record", "-i", "0"]).env("PIDFILE", &pidfile), LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("names pid {live}, which is still running")), "{stderr}");
    assert!(stderr.contains(&pidfile.display().to_string()), "{stderr}");
    assert_eq!(read_pid(&pidfile), Some(live as i32), "left as it was");
    assert!(redis.client().keys_in_namespace().unwrap().is_empty(), "nothing was written to Redis");

    // A process that has exited (and been reaped): a stale pidfile.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(&pidfile, format!("{gone_pid}\n")).unwrap();
    let out_file = dir.path().join("out");
    record::enqueue_to(&redis.client(), out_file.to_str().unwrap(), "after stale").unwrap();
    let out = run(worker(&redis).args(["work", "-q", "record", "-i", "0"]).env("PIDFILE", &pidfile), LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stale pidfile") && stderr.contains(&gone_pid.to_string()), "{stderr}");
    assert_eq!(lines(&out_file).len(), 1);
    assert!(!pidfile.exists(), "removed on exit");
}

#[test]
fn background_detaches_and_the_daemon_works_until_quit() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("worker.pid");
    let out = dir.path().join("out");
    let mut cmd = worker(&redis);
    cmd.args(["work", "-q", "record", "-i", "0.1", "--background", "--pidfile"]).arg(&pidfile);
    let mut starter = spawn_logged(cmd, &dir.path().join("log"));
    let starter_pid = starter.id() as i32;
    // It returns while the daemon goes on.
    let status = wait_for_exit(&mut starter, LIMIT).expect("--background returned");
    assert!(status.success(), "{}", std::fs::read_to_string(dir.path().join("log")).unwrap());
    let daemon = read_pid(&pidfile).expect("the pidfile is written before the starter returns");
    let _cleanup = KillOnDrop(vec![daemon]);
    assert_ne!(daemon, starter_pid);
    assert!(running(daemon));
    assert_ne!(session_of(daemon), session_of(std::process::id() as i32), "a session of its own");
    assert_eq!(std::fs::read_link(format!("/proc/{daemon}/cwd")).unwrap(), Path::new("/"));
    assert_eq!(std::fs::read_link(format!("/proc/{daemon}/fd/0")).unwrap(), Path::new("/dev/null"));

    assert!(eventually(LIMIT, || registered_pids(&redis) == HashSet::from([daemon])));
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "in the background").unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 1));
    assert!(lines(&out)[0].starts_with("in the background pid="));

    signal(daemon, Signal::SIGQUIT);
    assert!(eventually(LIMIT, || !pidfile.exists()), "the daemon removed its pidfile");
    assert!(eventually(LIMIT, || !running(daemon)));
    assert!(redis.workers().is_empty());
}

#[test]
fn background_from_the_environment_and_a_relative_pidfile() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = worker(&redis);
    cmd.current_dir(dir.path())
        .args(["work", "-q", "record", "-i", "0.1"])
        .env("BACKGROUND", "yes")
        .env("PIDFILE", "relative.pid");
    let mut starter = spawn_logged(cmd, &dir.path().join("log"));
    assert!(wait_for_exit(&mut starter, LIMIT).unwrap().success());
    // Resolved against the starting directory, although the daemon runs in /.
    let pidfile = dir.path().join("relative.pid");
    let daemon = read_pid(&pidfile).expect("pidfile");
    let _cleanup = KillOnDrop(vec![daemon]);
    assert!(eventually(LIMIT, || registered_pids(&redis) == HashSet::from([daemon])));
    signal(daemon, Signal::SIGQUIT);
    assert!(eventually(LIMIT, || !pidfile.exists() && !running(daemon)));
}

#[test]
fn background_reports_a_failure_to_start() {
    let mut redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    // Found by the daemon, after detaching: it tells the process that started it.
    let pidfile = dir.path().join("no-such-dir").join("worker.pid");
    let mut cmd = worker(&redis);
    cmd.args(["work", "-q", "record", "--background", "--pidfile"]).arg(&pidfile);
    let mut starter = spawn_logged(cmd, &log);
    assert!(!wait_for_exit(&mut starter, LIMIT).unwrap().success());
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("could not start in the background: cannot write pidfile")
            && stderr.contains("no-such-dir"),
        "{stderr}"
    );
    assert!(redis.workers().is_empty());

    // Found before detaching.
    redis.stop();
    let pidfile = dir.path().join("worker.pid");
    let mut cmd = worker(&redis);
    cmd.args(["work", "-q", "record", "--background", "--pidfile"]).arg(&pidfile);
    let mut starter = spawn_logged(cmd, &log);
    assert!(!wait_for_exit(&mut starter, LIMIT).unwrap().success());
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(stderr.contains("cannot connect to Redis"), "{stderr}");
    assert!(!pidfile.exists());
}

/// The supervisor's workers: registered pids whose parent is `supervisor`.
fn workers_of(redis: &TestRedis, supervisor: i32) -> HashSet<i32> {
    registered_pids(redis).into_iter().filter(|&p| running(p) && parent_of(p) == Some(supervisor)).collect()
}

#[test]
fn count_supervises_workers_replaces_a_killed_one_and_quits_them_all() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("supervisor.pid");
    let out = dir.path().join("out");
    let mut cmd = worker(&redis);
    cmd.args(["work", "-q", "record,slow", "-i", "0.1", "--heartbeat-interval", "1", "--pidfile"])
        .arg(&pidfile)
        .env("COUNT", "3");
    let mut supervisor = spawn_logged(cmd, &dir.path().join("log"));
    let sup = supervisor.id() as i32;
    let _cleanup = KillOnDrop(vec![sup]);
    assert!(eventually(LIMIT, || workers_of(&redis, sup).len() == 3), "{:?}", redis.workers());
    let first = workers_of(&redis, sup);
    assert_eq!(read_pid(&pidfile), Some(sup), "the pidfile holds the supervisor's pid");
    assert!(
        eventually(LIMIT, || cmdline(sup as u32).contains("Supervising 3 workers")),
        "{}",
        cmdline(sup as u32)
    );
    for &pid in &first {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let environ = String::from_utf8_lossy(&environ);
        assert!(!environ.split('\0').any(|v| v.starts_with("COUNT=")), "COUNT reached a worker");
        assert!(cmdline(pid as u32).starts_with("resque-"), "{}", cmdline(pid as u32));
    }

    // A worker killed from outside is replaced by a new one.
    let victim = *first.iter().next().unwrap();
    signal(victim, Signal::SIGKILL);
    assert!(
        eventually(LIMIT, || {
            let now = workers_of(&redis, sup);
            now.len() == 3 && !now.contains(&victim) && now.iter().any(|p| !first.contains(p))
        }),
        "{:?}",
        redis.workers()
    );
    let workers = workers_of(&redis, sup);
    assert!(
        eventually(LIMIT, || cmdline(sup as u32).contains(&workers.iter().next().unwrap().to_string())),
        "the title lists the workers: {}",
        cmdline(sup as u32)
    );

    // QUIT reaches every worker: the running job finishes, then all exit.
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 1500, "slow").unwrap();
    assert!(eventually(LIMIT, || lines(&out) == ["start slow"]));
    signal(sup, Signal::SIGQUIT);
    assert!(wait_for_exit(&mut supervisor, LIMIT).unwrap().success());
    assert_eq!(lines(&out), ["start slow", "done slow"]);
    for pid in workers {
        assert!(!running(pid), "worker {pid} outlived the supervisor");
    }
    assert!(!pidfile.exists());
    assert!(redis.workers().is_empty(), "{:?}", redis.workers());
}

#[test]
fn the_supervisor_passes_term_usr2_and_cont_on() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut cmd = worker(&redis);
    cmd.args(["work", "--count", "2", "-q", "slow", "-i", "0.1"]);
    let mut supervisor = spawn_logged(cmd, &dir.path().join("log"));
    let sup = supervisor.id() as i32;
    let _cleanup = KillOnDrop(vec![sup]);
    assert!(eventually(LIMIT, || workers_of(&redis, sup).len() == 2));
    let workers = workers_of(&redis, sup);
    let all_titles = |suffix: &str| workers.iter().all(|&p| cmdline(p as u32).ends_with(suffix));

    signal(sup, Signal::SIGUSR2);
    assert!(eventually(LIMIT, || all_titles("Paused")), "USR2 paused every worker");
    signal(sup, Signal::SIGCONT);
    assert!(eventually(LIMIT, || all_titles("Waiting for slow")), "CONT resumed them");

    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 600_000, "long").unwrap();
    assert!(eventually(LIMIT, || lines(&out) == ["start long"]));
    signal(sup, Signal::SIGTERM);
    assert!(wait_for_exit(&mut supervisor, LIMIT).unwrap().success());
    assert_eq!(lines(&out), ["start long"], "TERM killed the job");
    let failed: Vec<String> = redis.conn().lrange("resque:failed", 0, -1).unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("Resque::DirtyExit"), "{}", failed[0]);
    assert!(redis.workers().is_empty());
}

#[test]
fn json_logs_are_one_object_per_line() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (flag, env) in [(Some("json"), None), (None, Some("json"))] {
        record::enqueue_to(&redis.client(), out.to_str().unwrap(), "logged").unwrap();
        let mut cmd = worker(&redis);
        cmd.args(["-v", "work", "-q", "record", "-i", "0"]);
        if let Some(format) = flag {
            cmd.args(["--log-format", format]);
        }
        if let Some(format) = env {
            cmd.env("RESQUE_LOG_FORMAT", format);
        }
        let output = run(&mut cmd, LIMIT);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let events: Vec<serde_json::Value> = stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        assert!(events.len() >= 2, "{stderr}");
        for event in &events {
            assert!(event["level"].is_string() && event["fields"].is_object(), "{event}");
        }
        assert!(events.iter().any(|e| e["fields"]["message"] == "worker started"), "{stderr}");
    }
    assert_eq!(lines(&out).len(), 2);

    let bad = run(worker(&redis).args(["work", "-q", "record", "--log-format", "xml"]), LIMIT);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("xml"));
}
