//! What a fleet of idle workers costs Redis: 1,000 workers (each its own
//! process, default INTERVAL 5) on one queue, then on three, waiting for
//! jobs; the connections `INFO clients` counts, the commands per second
//! `INFO stats` counts over 10 s, and Redis's memory.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{commands, spawn_worker, TestRedis};

/// Workers started per row.
const WORKERS: usize = 1_000;
/// How long the commands are counted.
const WINDOW: Duration = Duration::from_secs(10);

/// The rows, printed as a table.
pub(crate) fn report(redis: &TestRedis) {
    println!(
        "\n{WORKERS} idle workers (separate processes, INTERVAL 5), counted over {} s\n",
        WINDOW.as_secs()
    );
    println!("| workers | connections | per worker | commands/s | per worker | Redis memory |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for queues in ["idle_a", "idle_a,idle_b,idle_c"] {
        match fleet(redis, queues) {
            Ok(row) => println!(
                "| on `{queues}` | {} | {:.1} | {:.0} | {:.2} | {:.1} MB |",
                row.clients,
                row.clients as f64 / WORKERS as f64,
                row.commands_per_sec,
                row.commands_per_sec / WORKERS as f64,
                row.used_memory as f64 / 1e6
            ),
            Err(why) => println!("| on `{queues}` | not measured: {why} | | | | |"),
        }
    }
}

struct Row {
    clients: u64,
    commands_per_sec: f64,
    used_memory: u64,
}

fn fleet(redis: &TestRedis, queues: &str) -> Result<Row, String> {
    let client = redis.client();
    let before = info_field(redis, "clients", "connected_clients");
    let mut workers: Vec<Child> = Vec::with_capacity(WORKERS);
    let stop = |workers: &mut Vec<Child>| {
        for w in workers.iter() {
            let _ = kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT);
        }
        for w in workers.iter_mut() {
            let _ = w.wait();
        }
    };
    for _ in 0..WORKERS {
        workers.push(spawn_worker(redis, queues, "5", &[]));
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while client.workers().map(|w| w.len()).unwrap_or(0) < WORKERS {
        if Instant::now() > deadline {
            stop(&mut workers);
            return Err("not every worker registered within 5 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let start-up work (registration, first polls) pass.
    std::thread::sleep(Duration::from_secs(6));
    let from = commands(redis);
    let started = Instant::now();
    std::thread::sleep(WINDOW);
    let counted = commands(redis).saturating_sub(from).saturating_sub(1);
    let commands_per_sec = counted as f64 / started.elapsed().as_secs_f64();
    let clients = info_field(redis, "clients", "connected_clients").saturating_sub(before);
    let used_memory = info_field(redis, "memory", "used_memory");
    stop(&mut workers);
    Ok(Row { clients, commands_per_sec, used_memory })
}

fn info_field(redis: &TestRedis, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(&mut redis.conn()).unwrap_or_default();
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}
