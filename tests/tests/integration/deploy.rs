//! The deployment files in examples/deploy, run as the README says: the
//! systemd units' ExecStart= with their Environment=, stopped with their
//! KillSignal=; the monit check's start and stop programs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::{record, slow_record};
use resque_tests::{cmdline, eventually, lines, wait_for_exit, TestRedis};

use super::process::{read_pid, running, KillOnDrop};

const LIMIT: Duration = Duration::from_secs(60);
/// The worker binary path the files use; a reader replaces it with theirs.
const BINARY: &str = "/usr/local/bin/resque-worker";
/// The Redis address the files use; the tests run against their own server.
const REDIS: &str = "redis://127.0.0.1:6379/0";

fn deploy_file(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, text)
}

/// The `[Service]` section's settings, in order.
fn service_settings(unit: &str) -> Vec<(String, String)> {
    let mut section = "";
    let mut settings = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]" {
            let (key, value) = line.split_once('=').unwrap();
            settings.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    settings
}

/// systemd's specifiers: `%i` (instance), `%t` (runtime directory root), `%%`.
fn specifiers(text: &str, instance: &str, runtime: &Path) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('i') => out.push_str(instance),
            Some('t') => out.push_str(runtime.to_str().unwrap()),
            Some('%') => out.push('%'),
            other => panic!("specifier %{other:?} is not handled by this test"),
        }
    }
    out
}

/// Splits a command line into words as systemd does for these files: double
/// and single quotes group, `${VAR}` becomes the variable's value as is.
fn split_words(line: &str, env: &HashMap<String, String>) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (_, '$') if chars.peek() == Some(&'{') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let value = env.get(&name).unwrap_or_else(|| panic!("${{{name}}} is not set"));
                word.get_or_insert_default().push_str(value);
            }
            (_, c) => word.get_or_insert_default().push(c),
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in {line}");
    words.extend(word);
    words
}

/// Starts a unit as systemd would (its ExecStart= with its Environment=,
/// the worker binary and the Redis address replaced by the test's), works a
/// job, stops it with its KillSignal= while a job runs, and checks that the
/// job finished and the worker exited cleanly. `check` looks at the running
/// worker (its pid, the runtime directory).
fn run_unit(name: &str, instance: &str, check: impl FnOnce(i32, &Path)) {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("run");
    let (path, text) = deploy_file(name);
    let settings = service_settings(&text);
    let get = |key: &str| -> Vec<String> {
        settings.iter().filter(|(k, _)| k == key).map(|(_, v)| specifiers(v, instance, &runtime)).collect()
    };

    let mut env = HashMap::new();
    for assignments in get("Environment") {
        for assignment in split_words(&assignments, &HashMap::new()) {
            let (var, value) = assignment.split_once('=').unwrap();
            env.insert(var.to_string(), value.to_string());
        }
    }
    assert_eq!(env.get("RESQUE_REDIS").map(String::as_str), Some(REDIS), "{}", path.display());
    let queues = env.get("QUEUES").cloned().expect("Environment=QUEUES=...");
    env.insert("RESQUE_REDIS".into(), redis.url());
    for dir in get("RuntimeDirectory") {
        std::fs::create_dir_all(runtime.join(dir)).unwrap();
    }

    let exec = get("ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart= in {}", path.display());
    let mut argv = split_words(&exec[0], &env);
    assert_eq!(argv[0], BINARY, "{}", path.display());
    assert_eq!(argv[1..3], ["work", "-q"], "{}", path.display());
    argv[0] = env!("CARGO_BIN_EXE_test-worker").to_string();
    assert!(!argv.join(" ").contains(":6379"), "never the default Redis: {argv:?}");

    let kill_signal = Signal::from_str(&get("KillSignal")[0]).unwrap();
    assert_eq!(kill_signal, Signal::SIGQUIT);
    assert_eq!(get("KillMode"), ["mixed"], "the stop signal goes to the worker, not to its job");
    assert_eq!(get("Restart"), ["on-failure"]);
    assert_eq!(get("TimeoutStopSec").len(), 1);

    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).env_clear().envs(&env).current_dir("/").stdin(Stdio::null());
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let pid = child.id() as i32;

    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let first_queue = queues.split(',').next().unwrap();
    let c = redis.client();
    c.enqueue_to(first_queue, &record::Args { path: out.into(), line: "from the unit".into() }).unwrap();
    assert!(eventually(LIMIT, || lines(out.as_ref()).len() == 1), "the unit's worker ran a job");
    check(pid, &runtime);

    c.enqueue_to(first_queue, &slow_record::Args { path: out.into(), millis: 1500, line: "slow".into() })
        .unwrap();
    assert!(eventually(LIMIT, || lines(out.as_ref()).len() == 2));
    kill(Pid::from_raw(pid), kill_signal).unwrap();
    let status = wait_for_exit(&mut child, LIMIT).expect("the worker stopped");
    assert!(status.success(), "exit status 0, so Restart=on-failure leaves it stopped: {status:?}");
    assert_eq!(lines(out.as_ref())[1..], ["start slow", "done slow"], "the job in hand finished");
    let workers: Vec<String> = redis.conn().smembers("resque:workers").unwrap();
    assert!(workers.is_empty(), "{workers:?}");
}

