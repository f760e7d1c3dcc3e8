//! `cargo run --release -p resque-bench`: measures, on a private
//! redis-server, how long an idle worker takes from enqueue to the start of
//! the job (forking and in-process), what an idle worker costs Redis, and
//! how soon the scheduler promotes delayed jobs (`scheduler.rs`), and what
//! 1,000 idle workers cost Redis (`idle_fleet.rs`).
//!
//! The binary is also the worker and the scheduler it measures
//! (`resque-bench work ...`, `resque-bench scheduler`; `resque-bench
//! delayed` prints only the scheduler's figures, `resque-bench idle` only
//! the idle fleet's), so
//! the probe job below is linked in, and nothing else: it links no test
//! jobs or test hooks, which would run in every measured job. It is built
//! and linked as a user's worker binary is (`cargo build --release`, no
//! build script, no linker flags), so its figures are a user's.

mod big_payload;
mod head_of_line;
mod idle_fleet;
mod node;
mod scheduler;

use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A private `redis-server` on a free port that keeps nothing on disk;
/// killed on drop.
struct TestRedis {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl TestRedis {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("resque-bench-redis-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or_else(|e| panic!("no free port: {e}"));
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start redis-server (is it installed?): {e}"));
            let mut redis = TestRedis { child, port, dir: dir.clone() };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = redis.child.try_wait() {
                    break;
                }
                if redis::Client::open(redis.url())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                    .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                    .is_ok()
                {
                    return redis;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = redis.child.kill();
        }
        panic!("could not start redis-server");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn client(&self) -> resque::Client {
        let address = self.url().parse().unwrap_or_else(|e| panic!("{e}"));
        resque::Client::with_namespace(address, "resque").unwrap_or_else(|e| panic!("{e}"))
    }

    fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("cannot connect to the private redis-server: {e}"))
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Appends how long ago (ns) it was enqueued to `out`.
#[resque::job(queue = "latency")]
fn latency_probe(enqueued_at_ns: u64, out: String) {
    let now = now_ns();
    let line = format!("{}\n", now.saturating_sub(enqueued_at_ns));
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&out) {
        let _ = std::io::Write::write_all(&mut f, line.as_bytes());
    }
}

/// Does nothing: the enqueue benchmarks' job.
#[resque::job(queue = "noop")]
fn noop(n: u64) {
    let _ = n;
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

const SAMPLES: usize = 300;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("work" | "scheduler") => return resque_cli::main(),
        Some("idle") => {
            // Only the idle fleet's figures.
            let redis = TestRedis::start();
            println!("resque-rs idle fleet benchmark (private redis-server on port {})", redis.port());
            idle_fleet::report(&redis);
            return ExitCode::SUCCESS;
        }
        Some("delayed") => {
            // Only the scheduler's figures (the last table of a whole run).
            let redis = TestRedis::start();
            println!("resque-rs scheduler benchmark (private redis-server on port {})", redis.port());
            scheduler::report(&redis);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let redis = TestRedis::start();
    println!("resque-rs benchmarks (private redis-server on port {})", redis.port());
    let yardstick = lpop_yardstick(&redis);
    match yardstick {
        Some(rate) => println!("yardstick: redis-benchmark -c 1 -t lpop: {rate:.0} requests/s\n"),
        None => println!("yardstick: redis-benchmark not installed; ratios omitted\n"),
    }
    let ratio = |rate: f64| yardstick.map(|y| format!(" ({:.2}x)", rate / y)).unwrap_or_default();
    let (single, bulk) = enqueue_rates(&redis);
    println!("| enqueue | jobs/s |");
    println!("| --- | --- |");
    println!("| one by one (`noop::enqueue_to`) | {single:.0}{} |", ratio(single));
    println!("| bulk (`noop::enqueue_many_to`) | {bulk:.0}{} |\n", ratio(bulk));

    println!("worker binary: this crate's release build, linked the default way, as a user's worker is\n");
    let node_rate = node::throughput(&redis, 20_000);
    match &node_rate {
        Ok(rate) => println!(
            "node-resque 9's worker (tests/node) on 20,000 no-op jobs: {rate:.0} jobs/s{}\n",
            ratio(*rate)
        ),
        Err(why) => println!("node-resque not measured: {why}\n"),
    }
    let vs_node =
        |rate: f64| node_rate.as_ref().map(|n| format!(", {:.2}x node-resque", rate / n)).unwrap_or_default();
    println!("each row: the median of {RUNS} workers' rates, the slowest start and the highest peak\n");
    println!("| worker, no-op jobs | jobs/s | start to ready | worker peak RSS |");
    println!("| --- | --- | --- | --- |");
    let mut parts = Vec::new();
    for (label, extra, backlog) in [
        ("fork per job, 20,000 jobs", &[][..], 20_000),
        ("in-process, 20,000 jobs", &["--no-fork"][..], 20_000),
        ("fork per job, first 20,000 of a 1,000,000 backlog", &[][..], 1_000_000),
        ("in-process, first 20,000 of a 1,000,000 backlog", &["--no-fork"][..], 1_000_000),
    ] {
        let run = median_of(RUNS, || throughput(&redis, extra, backlog, 20_000));
        parts.push((label, run.parts));
        println!(
            "| {label} | {:.0}{}{} | {:.1} ms | {:.1} MB |",
            run.jobs_per_sec,
            ratio(run.jobs_per_sec),
            vs_node(run.jobs_per_sec),
            run.ready.as_secs_f64() * 1e3,
            run.peak_rss_kb as f64 / 1024.0
        );
    }
    println!();
    println!("resident set of the highest-peak worker of each row, when its run ended (/proc/<pid>/smaps)\n");
    println!("| worker, no-op jobs | binary's code | binary's data | libraries | anonymous |");
    println!("| --- | --- | --- | --- | --- |");
    for (label, p) in parts {
        println!(
            "| {label} | {:.1} MB | {:.1} MB | {:.1} MB | {:.1} MB |",
            RssParts::mb(p.code),
            RssParts::mb(p.data),
            RssParts::mb(p.libraries),
            RssParts::mb(p.anonymous)
        );
    }
    println!();
    println!("{SAMPLES} samples each; the worker is idle (INTERVAL 5) before every enqueue\n");
    println!("| measure | fork per job | in-process |");
    println!("| --- | --- | --- |");
    let fork = idle_latency(&redis, &[], false);
    let inproc = idle_latency(&redis, &["--no-fork"], false);
    let raw_fork = idle_latency(&redis, &[], true);
    let raw_inproc = idle_latency(&redis, &["--no-fork"], true);
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    println!("| enqueue-to-start latency p50 | {} | {} |", ms(fork.p50), ms(inproc.p50));
    println!("| enqueue-to-start latency p99 | {} | {} |", ms(fork.p99), ms(inproc.p99));
    println!("| raw RPUSH-to-start latency p50 | {} | {} |", ms(raw_fork.p50), ms(raw_inproc.p50));
    println!("| raw RPUSH-to-start latency p99 | {} | {} |", ms(raw_fork.p99), ms(raw_inproc.p99));
    println!(
        "| idle worker: Redis commands/s | {:.2} | {:.2} |",
        fork.idle_commands_per_sec, inproc.idle_commands_per_sec
    );
    head_of_line::report(&redis);
    big_payload::report(&redis);
    scheduler::report(&redis);
    idle_fleet::report(&redis);
    ExitCode::SUCCESS
}

/// `redis-benchmark -c 1 -t lpop` on the same server: one client, one
/// command per round trip, the rate every figure is compared with.
fn lpop_yardstick(redis: &TestRedis) -> Option<f64> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &redis.port().to_string(), "-c", "1", "-n", "100000", "-t", "lpop", "-q"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "LPOP: 57803.47 requests per second, p50=0.015 msec"
    let line = text.lines().rev().find(|l| l.contains("LPOP"))?;
    let after = line.rsplit("LPOP:").next()?.trim();
    after.split_whitespace().next()?.parse().ok()
}

/// Jobs per second enqueued one at a time, and in bulk.
fn enqueue_rates(redis: &TestRedis) -> (f64, f64) {
    let client = redis.client();
    let n = 20_000u64;
    let started = Instant::now();
    for i in 0..n {
        if let Err(e) = noop::enqueue_to(&client, i) {
            panic!("enqueue failed: {e}");
        }
    }
    let single = n as f64 / started.elapsed().as_secs_f64();
    let _ = client.remove_queue("noop");
    let n = 500_000u64;
    let started = Instant::now();
    match noop::enqueue_many_to(&client, (0..n).map(|i| noop::Args { n: i })) {
        Ok(pushed) => assert_eq!(pushed as u64, n),
        Err(e) => panic!("bulk enqueue failed: {e}"),
    }
    let bulk = n as f64 / started.elapsed().as_secs_f64();
    let _ = client.remove_queue("noop");
    (single, bulk)
}

/// Workers started per throughput row: one run of 20,000 in-process jobs
/// lasts about 0.3 s, short enough for the machine's other work to move it
/// by tens of percent.
const RUNS: usize = 3;

/// The median rate of `runs` runs, with the slowest start-up and the
/// highest peak RSS among them.
fn median_of(runs: usize, mut run: impl FnMut() -> Throughput) -> Throughput {
    let mut all: Vec<Throughput> = (0..runs).map(|_| run()).collect();
    all.sort_by(|a, b| a.jobs_per_sec.total_cmp(&b.jobs_per_sec));
    let ready = all.iter().map(|r| r.ready).max().unwrap_or_default();
    let highest = all.iter().max_by_key(|r| r.peak_rss_kb).map(|r| (r.peak_rss_kb, r.parts));
    let (peak_rss_kb, parts) = highest.unwrap_or_default();
    let middle = all.swap_remove(all.len() / 2);
    Throughput { jobs_per_sec: middle.jobs_per_sec, ready, peak_rss_kb, parts }
}

struct Throughput {
    jobs_per_sec: f64,
    ready: Duration,
    /// The worker process's VmHWM.
    peak_rss_kb: u64,
    /// Its resident set by mapping when the run ended.
    parts: RssParts,
}

/// A process's resident set by mapping, in kB, from `/proc/<pid>/smaps`.
#[derive(Debug, Default, Clone, Copy)]
struct RssParts {
    /// This binary's code.
    code: u64,
    /// This binary's other mappings: read-only data, relocations, statics.
    data: u64,
    /// Other files: libc, the loader, libgcc.
    libraries: u64,
    /// Heap, stack and other anonymous memory.
    anonymous: u64,
}

impl RssParts {
    fn of(pid: u32) -> Self {
        let exe = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
        let mut parts = RssParts::default();
        let mut counter: fn(&mut RssParts) -> &mut u64 = |p| &mut p.anonymous;
        for line in smaps.lines() {
            if let Some(kb) = line.strip_prefix("Rss:") {
                *counter(&mut parts) += kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap_or(0);
                continue;
            }
            // A mapping's header: "start-end perms offset dev inode [path]".
            let mut fields = line.split_whitespace();
            if fields.next().is_some_and(|range| range.contains('-') && !range.ends_with(':')) {
                let perms = fields.next().unwrap_or("");
                let path = fields.nth(3).unwrap_or("");
                counter = if path == exe && perms.contains('x') {
                    |p| &mut p.code
                } else if path == exe {
                    |p| &mut p.data
                } else if path.starts_with('/') {
                    |p| &mut p.libraries
                } else {
                    |p| &mut p.anonymous
                };
            }
        }
        parts
    }

