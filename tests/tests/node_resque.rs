//! resque-rs and real node-resque (pinned in tests/node/package.json) on one
//! private redis-server: each side's jobs, failures, workers and delayed jobs
//! as the other sees them. The node side is tests/node/resque.js.
//!
//! Needs `node` and `npm`: `npm ci` runs once per test run when
//! tests/node/node_modules is missing or older than the lock file. Without
//! `node` on PATH each test says SKIPPED and passes, except under CI (`CI`
//! set), where it fails; a failing `npm ci` fails every test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use redis::Commands;
use resque::failure::{FailureBackend, RedisFailures};
use resque_tests::jobs::{archive, fail, record, slow_record};
use resque_tests::{command, drain, eventually, lines, run, Reaped, TestRedis};
use serde_json::{json, Value};

/// Generous: these tests must hold on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(60);

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether node_modules must be (re)installed: npm writes
/// node_modules/.package-lock.json on every install, so it is older than the
/// lock file (or absent) exactly when the install is missing or stale.
fn install_is_stale(dir: &Path) -> bool {
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let wanted =
        [dir.join("package-lock.json"), dir.join("package.json")].iter().filter_map(|p| modified(p)).max();
    match (installed, wanted) {
        (Some(installed), Some(wanted)) => installed < wanted,
        _ => true,
    }
}

/// `Ok(false)`: no node here. `Err`: node is here but node-resque could not
/// be installed.
fn prepare() -> Result<bool, String> {
    match Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Err(_) => {
            // Once per run, past the test harness's capture of eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: node not found on PATH: the node-resque tests did not run"
            );
            return Ok(false);
        }
        Ok(status) if !status.success() => return Err(format!("`node --version` failed: {status}")),
        Ok(_) => {}
    }
    let dir = node_dir();
    if install_is_stale(&dir) {
        // Output to a file, not a pipe, so a chatty npm can never block.
        let log = tempfile::NamedTempFile::new().map_err(|e| format!("temp file for npm's output: {e}"))?;
        let log_out = log.reopen().map_err(|e| format!("temp file for npm's output: {e}"))?;
        let log_err = log_out.try_clone().map_err(|e| format!("temp file for npm's output: {e}"))?;
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).stdin(Stdio::null());
        let child = npm.stdout(log_out).stderr(log_err).spawn();
        let child = child.map_err(|e| format!("node is installed but npm could not be started: {e}"))?;
        let mut child = Reaped(child);
        let status = resque_tests::wait_for_exit(&mut child, Duration::from_secs(600));
        let output = std::fs::read_to_string(log.path()).unwrap_or_default();
        match status {
            None => {
                return Err(format!(
                    "`npm ci` in {} did not finish within 10 minutes:\n{output}",
                    dir.display()
                ))
            }
            Some(status) if !status.success() => {
                return Err(format!("`npm ci` in {} failed ({status}):\n{output}", dir.display()))
            }
            Some(_) => {}
        }
    }
    Ok(true)
}

/// Whether node-resque can run. Without node: false, after a loud message,
/// except under CI (`CI` set), where the test fails.
fn node_ready(test: &str) -> bool {
    static READY: OnceLock<Result<bool, String>> = OnceLock::new();
    match READY.get_or_init(prepare) {
        Ok(true) => true,
        Ok(false) if std::env::var_os("CI").is_some() => {
            panic!("node and npm are required under CI for {test}: apt-get install nodejs npm")
        }
        Ok(false) => {
            eprintln!("SKIPPED: node not found on PATH; {test} needs node (and npm) to run node-resque");
            false
        }
        Err(e) => panic!("{e}"),
    }
}

/// What each test starts from: a server of its own, and a scratch dir with
/// a path in it for a job's output.
struct Setup {
    redis: TestRedis,
    dir: tempfile::TempDir,
    out: PathBuf,
}

