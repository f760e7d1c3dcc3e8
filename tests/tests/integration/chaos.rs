//! The chaos test: 20,000 jobs, 2 forking workers and 1 `--no-fork` worker,
//! a random worker parent or child SIGKILLed every 100 ms for the whole run,
//! and a redis-server restart in the middle; meanwhile pruning passes run
//! back to back over batches of dead workers, racing the registrations of
//! the workers that replace the killed ones. No job may be lost, no job
//! runs again more often than the kills allow, and pruning fails none.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::append_id;
use resque_tests::{lines, wait_for_exit, Reaped, TestRedis};
use serde_json::Value;

use super::worker;

const JOBS: u64 = 20_000;
const WORKERS: usize = 3;
/// The slot that runs a `--no-fork` worker; the others fork.
const NO_FORK_SLOT: usize = 2;
/// How many finished jobs a killed worker may run again (docs/PROTOCOL.md,
/// "One job"): the job in hand when forking; up to 9 in-process jobs whose
/// steps Redis had not yet run.
const REPEATS_FORKING: usize = 1;
const REPEATS_NO_FORK: usize = 9;

/// A small xorshift generator; the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn spawn(redis: &TestRedis, slot: usize) -> Reaped {
    let mut cmd = worker(redis);
    cmd.args(["work", "-i", "0.05", "-q", "chaos", "--heartbeat-interval", "1"]);
    if slot == NO_FORK_SLOT {
        cmd.arg("--no-fork");
    }
    Reaped::spawn(cmd.stdout(Stdio::null()).stderr(Stdio::null()))
}

