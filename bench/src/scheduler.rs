//! The scheduler's figures: how soon after its due second a delayed job is
//! in its queue, and how long 100,000 jobs due at one second take to be
//! promoted, with `resque-bench scheduler` (this binary) as the scheduler.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::TestRedis;

/// The scheduler's rows, printed as a table.
pub(crate) fn report(redis: &TestRedis) {
    let scheduler = Scheduler::start(redis);
    let lags = promotion_lags(redis, 10);
    let bulk = bulk_promotion(redis, 100_000);
    drop(scheduler);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!("\nthe scheduler (`resque-bench scheduler`), idle between jobs\n");
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| due second to job in its queue, p50 of {} | {} |", lags.len(), ms(lags[lags.len() / 2]));
    println!("| due second to job in its queue, worst of {} | {} |", lags.len(), ms(lags[lags.len() - 1]));
    println!("| 100,000 jobs due at one second: due second to the last in its queue | {} |", ms(bulk));
}

/// This binary as a scheduler; stopped (QUIT) on drop.
struct Scheduler(Child);

impl Scheduler {
    fn start(redis: &TestRedis) -> Self {
        let exe = std::env::current_exe().unwrap_or_else(|_| "resque-bench".into());
        let child = Command::new(exe)
            .arg("scheduler")
            .env("RESQUE_REDIS", redis.url())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the scheduler: {e}"));
        let scheduler = Scheduler(child);
        // Leading once it holds the master lock.
        let lock = redis.client().keys().scheduler_master_lock(None);
        super::wait(|| redis::cmd("EXISTS").arg(&lock).query::<bool>(&mut redis.conn()).unwrap_or(false));
        scheduler
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGQUIT);
        let _ = self.0.wait();
    }
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Waits until `queue` holds `n` jobs; how long after the second `due`.
fn lag_after(redis: &TestRedis, queue: &str, n: u64, due: u64) -> Duration {
    let mut conn = redis.conn();
    let key = redis.client().keys().queue(queue);
    super::wait(|| redis::cmd("LLEN").arg(&key).query::<u64>(&mut conn).unwrap_or(0) >= n);
    unix_now().saturating_sub(Duration::from_secs(due))
}

/// `samples` jobs, each delayed (by `Client::enqueue_class_at`, which
/// publishes to the idle scheduler) to a second about 1.5 s ahead; sorted lags.
fn promotion_lags(redis: &TestRedis, samples: usize) -> Vec<Duration> {
    let client = redis.client();
    let mut lags = Vec::with_capacity(samples);
    for i in 0..samples {
        let due = unix_now().as_secs() + 2;
        if let Err(e) = client.enqueue_class_at(due as i64, "sched_lag", "Noop", &(i,)) {
            panic!("enqueue_at failed: {e}");
        }
        lags.push(lag_after(redis, "sched_lag", i as u64 + 1, due));
    }
    lags.sort_unstable();
    lags
}

/// `n` jobs due at one second about 3 s ahead, written as resque-scheduler
/// writes them (in pipelines, so that writing them is not what is timed).
fn bulk_promotion(redis: &TestRedis, n: usize) -> Duration {
    let mut conn = redis.conn();
    let keys = redis.client().keys().clone();
    let due = unix_now().as_secs() + 3;
    let at = due as i64;
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let item = resque::payload::encode_delayed("Noop", &(i,), "sched_bulk")
                .unwrap_or_else(|e| panic!("encoding a delayed item: {e}"));
            pipe.rpush(keys.delayed_at(at), &item).ignore();
            pipe.sadd(keys.timestamps_of(item.as_bytes()), resque::keys::Keys::delayed_bucket(at)).ignore();
        }
        if let Err(e) = pipe.query::<()>(&mut conn) {
            panic!("writing delayed items failed: {e}");
        }
    }
    if let Err(e) = redis::cmd("ZADD").arg(keys.delayed_schedule()).arg(at).arg(at).query::<()>(&mut conn) {
        panic!("ZADD failed: {e}");
    }
    lag_after(redis, "sched_bulk", n as u64, due)
}
