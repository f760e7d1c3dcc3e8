//! node-resque's worker (`tests/node`, pinned) on the same no-op jobs, when
//! `node` is installed and `tests/node` has its modules (`npm ci` there):
//! the rate resque-rs's workers are compared with.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{noop, TestRedis};

/// Jobs per second of one node-resque worker draining `jobs` no-op jobs,
/// or why it was not measured.
pub(crate) fn throughput(redis: &TestRedis, jobs: u64) -> Result<f64, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/node");
    if !dir.join("node_modules/node-resque").is_dir() {
        return Err("tests/node has no node_modules (run `npm ci` there)".into());
    }
    if !Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Err("node is not installed".into());
    }
    let client = redis.client();
    let _ = client.remove_queue("noop");
    noop::enqueue_many_to(&client, (0..jobs).map(|n| noop::Args { n })).map_err(|e| e.to_string())?;
    let before = client.stat("processed").unwrap_or(0);
    let mut node = Command::new("node")
        .arg(dir.join("resque.js"))
        .args(["work", "noop", &jobs.to_string()])
        .env("REDIS_PORT", redis.port().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    let started = Instant::now();
    // From its first job on, as the workers' rows count from registration.
    let mut from = None;
    let deadline = started + Duration::from_secs(600);
    loop {
        let done = client.stat("processed").unwrap_or(0).saturating_sub(before);
        if done > 0 && from.is_none() {
            from = Some((Instant::now(), done));
        }
        if done >= jobs || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = node.kill();
    let _ = node.wait();
    let _ = client.remove_queue("noop");
    let (from, first) = from.ok_or("node-resque ran no job")?;
    Ok((jobs - first) as f64 / from.elapsed().as_secs_f64())
}
