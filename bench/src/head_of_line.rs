//! Jobs that wait behind others: 4 jobs of 2 s pushed in one `RPUSH` (as
//! any producer pushes them, no wake-up message) to 4 idle workers that ran
//! short jobs before (so they take jobs ahead), forking and in-process; the
//! time from the push to the last job done. About 2 s when no job waits
//! behind another while a worker is idle.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{count_lines, now_ns, spawn_worker, TestRedis};

/// Sleeps `millis`, then appends a line to `out`.
#[resque::job(queue = "long")]
fn sleeper(millis: u64, out: String) {
    std::thread::sleep(Duration::from_millis(millis));
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&out) {
        let _ = std::io::Write::write_all(&mut f, format!("{}\n", now_ns()).as_bytes());
    }
}

const JOB: Duration = Duration::from_secs(2);

/// The rows, printed as a table.
pub(crate) fn report(redis: &TestRedis) {
    println!("\n4 jobs of {} s in one RPUSH, 4 idle workers warmed with short jobs\n", JOB.as_secs());
    println!("| workers | push to the last job done |");
    println!("| --- | --- |");
    for (label, extra) in [("fork per job", &[][..]), ("in-process", &["--no-fork"][..])] {
        let took = four_long_jobs(redis, extra);
        println!("| {label} | {:.2} s |", took.as_secs_f64());
    }
}

fn four_long_jobs(redis: &TestRedis, extra: &[&str]) -> Duration {
    let dir = std::env::temp_dir().join(format!("resque-bench-hol-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let out = dir.join("done");
    let _ = std::fs::remove_file(&out);
    let out_text = out.to_string_lossy().into_owned();
    let push = |jobs: &[(u64, &str)]| {
        let payloads: Vec<String> = jobs
            .iter()
            .map(|(ms, o)| format!(r#"{{"class":"Sleeper","args":[{ms},{}]}}"#, serde_json_string(o)))
            .collect();
        let _: () =
            redis::cmd("RPUSH").arg("resque:queue:long").arg(payloads).query(&mut redis.conn()).unwrap_or(());
    };
    let mut workers: Vec<Child> = (0..4).map(|_| spawn_worker(redis, "long", "5", extra)).collect();
    super::wait(|| redis.client().workers().map(|w| w.len() >= 4).unwrap_or(false));
    // Short jobs first, then wait until they are done: each worker has run
    // short jobs and would take jobs ahead.
    let warm = dir.join("warm").to_string_lossy().into_owned();
    let _ = std::fs::remove_file(&warm);
    push(&[(0, warm.as_str()); 40]);
    super::wait(|| count_lines(std::path::Path::new(&warm)) == 40);
    let started = Instant::now();
    push(&[(JOB.as_millis() as u64, out_text.as_str()); 4]);
    super::wait(|| count_lines(&out) == 4);
    let took = started.elapsed();
    for w in &mut workers {
        let _ = kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT);
    }
    for w in &mut workers {
        let _ = w.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    took
}

fn serde_json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
