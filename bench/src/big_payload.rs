//! Memory of one large job: a worker takes one job whose payload holds a
//! 20 MB string and runs it, forking and in-process; its peak RSS (VmHWM),
//! and the peak of the process that ran the job (the forked child, or the
//! worker itself).

use std::path::Path;
use std::process::Child;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{spawn_worker, TestRedis};

const SIZE: usize = 20 * 1024 * 1024;

/// Writes the VmHWM (kB) of the process that runs it to `out`.
#[resque::job(queue = "big")]
fn big(text: String, out: String) {
    let _ = text.len();
    let _ = std::fs::write(&out, hwm_kb(std::process::id()).to_string());
}

/// A process's peak resident set, in kB (0 when unreadable).
fn hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
            line.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or(0)
}

/// The rows, printed as a table.
pub(crate) fn report(redis: &TestRedis) {
    println!("\none job with a {} MB string argument\n", SIZE / (1024 * 1024));
    println!("| worker | worker peak RSS | peak RSS of the process that ran the job |");
    println!("| --- | --- | --- |");
    for (label, extra) in [("fork per job", &[][..]), ("in-process", &["--no-fork"][..])] {
        let (worker, job) = one_big_job(redis, extra);
        println!("| {label} | {:.1} MB | {:.1} MB |", worker as f64 / 1024.0, job as f64 / 1024.0);
    }
}

fn one_big_job(redis: &TestRedis, extra: &[&str]) -> (u64, u64) {
    let dir = std::env::temp_dir().join(format!("resque-bench-big-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let out = dir.join("hwm");
    let _ = std::fs::remove_file(&out);
    let payload = format!(r#"{{"class":"Big","args":["{}","{}"]}}"#, "x".repeat(SIZE), out.to_string_lossy());
    let _: () =
        redis::cmd("RPUSH").arg("resque:queue:big").arg(payload).query(&mut redis.conn()).unwrap_or(());
    let client = redis.client();
    let before = client.stat("processed").unwrap_or(0);
    let mut worker: Child = spawn_worker(redis, "big", "0.5", extra);
    super::wait(|| client.stat("processed").unwrap_or(0) > before);
    let worker_peak = hwm_kb(worker.id());
    let job_peak =
        std::fs::read_to_string(Path::new(&out)).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    let _ = kill(Pid::from_raw(worker.id() as i32), Signal::SIGQUIT);
    let _ = worker.wait();
    let _ = std::fs::remove_dir_all(&dir);
    (worker_peak, job_peak)
}