    fn mb(kb: u64) -> f64 {
        kb as f64 / 1024.0
    }
}

/// Pushes `backlog` no-op jobs, starts a worker, and times its first
/// `measure` jobs (from the moment it is registered); also how long it took
/// from start to registered.
fn throughput(redis: &TestRedis, extra: &[&str], backlog: u64, measure: u64) -> Throughput {
    let client = redis.client();
    let _ = client.remove_queue("noop");
    if let Err(e) = noop::enqueue_many_to(&client, (0..backlog).map(|n| noop::Args { n })) {
        panic!("bulk enqueue failed: {e}");
    }
    let before = client.stat("processed").unwrap_or(0);
    let started = Instant::now();
    let mut worker = spawn_worker(redis, "noop", "0.5", extra);
    wait(|| client.workers().map(|w| !w.is_empty()).unwrap_or(false));
    let ready = started.elapsed();
    let from = Instant::now();
    let deadline = from + Duration::from_secs(600);
    while client.stat("processed").unwrap_or(0) < before + measure {
        assert!(Instant::now() < deadline, "the worker took over 10 minutes");
        std::thread::sleep(Duration::from_millis(2));
    }
    let jobs_per_sec = measure as f64 / from.elapsed().as_secs_f64();
    let peak_rss_kb = std::fs::read_to_string(format!("/proc/{}/status", worker.id()))
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
            line.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or(0);
    let parts = RssParts::of(worker.id());
    let _ = kill(Pid::from_raw(worker.id() as i32), Signal::SIGQUIT);
    let _ = worker.wait();
    let _ = client.remove_queue("noop");
    Throughput { jobs_per_sec, ready, peak_rss_kb, parts }
}

struct Latency {
    p50: Duration,
    p99: Duration,
    idle_commands_per_sec: f64,
}

/// `raw`: pushed with a bare `RPUSH`, as Ruby, node-resque or `redis-cli`
/// push (no wake-up message), else with resque-rs's enqueue.
fn idle_latency(redis: &TestRedis, extra: &[&str], raw: bool) -> Latency {
    let dir = std::env::temp_dir().join(format!("resque-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let out = dir.join(format!("latency{}{raw}", extra.join("")));
    let _ = std::fs::remove_file(&out);
    let client = redis.client();
    let mut worker = spawn_worker(redis, "latency", "5", extra);
    wait(|| client.workers().map(|w| !w.is_empty()).unwrap_or(false));
    std::thread::sleep(Duration::from_millis(200));

    let before = commands(redis);
    let idle_for = Duration::from_secs(10);
    std::thread::sleep(idle_for);
    let idle = commands(redis).saturating_sub(before + 1) as f64 / idle_for.as_secs_f64();

    let path = out.to_string_lossy().into_owned();
    for i in 0..SAMPLES {
        std::thread::sleep(Duration::from_millis(20));
        if raw {
            let payload = format!(
                r#"{{"class":"LatencyProbe","args":[{},"{}"]}}"#,
                now_ns(),
                path.replace('"', "\\\"")
            );
            let _: () = redis::cmd("RPUSH")
                .arg("resque:queue:latency")
                .arg(payload)
                .query(&mut redis.conn())
                .unwrap_or(());
        } else if let Err(e) = latency_probe::enqueue_to(&client, now_ns(), path.as_str()) {
            panic!("enqueue failed: {e}");
        }
        wait(|| count_lines(&out) > i);
    }
    let _ = kill(Pid::from_raw(worker.id() as i32), Signal::SIGQUIT);
    let _ = worker.wait();
    let mut samples: Vec<u64> =
        std::fs::read_to_string(&out).unwrap_or_default().lines().filter_map(|l| l.parse().ok()).collect();
    samples.sort_unstable();
    let pick = |q: f64| Duration::from_nanos(samples[((samples.len() as f64 - 1.0) * q).round() as usize]);
    Latency { p50: pick(0.50), p99: pick(0.99), idle_commands_per_sec: idle }
}

/// This binary as a worker on `queue`, polling every `interval` seconds.
fn spawn_worker(redis: &TestRedis, queue: &str, interval: &str, extra: &[&str]) -> Child {
    let exe = std::env::current_exe().unwrap_or_else(|_| "resque-bench".into());
    Command::new(exe)
        .args(["work", "-q", queue, "-i", interval])
        .args(extra)
        .env("RESQUE_REDIS", redis.url())
        // Errors only: a worker's start-up line and warnings, times 1,000
        // in the idle fleet, would bury the tables.
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the worker: {e}"))
}

fn commands(redis: &TestRedis) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(&mut redis.conn()).unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|s| s.lines().count()).unwrap_or(0)
}

fn wait(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for the worker");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[cfg(test)]
mod tests {
    use super::RssParts;

    #[test]
    fn a_resident_set_splits_into_code_libraries_and_anonymous_memory() {
        let parts = RssParts::of(std::process::id());
        assert!(parts.code > 0 && parts.libraries > 0 && parts.anonymous > 0, "{parts:?}");
    }
}