/// Begins a test: returns from it (SKIPPED) when node is missing outside
/// CI, else gives its [`Setup`]. The test's name comes from the function.
macro_rules! setup {
    () => {{
        fn here() {}
        let name = std::any::type_name_of_val(&here);
        let test = name.strip_suffix("::here").and_then(|n| n.rsplit("::").next()).unwrap_or(name);
        if !node_ready(test) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        Setup { redis: TestRedis::start(), dir, out }
    }};
}

/// tests/node/resque.js with `args`, against `redis` in namespace `ns`.
fn node(redis: &TestRedis, ns: &str, args: &[&str]) -> Command {
    let mut cmd = command("node", redis);
    cmd.current_dir(node_dir())
        .arg("resque.js")
        .args(args)
        .env("REDIS_PORT", redis.port().to_string())
        .env("RESQUE_NAMESPACE", ns);
    cmd
}

/// Runs a node subcommand to its end; its stdout, one JSON value per line.
fn node_run(redis: &TestRedis, ns: &str, args: &[&str]) -> Vec<Value> {
    let out = run(&mut node(redis, ns, args), LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node resque.js {args:?} failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// A subcommand that prints one JSON document.
fn node_json(redis: &TestRedis, ns: &str, args: &[&str]) -> Value {
    let mut out = node_run(redis, ns, args);
    assert_eq!(out.len(), 1, "{args:?} printed {out:?}");
    out.remove(0)
}

fn node_enqueue(redis: &TestRedis, ns: &str, queue: &str, class: &str, args: Value) {
    let out = node_json(redis, ns, &["enqueue", queue, class, &args.to_string()]);
    assert_eq!(out, json!({"enqueued": true}));
}

/// The test worker binary with a clean environment pointing at `redis`.
fn worker(redis: &TestRedis) -> Command {
    command(env!("CARGO_BIN_EXE_test-worker"), redis)
}

/// Our worker on the `record` queue, quiet, polling every 0.1 s.
fn record_worker(redis: &TestRedis) -> Reaped {
    Reaped::spawn(
        worker(redis).args(["work", "-i", "0.1", "-q", "record"]).stdout(Stdio::null()).stderr(Stdio::null()),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// node-resque's `Queue.enqueue` payload (an extra `queue` member) runs on
/// our worker, and a failing one keeps that member, byte for byte, in its
/// failure entry and when the entry is retried.
#[test]
fn node_enqueued_jobs_run_on_our_worker() {
    let Setup { redis, dir: _dir, out } = setup!();
    node_enqueue(&redis, "resque", "record", "Record", json!([out, "from node"]));
    node_enqueue(&redis, "resque", "failing", "Test::Fail", json!(["from node"]));
    let node_payload = r#"{"class":"Test::Fail","queue":"failing","args":["from node"]}"#;
    assert_eq!(redis.lrange("resque:queue:failing"), [node_payload]);

    drain(worker(&redis), "record,failing", &[]);

    let done = lines(&out);
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].starts_with("from node pid="), "{done:?}");
    let raw = redis.lrange("resque:failed");
    assert_eq!(raw.len(), 1, "{raw:?}");
    assert!(
        raw[0].contains(&format!(r#""payload":{node_payload},"#)),
        "payload kept byte for byte: {}",
        raw[0]
    );
    let entry: Value = serde_json::from_str(&raw[0]).unwrap();
    assert_eq!(entry["exception"], "resque_tests::jobs::TestError");
    assert_eq!(entry["error"], "failed on purpose: from node");
    assert_eq!(entry["queue"], "failing");
    let c = redis.client();
    assert_eq!((c.stat("processed").unwrap(), c.stat("failed").unwrap()), (2, 1));

    // Retrying the entry pushes node's payload back as it was.
    RedisFailures::new(c.clone()).requeue(0).unwrap();
    assert_eq!(redis.lrange("resque:queue:failing"), [node_payload]);
}

/// Our `enqueue` runs on a node-resque `Worker`, and the failure entry a
/// node worker writes is one our failure admin reads and retries.
#[test]
fn our_jobs_run_on_a_node_worker() {
    let Setup { redis, .. } = setup!();
    let c = redis.client();
    archive::enqueue_to(&c, 44, "masterbrew").unwrap();
    fail::enqueue_to(&c, "from rust").unwrap();

    let events = node_run(&redis, "resque", &["work", "file_serve,failing", "2"]);

    let name = events[0]["name"].as_str().unwrap().to_string();
    assert_eq!(events[0]["event"], "started", "{events:?}");
    assert_eq!(
        events[1..],
        [
            json!({"event": "success", "queue": "file_serve", "class": "Archive",
                   "args": [44, "masterbrew"], "result": [44, "masterbrew"]}),
            json!({"event": "failure", "queue": "failing", "class": "Test::Fail",
                   "args": ["from rust"], "error": "Error: failed on purpose: from rust"}),
        ]
    );
    assert_eq!((c.size("file_serve").unwrap(), c.size("failing").unwrap()), (0, 0));
    // node-resque counts `processed` for successes only (Ruby: every job).
    assert_eq!((c.stat("processed").unwrap(), c.stat("failed").unwrap()), (1, 1));
    assert!(c.workers().unwrap().is_empty(), "the node worker unregistered");

    let failures = c.failures(0, 10).unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let f = &failures[0];
    assert_eq!(f.payload, json!({"class": "Test::Fail", "args": ["from rust"]}));
    assert_eq!(f.exception.as_deref(), Some("Error"));
    assert_eq!(f.error.as_deref(), Some("failed on purpose: from rust"));
    assert_eq!(f.queue.as_deref(), Some("failing"));
    assert_eq!(f.worker.as_deref(), Some(name.as_str()), "node names the worker host:pid");
    assert!(f.failed_at.is_some());

    RedisFailures::new(c.clone()).requeue(0).unwrap();
    assert_eq!(redis.lrange("resque:queue:failing"), [r#"{"class":"Test::Fail","args":["from rust"]}"#]);
    assert!(c.failures(0, 10).unwrap()[0].retried_at.is_some());
}

/// A job that failed on our worker: node-resque's `Queue.failed()` reads the
/// entry, `retryAndRemoveFailed` finds it again by its JSON (so our entry
/// survives node's parse and re-serialization byte for byte) and puts the
/// job back, and our worker runs it.
#[test]
fn node_reads_and_retries_our_failures() {
    let Setup { redis, dir, .. } = setup!();
    let c = redis.client();
    // The job panics until its output directory exists.
    let out = dir.path().join("later").join("out");
    record::enqueue_to(&c, path_str(&out), "retried").unwrap();
    drain(worker(&redis), "record", &[]);
    assert_eq!(c.failed_count().unwrap(), 1);

    let failed = node_json(&redis, "resque", &["failed"]);
    let entries = failed.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{failed}");
    let entry = &entries[0];
    assert_eq!(entry["exception"], "Panic");
    assert_eq!(entry["queue"], "record");
    assert_eq!(entry["payload"], json!({"class": "Record", "args": [out, "retried"]}));
    assert!(entry["worker"].as_str().unwrap().ends_with(":record"), "{entry}");

    std::fs::create_dir(out.parent().unwrap()).unwrap();
    let retried = node_json(&redis, "resque", &["retry-failed", "0"]);
    assert_eq!(retried["retried"], true, "{retried}");
    assert_eq!(c.failed_count().unwrap(), 0, "node found our entry by its bytes and removed it");
    assert_eq!(
        c.peek("record", 0, 10).unwrap(),
        [json!({"class": "Record", "queue": "record", "args": [out, "retried"]})]
    );

    drain(worker(&redis), "record", &[]);
    let done = lines(&out);
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].starts_with("retried pid="), "{done:?}");
    assert_eq!(c.failed_count().unwrap(), 0);
}

/// node-resque's `Queue.workers()` and `workingOn()` list our worker while
/// it runs a job.
#[test]
fn node_lists_our_busy_worker() {
    let Setup { redis, dir: _dir, out } = setup!();
    let c = redis.client();
    slow_record::enqueue_to(&c, path_str(&out), 600_000, "busy").unwrap();
    let _worker = Reaped::spawn(
        worker(&redis).args(["work", "-i", "0.1", "-q", "slow"]).stdout(Stdio::null()).stderr(Stdio::null()),
    );
    assert!(eventually(LIMIT, || lines(&out) == ["start busy"]), "the job never started");
    let ids = c.workers().unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let (name, queues) = ids[0].rsplit_once(':').unwrap();
    assert_eq!(queues, "slow");

    let seen = node_json(&redis, "resque", &["workers"]);
    assert_eq!(seen["workers"], json!({ name: "slow" }), "{seen}");
    let working = &seen["workingOn"][name];
    assert_eq!(working["queue"], "slow", "{seen}");
    assert_eq!(working["payload"], json!({"class": "SlowRecord", "args": [out, 600_000, "busy"]}));
    let run_at = working["run_at"].as_str().unwrap();
    // Ruby's (and our) UTC ISO-8601, `2026-11-23T23:50:00Z`, which node's Date.parse reads.
    let b = run_at.as_bytes();
    assert!(b.len() == 20 && b[10] == b'T' && b[19] == b'Z', "run_at: {run_at}");
}

/// A delayed job node-resque enqueues with `enqueueIn` waits in its
/// scheduler's keys until its `Scheduler` promotes it; then our worker runs it.
#[test]
fn node_scheduled_jobs_run_on_our_worker() {
    let Setup { redis, dir: _dir, out } = setup!();
    let args = json!([out, "delayed"]).to_string();
    let scheduled = node_json(&redis, "resque", &["enqueue-in", "1000", "record", "Record", &args]);
    assert_eq!(scheduled, json!({"scheduled": true}));
    let pending: u64 = redis.conn().zcard("resque:delayed_queue_schedule").unwrap();
    assert_eq!(pending, 1);
    // No worker runs yet, so an empty queue here means the job was not queued.
    assert_eq!(redis.client().size("record").unwrap(), 0, "nothing queued before the scheduler runs");

    let moved = node_run(&redis, "resque", &["schedule", "1"]);
    assert_eq!(moved.len(), 1, "{moved:?}");
    let job = json!({"class": "Record", "queue": "record", "args": [out, "delayed"]});
    assert_eq!(moved[0]["job"], job);
    assert_eq!(redis.client().peek("record", 0, 10).unwrap(), [job], "the scheduler queued it");
    assert!(lines(&out).is_empty(), "nothing ran it before our worker: {:?}", lines(&out));

    let _worker = record_worker(&redis);
    assert!(eventually(LIMIT, || !lines(&out).is_empty()), "our worker never ran the promoted job");
    let done = lines(&out);
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].starts_with("delayed pid="), "{done:?}");
    let pending: u64 = redis.conn().zcard("resque:delayed_queue_schedule").unwrap();
    assert_eq!(pending, 0);
}

/// A job we delay (resque-scheduler's item, `class`, `args`, `queue`) is
/// promoted by node-resque's `Scheduler` as it promotes its own; then our
/// worker runs it.
#[test]
fn our_delayed_jobs_are_promoted_by_nodes_scheduler() {
    let Setup { redis, dir: _dir, out } = setup!();
    let client = redis.client();
    client
        .enqueue_class_in(std::time::Duration::from_secs(1), "record", "Record", &(&out, "ours delayed"))
        .unwrap();
    assert_eq!(client.delayed_count().unwrap(), 1);
    assert_eq!(client.size("record").unwrap(), 0, "nothing queued before a scheduler runs");

    let moved = node_run(&redis, "resque", &["schedule", "1"]);
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["job"], json!({"class": "Record", "args": [out, "ours delayed"], "queue": "record"}));
    let queued = client.peek("record", 0, 10).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!((&queued[0]["class"], &queued[0]["args"]), (&json!("Record"), &json!([out, "ours delayed"])));
    assert_eq!(client.delayed_count().unwrap(), 0);

    let _worker = record_worker(&redis);
    assert!(eventually(LIMIT, || !lines(&out).is_empty()), "our worker never ran the job node promoted");
    let done = lines(&out);
    assert!(done.len() == 1 && done[0].starts_with("ours delayed pid="), "{done:?}");
}

/// Our dequeue (by class and args, and by class) removes node-enqueued
/// jobs, whose payloads carry node's extra `queue` member; in a namespace of
/// their own, which neither side leaks out of.
#[test]
fn our_dequeue_removes_node_jobs() {
    let Setup { redis, .. } = setup!();
    let ns = "node_ns";
    for line in ["a", "b", "a"] {
        node_enqueue(&redis, ns, "record", "Record", json!(["/nowhere", line]));
    }
    let c = redis.client_in(ns);
    assert_eq!(c.size("record").unwrap(), 3);

    let removed = c.dequeue_job(&record::Args { path: "/nowhere".into(), line: "a".into() }).unwrap();
    assert_eq!(removed, 2);
    let left = node_json(&redis, ns, &["queued", "record"]);
    assert_eq!(
        left,
        json!({"length": 1, "jobs": [{"class": "Record", "queue": "record", "args": ["/nowhere", "b"]}]})
    );

    assert_eq!(c.dequeue::<record::Args>().unwrap(), 1);
    assert_eq!(node_json(&redis, ns, &["queued", "record"]), json!({"length": 0, "jobs": []}));
    assert!(redis.client().keys_in_namespace().unwrap().is_empty(), "nothing outside {ns}");
}

/// A busy node-resque worker as we see it: our client's `workers` and
/// `working`, and `resque-cli workers --json`, read its registration and
/// its processing record; our pruning leaves it alone (it has no heartbeat).
#[test]
fn we_list_a_busy_node_worker() {
    let Setup { redis, .. } = setup!();
    let c = redis.client();
    c.enqueue_class("slow", "Sleep", &[600_000]).unwrap();
    let node_worker = Reaped::spawn(
        node(&redis, "resque", &["work", "slow", "1"]).stdout(Stdio::null()).stderr(Stdio::null()),
    );
    assert!(eventually(LIMIT, || c.working().unwrap().len() == 1), "the node worker never took the job");

    let id = format!(":{}:slow", node_worker.id());
    let working = c.working().unwrap();
    let (worker_id, on) = &working[0];
    assert!(worker_id.ends_with(&id), "{worker_id}");
    assert_eq!(&c.workers().unwrap(), std::slice::from_ref(worker_id));
    assert_eq!(on.queue, "slow");
    assert_eq!(on.payload, json!({"class": "Sleep", "args": [600_000]}));
    assert!(!on.run_at.is_empty());

    let out = run(worker(&redis).args(["workers", "--json"]), LIMIT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = &listed[0];
    assert_eq!(listed["id"], worker_id.as_str(), "{listed}");
    assert_eq!(listed["pid"], node_worker.id());
    assert_eq!(listed["queues"], json!(["slow"]));
    assert!(listed["started"].as_str().unwrap().parse::<u64>().is_ok(), "node writes unix seconds: {listed}");
    assert_eq!(listed["heartbeat"], Value::Null);
    assert_eq!(listed["processing"]["class"], "Sleep");

    let pruned = c.prune_dead_workers(Duration::from_secs(1)).unwrap();
    assert!(pruned.is_some_and(|p| p.workers.is_empty()), "a node worker is never pruned");
    assert_eq!(&c.workers().unwrap(), std::slice::from_ref(worker_id));
}
