//! Process titles stay whole however short the command line: a worker run
//! as `./w work` shows `resque-<version>: Waiting for <queues>` to `ps`, to
//! Ruby's dead-worker pruning and to ours, and its jobs still read the
//! environment whose place the title took.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::{report_env, report_title, slow_record};
use resque_tests::{cmdline, eventually, lines, run, wait_for_exit, worker_id, Reaped, TestRedis};

const LIMIT: Duration = Duration::from_secs(60);
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A variable that sorts first, so that `Command` puts it first among the
/// environment strings, right after the arguments, where a long title goes.
const FIRST_VAR: (&str, &str) = ("AAA_JOB_SETTING", "still-readable-after-the-title");

/// The test worker run as `./w work` from `dir` (a symlink `w` to it there),
/// with the queue and everything else in the environment: its arguments take
/// 9 bytes (`./w\0work\0`).
fn short_worker(redis: &TestRedis, dir: &Path, env: &[(&str, &str)]) -> Reaped {
    use std::os::unix::process::CommandExt;
    let w = dir.join("w");
    if !w.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_test-worker"), &w).unwrap();
    }
    let mut cmd = Command::new(&w);
    cmd.arg0("./w")
        .arg("work")
        .current_dir(dir)
        .env_clear()
        .env("RESQUE_REDIS", redis.url())
        .env("INTERVAL", "0.1")
        .env(FIRST_VAR.0, FIRST_VAR.1)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Reaped::spawn(&mut cmd)
}

/// What `ps -o args=` shows for `pid`.
fn ps_args(pid: u32) -> String {
    let out = Command::new("ps").args(["-o", "args=", "-p", &pid.to_string()]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_worker_started_as_dot_w_work_shows_its_whole_title_and_its_jobs_read_the_environment() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["", "billing-"] {
        let out = dir.path().join(format!("out{prefix}"));
        let path = out.to_str().unwrap();
        let mut env = vec![("QUEUE", "record")];
        if !prefix.is_empty() {
            env.push(("RESQUE_PROCLINE_PREFIX", prefix));
        }
        let mut worker = short_worker(&redis, dir.path(), &env);
        let pid = worker.id();
        // Ruby's procline: "#{ENV['RESQUE_PROCLINE_PREFIX']}resque-#{Resque::VERSION}: #{string}",
        // with string "Waiting for #{queues.join(',')}".
        let waiting = format!("{prefix}resque-{VERSION}: Waiting for record");
        assert!(eventually(LIMIT, || cmdline(pid) == waiting), "title {:?}, not {waiting:?}", cmdline(pid));
        assert_eq!(ps_args(pid), waiting, "what ps shows");
        // The title ran over the first environment string's original bytes.
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let original = format!("{}={}", FIRST_VAR.0, FIRST_VAR.1);
        assert!(
            !String::from_utf8_lossy(&environ).contains(&original),
            "the title did not need the environment's room: {environ:?}"
        );

        // A job (in the forked child) reads that variable all the same.
        report_env::enqueue_to(&redis.client(), path, FIRST_VAR.0).unwrap();
        assert!(eventually(LIMIT, || lines(&out).len() == 1), "{:?}", lines(&out));
        assert_eq!(lines(&out), [original.as_str()]);

        // The child's own title, whole: "Processing #{queue} since #{Time.now.to_i} [#{class}]".
        report_title::enqueue_to(&redis.client(), path, 300).unwrap();
        assert!(eventually(LIMIT, || lines(&out).len() == 2), "{:?}", lines(&out));
        let child = &lines(&out)[1];
        let processing = format!("{prefix}resque-{VERSION}: Processing record since ");
        assert!(child.starts_with(&processing) && child.ends_with(" [ReportTitle]"), "child title {child:?}");

        kill(Pid::from_raw(pid as i32), Signal::SIGQUIT).unwrap();
        assert!(wait_for_exit(&mut worker, LIMIT).unwrap().success());
    }
}

/// Pruning takes a worker on this host for dead unless its process is
/// titled like one: a live `./w work` worker, with a prefix, in the middle
/// of a job, must survive it (else its job is put back and runs twice).
#[test]
fn a_live_worker_with_a_short_command_line_is_not_pruned() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A heartbeat of 60 s: the worker takes the pruning lock at start-up
    // and not again during the test.
    let env = [("QUEUE", "slow"), ("RESQUE_PROCLINE_PREFIX", "billing-")];
    let mut first = short_worker(&redis, dir.path(), &env);
    let id = worker_id(first.id(), "slow");
    assert!(eventually(LIMIT, || redis.workers().contains(&id)), "{:?}", redis.workers());
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 1500, "once").unwrap();
    assert!(eventually(LIMIT, || lines(&out) == ["start once"]));

    // `prune` (every queue list, this host) runs as soon as the lock is free.
    let _: () = redis.conn().del("resque:pruning_dead_workers_in_progress").unwrap();
    let pruned = run(super::worker(&redis).arg("prune"), LIMIT);
    let stdout = String::from_utf8_lossy(&pruned.stdout);
    assert!(pruned.status.success(), "{}", String::from_utf8_lossy(&pruned.stderr));
    assert!(stdout.starts_with("no dead workers to prune"), "{stdout}");
    assert!(redis.workers().contains(&id), "the live worker was pruned: {:?}", redis.workers());

    assert!(eventually(LIMIT, || lines(&out).len() == 2));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(&out), ["start once", "done once"], "the job ran once");
    assert_eq!(redis.client().size("slow").unwrap(), 0);
    kill(Pid::from_raw(first.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut first, LIMIT).unwrap().success());
}