#[test]
fn the_systemd_unit_runs_a_worker_that_stops_after_its_job() {
    run_unit("resque-worker.service", "", |pid, _| {
        assert!(cmdline(pid as u32).starts_with("resque-"), "{}", cmdline(pid as u32));
    });
}

#[test]
fn the_systemd_template_runs_worker_instances() {
    let mut pidfile = PathBuf::new();
    run_unit("resque-worker@.service", "2", |pid, runtime| {
        pidfile = runtime.join("resque-worker-2/worker.pid");
        assert_eq!(read_pid(&pidfile), Some(pid), "the pidfile names the instance");
        assert!(
            eventually(LIMIT, || cmdline(pid as u32).starts_with("worker-2 resque-")),
            "{}",
            cmdline(pid as u32)
        );
    });
    assert!(!pidfile.exists(), "removed when the worker stopped");
}

/// A monit `... program = "..."` line's command, split as monit does (on
/// spaces, single quotes grouping).
fn monit_program(monitrc: &str, which: &str) -> String {
    let line = monitrc
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{which} program = \"")))
        .unwrap_or_else(|| panic!("no {which} program"));
    line.split('"').nth(1).unwrap().to_string()
}

#[test]
fn the_monit_check_starts_and_stops_a_daemon_through_its_pidfile() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let (_, monitrc) = deploy_file("resque-worker.monitrc");
    let check = monitrc.lines().find(|l| l.starts_with("check process ")).unwrap();
    let monit_pidfile = check.split(" with pidfile ").nth(1).unwrap().trim();
    let pidfile = dir.path().join("worker.pid");
    let localize = |program: String| {
        let program = program
            .replace(BINARY, env!("CARGO_BIN_EXE_test-worker"))
            .replace(monit_pidfile, pidfile.to_str().unwrap())
            .replace(REDIS, &redis.url());
        assert!(!program.contains(":6379"), "never the default Redis: {program}");
        split_words(&program, &HashMap::new())
    };
    let start = localize(monit_program(&monitrc, "start"));
    let stop = localize(monit_program(&monitrc, "stop"));
    assert!(start.contains(&"--background".to_string()) && start.contains(&"--pidfile".to_string()));
    let queues = start.iter().find_map(|w| w.strip_prefix("QUEUES=")).expect("QUEUES=").to_string();

    // monit runs programs with a minimal environment and no terminal.
    let program = |argv: &[String]| {
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).env_clear().env("PATH", "/usr/bin:/bin").stdin(Stdio::null());
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        let mut child = cmd.spawn().unwrap();
        let status = wait_for_exit(&mut child, LIMIT).expect("the program returned");
        assert!(status.success(), "{argv:?}: {}", std::fs::read_to_string(dir.path().join("log")).unwrap());
    };

    program(&start);
    let daemon = read_pid(&pidfile).expect("the start program left a pidfile");
    let _cleanup = KillOnDrop(vec![daemon]);
    assert!(running(daemon));
    let out = dir.path().join("out");
    let args = record::Args { path: out.to_str().unwrap().into(), line: "under monit".into() };
    redis.client().enqueue_to(queues.split(',').next().unwrap(), &args).unwrap();
    assert!(eventually(LIMIT, || lines(&out).len() == 1), "the daemon works jobs");

    program(&stop);
    assert!(eventually(LIMIT, || !pidfile.exists()), "the daemon removed its pidfile on QUIT");
    assert!(eventually(LIMIT, || !running(daemon)));
    let workers: Vec<String> = redis.conn().smembers("resque:workers").unwrap();
    assert!(workers.is_empty(), "{workers:?}");
}

/// The README's Deployment section quotes every file in examples/deploy as
/// it is, so what a reader copies from there is what these tests run.
#[test]
fn the_readme_quotes_the_deployment_files_as_they_are() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let start = readme.find("\n## Deployment\n").expect("a Deployment section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 4)];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    for name in files {
        let name = name.to_str().unwrap();
        let (_, text) = deploy_file(name);
        assert!(section.contains(&format!("examples/deploy/{name}")), "README names {name}");
        assert!(section.contains(&format!("\n{text}```\n")), "README quotes {name} as it is");
    }
}
