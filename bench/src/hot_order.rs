//! `resque-bench hot-order`: lists the functions a worker runs, for
//! `build.rs` to place together at the start of `.text`.
//!
//! The list comes from running this binary's worker under `valgrind
//! --tool=callgrind` on a private redis-server: start-up, a backlog of no-op
//! jobs forking and in-process, jobs that find the worker idle, idle polls,
//! heartbeats and a QUIT. Symbol names carry a hash of the crate's build
//! (version, profile, dependencies), so the list matches the release build
//! it was made from; the benchmark prints how much of it the running binary
//! still has.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::{noop, TestRedis};

/// The list `build.rs` links with.
pub const LIST: &str = include_str!("../hot.order");

const HEADER: &str = "\
# Functions a resque-rs worker runs, placed first in .text by bench/build.rs.
# Made by `cargo run --release -p resque-bench -- hot-order`; make it again
# when `resque-bench` reports that this list no longer matches the binary.
";

/// Profiles the worker and writes the list to `out`; returns how many
/// functions it holds.
pub fn generate(out: &Path) -> Result<usize, String> {
    let valgrind = Command::new("valgrind").arg("--version").output();
    if !valgrind.is_ok_and(|o| o.status.success()) {
        return Err("valgrind is not installed: the list is made with valgrind --tool=callgrind".into());
    }
    let dir = std::env::temp_dir().join(format!("resque-bench-hot-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let redis = TestRedis::start();
    let mut files = Vec::new();
    for (mode, extra, jobs) in [("fork", &[][..], 100u64), ("no-fork", &["--no-fork"][..], 2_000)] {
        files.push(profile(&redis, &dir, mode, extra, jobs)?);
    }
    // Sorted: the functions all run, so their order within the block does
    // not matter, and a list made again differs only where they do.
    let mut names = BTreeSet::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        names.extend(functions(&text).map(str::to_string));
    }
    let _ = std::fs::remove_dir_all(&dir);
    if names.is_empty() {
        return Err("callgrind recorded no Rust function: is this a release build with symbols?".into());
    }
    let body = format!("{HEADER}{}\n", Vec::from_iter(names.iter().map(String::as_str)).join("\n"));
    std::fs::write(out, body).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(names.len())
}

/// Runs one worker under callgrind until it has done `jobs` jobs and idled a
/// little, then stops it with QUIT; returns its profile.
fn profile(
    redis: &TestRedis,
    dir: &Path,
    mode: &str,
    extra: &[&str],
    jobs: u64,
) -> Result<std::path::PathBuf, String> {
    let client = redis.client();
    let before = client.stat("processed").unwrap_or(0);
    noop::enqueue_many_to(&client, (0..jobs).map(|n| noop::Args { n }))
        .map_err(|e| format!("cannot enqueue: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let file = dir.join(format!("callgrind.{mode}"));
    let mut worker = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--demangle=no")
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(format!("--log-file={}", dir.join(format!("valgrind.{mode}.%p")).display()))
        .arg(exe)
        .args(["work", "-q", "noop", "-i", "0.2", "--heartbeat-interval", "0.5"])
        .args(extra)
        .env("RESQUE_REDIS", redis.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start valgrind: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while client.stat("processed").unwrap_or(0) < before + jobs {
        if Instant::now() > deadline || matches!(worker.try_wait(), Ok(Some(_))) {
            let _ = worker.kill();
            let _ = worker.wait();
            return Err(format!("the {mode} worker under callgrind did not finish its jobs"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Jobs that find the worker idle, then idle polls and heartbeats.
    for n in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        noop::enqueue_to(&client, n).map_err(|e| format!("cannot enqueue: {e}"))?;
    }
    std::thread::sleep(Duration::from_millis(1_500));
    let _ = kill(Pid::from_raw(worker.id() as i32), Signal::SIGQUIT);
    let _ = worker.wait();
    if !file.exists() {
        return Err(format!("callgrind wrote no profile for the {mode} worker"));
    }
    Ok(file)
}

/// The Rust functions named in a callgrind profile (`fn=` and `cfn=` lines,
/// `(id) name` the first time an id appears).
/// Only this binary's code is Rust, so the mangling prefix picks its
/// functions out of libc's and the loader's.
fn functions(profile: &str) -> impl Iterator<Item = &str> {
    profile.lines().filter_map(|line| {
        let rest = line.strip_prefix("fn=").or_else(|| line.strip_prefix("cfn="))?;
        let (_, name) = rest.split_once(") ")?;
        // Callgrind marks recursion depth as name'2.
        let name = name.split('\'').next()?;
        (name.starts_with("_ZN") || name.starts_with("_R") || name == "main").then_some(name)
    })
}

/// How many of the listed functions this binary defines, by `nm`; `None`
/// when `nm` cannot be run.
pub fn coverage() -> Option<(usize, usize)> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new("nm").arg("--defined-only").arg(exe).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let defined: HashSet<&str> = text.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    let listed: Vec<&str> = LIST.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    Some((listed.iter().filter(|n| defined.contains(*n)).count(), listed.len()))
}

#[cfg(test)]
mod tests {
    use super::functions;

    #[test]
    fn names_come_from_fn_and_cfn_lines_once_compressed() {
        let profile = "ob=(1) /bin/x\nfn=(1) _ZN6resque6Worker4work17h0123456789abcdefE\n\
                       cfn=(2) _RNvCs1_4main3run'2\ncalls=1 0\nfn=(1)\ncfn=(3) memcpy\nfn=(4) main\n";
        let names: Vec<&str> = functions(profile).collect();
        assert_eq!(names, ["_ZN6resque6Worker4work17h0123456789abcdefE", "_RNvCs1_4main3run", "main"]);
    }
}