fn children_of(pid: u32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Every id seen, in the output file and in failure entries, with counts.
fn seen(out: &std::path::Path, redis: &TestRedis) -> Option<HashMap<u64, usize>> {
    let mut counts = HashMap::new();
    for line in lines(out) {
        if let Ok(id) = line.parse::<u64>() {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    let failed: Vec<String> = redis.conn().lrange("resque:failed", 0, -1).ok()?;
    for entry in failed {
        let entry: Value = serde_json::from_str(&entry).ok()?;
        if let Some(id) = entry["payload"]["args"][1].as_u64() {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    Some(counts)
}

/// How many dead workers (of another host, heartbeat long expired) each
/// racing pruning pass finds.
const DEAD_PER_PASS: usize = 500;

/// Runs pruning passes back to back until `stop`, each over a new batch of
/// dead workers, so that a pass is always under way while killed workers
/// are replaced and register. Returns how many passes ran.
fn race_pruning(redis_url: String, stop: Arc<AtomicBool>) -> usize {
    let client = resque::Client::with_namespace(redis_url.parse().unwrap(), "resque").unwrap();
    let mut passes = 0;
    let mut batch = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let conn = redis::Client::open(redis_url.as_str()).and_then(|c| c.get_connection());
        let Ok(mut conn) = conn else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let mut pipe = redis::pipe();
        for i in 0..DEAD_PER_PASS {
            let id = format!("chaos-dead-host:{}:chaos", batch * DEAD_PER_PASS + i);
            pipe.sadd("resque:workers", &id).ignore();
            pipe.hset("resque:workers:heartbeat", &id, "2020-01-01T00:00:00+00:00").ignore();
        }
        pipe.del("resque:pruning_dead_workers_in_progress").ignore();
        if pipe.query::<()>(&mut conn).is_err() {
            continue;
        }
        batch += 1;
        if let Ok(Some(_)) = client.prune_dead_workers(Duration::from_secs(1)) {
            passes += 1;
        }
    }
    passes
}

#[test]
fn no_job_is_lost_when_workers_are_killed_and_redis_restarts() {
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("chaos seed: {seed}");
    let mut rng = Rng(seed);
    let mut redis = TestRedis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ids");
    let path = out.to_str().unwrap();
    let client = redis.client();
    for id in 0..JOBS {
        append_id::enqueue_to(&client, path, id).unwrap();
    }

    let mut workers: Vec<Reaped> = (0..WORKERS).map(|slot| spawn(&redis, slot)).collect();
    let stop_pruning = Arc::new(AtomicBool::new(false));
    let pruning = {
        let (url, stop) = (redis.url(), stop_pruning.clone());
        std::thread::spawn(move || race_pruning(url, stop))
    };
    let mut kills = 0usize;
    // How many duplicates the kills allow.
    let mut allowed = 0usize;
    let mut restarted = false;
    let deadline = Instant::now() + Duration::from_secs(240);
    let complete = |redis: &TestRedis| {
        seen(&out, redis).is_some_and(|counts| (0..JOBS).all(|id| counts.contains_key(&id)))
    };
    let mut rounds = 0u64;
    while !complete(&redis) {
        rounds += 1;
        if rounds.is_multiple_of(25) {
            let mut conn = redis.conn();
            let queued: u64 = conn.llen("resque:queue:chaos").unwrap_or(0);
            let inflight: Vec<String> = conn.keys("resque:inflight:*").unwrap_or_default();
            let mut registered: Vec<String> = conn.smembers("resque:workers").unwrap_or_default();
            let racing_dead = registered.len();
            registered.retain(|w| !w.starts_with("chaos-dead-host:"));
            let racing_dead = racing_dead - registered.len();
            eprintln!(
                "chaos: {} lines, {queued} queued, {} in flight {inflight:?}, workers {registered:?} \
                 (and {racing_dead} dead ones for pruning), {kills} kills",
                lines(&out).len(),
                inflight.len()
            );
        }
        if Instant::now() >= deadline {
            let counts = seen(&out, &redis);
            let missing: Option<Vec<u64>> =
                counts.map(|c| (0..JOBS).filter(|id| !c.contains_key(id)).collect());
            let failed: Vec<String> = redis.conn().lrange("resque:failed", 0, -1).unwrap_or_default();
            panic!("jobs still missing after 240 s (seed {seed}): {missing:?}; failed: {failed:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
        // Replace workers that died (killed parents).
        for (slot, w) in workers.iter_mut().enumerate() {
            if w.try_wait().unwrap().is_some() {
                *w = spawn(&redis, slot);
            }
        }
        let slot = (rng.next() % WORKERS as u64) as usize;
        let parent = workers[slot].id();
        let children = children_of(parent);
        let victim =
            if rng.next().is_multiple_of(2) && !children.is_empty() { children[0] } else { parent as i32 };
        if kill(Pid::from_raw(victim), Signal::SIGKILL).is_ok() {
            kills += 1;
            allowed += if slot == NO_FORK_SLOT { REPEATS_NO_FORK } else { REPEATS_FORKING };
        }
        if !restarted && lines(&out).len() as u64 >= JOBS / 2 {
            redis.stop();
            std::thread::sleep(Duration::from_millis(300));
            redis.restart();
            restarted = true;
        }
    }
    assert!(restarted, "the run ended before the restart (seed {seed})");
    // Every id is seen, but a killed worker's job that its orphaned child
    // finished is still in flight until a live worker prunes the dead one
    // and puts it back (to run again: at-least-once). Wait for that.
    let settled = |redis: &TestRedis| {
        let mut conn = redis.conn();
        let in_flight: Vec<String> = conn.keys("resque:inflight:*").unwrap_or_default();
        let queued: u64 = conn.llen("resque:queue:chaos").unwrap_or(1);
        in_flight.is_empty() && queued == 0
    };
    let settle_by = Instant::now() + Duration::from_secs(120);
    while !settled(&redis) {
        assert!(Instant::now() < settle_by, "jobs still in flight after 120 s (seed {seed})");
        for (slot, w) in workers.iter_mut().enumerate() {
            if w.try_wait().unwrap().is_some() {
                *w = spawn(&redis, slot);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_pruning.store(true, Ordering::Relaxed);
    let passes = pruning.join().unwrap();
    assert!(passes > 0, "no pruning pass ran (seed {seed})");
    for w in workers.iter_mut() {
        let _ = kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT);
        assert!(wait_for_exit(w, Duration::from_secs(240)).is_some());
    }

    let counts = seen(&out, &redis).unwrap();
    let missing: Vec<u64> = (0..JOBS).filter(|id| !counts.contains_key(id)).collect();
    assert!(missing.is_empty(), "lost jobs {missing:?} (seed {seed})");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= allowed,
        "{duplicates} duplicates but {kills} kills allow only {allowed} (seed {seed})"
    );
    let in_flight: Vec<String> = redis.conn().keys("resque:inflight:*").unwrap();
    assert!(in_flight.is_empty(), "{in_flight:?}");
    // Our workers keep their jobs in flight: pruning puts them back, and
    // never fails one as a job found on a dead worker.
    let failed: Vec<String> = redis.conn().lrange("resque:failed", 0, -1).unwrap();
    let by_pruning: Vec<&String> = failed
        .iter()
        .filter(|e| e.contains("PruneDeadWorkerDirtyExit") || e.contains("Job still being processed"))
        .collect();
    assert!(
        by_pruning.is_empty(),
        "pruning failed jobs of live or recovered workers (seed {seed}): {by_pruning:?}"
    );
    eprintln!(
        "chaos: {kills} kills, {duplicates} duplicates, {} failed, {passes} racing pruning passes",
        redis.client().failed_count().unwrap()
    );
}
