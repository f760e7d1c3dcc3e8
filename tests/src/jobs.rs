//! The jobs the test worker binary runs. Each leaves a trace a test can read.

use std::fmt;
use std::io::Write;

fn append(path: &str, line: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open output file");
    // One write per line: O_APPEND keeps concurrent writers' lines whole.
    f.write_all(format!("{line}\n").as_bytes()).expect("write output file");
}

/// The example job: records its arguments.
#[resque::job(queue = "file_serve")]
pub fn archive(repo_id: u64, branch: String) {
    if let Ok(path) = std::env::var("TEST_OUT") {
        append(&path, &format!("archive {repo_id} {branch}"));
    }
}

/// Appends `line` to the file at `path`, with this process's pid.
#[resque::job(queue = "record")]
pub fn record(path: String, line: String) {
    append(&path, &format!("{line} pid={}", std::process::id()));
}

/// Sleeps, then appends `line` to `path`.
#[resque::job(queue = "slow")]
pub fn slow_record(path: String, millis: u64, line: String) {
    append(&path, &format!("start {line}"));
    std::thread::sleep(std::time::Duration::from_millis(millis));
    append(&path, &format!("done {line}"));
}

/// Writes this process's title (its command line) to `path`, then sleeps.
#[resque::job(queue = "record")]
pub fn report_title(path: String, millis: u64) {
    let title = std::fs::read("/proc/self/cmdline").unwrap_or_default();
    let title = String::from_utf8_lossy(&title).replace('\0', " ");
    append(&path, title.trim());
    std::thread::sleep(std::time::Duration::from_millis(millis));
}

/// The error `fail` returns.
#[derive(Debug)]
pub struct TestError(pub String);

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed on purpose: {}", self.0)
    }
}

/// Returns an error.
#[resque::job(queue = "failing", class = "Test::Fail")]
pub fn fail(message: String) -> Result<(), TestError> {
    Err(TestError(message))
}

/// Panics.
#[resque::job(queue = "failing")]
pub fn panicking(message: String) {
    panic!("{message}");
}

/// Aborts the process (a signal, as a crash would).
#[resque::job(queue = "failing")]
pub fn abort_job() {
    std::process::abort();
}

/// Exits the process with a status.
#[resque::job(queue = "failing")]
pub fn exit_with(code: i32) {
    std::process::exit(code);
}

/// Ignores TERM, appends `start <line>`, sleeps, appends `done <line>`: only
/// KILL stops it early.
#[resque::job(queue = "slow")]
pub fn stubborn(path: String, millis: u64, line: String) {
    #[allow(unsafe_code)]
    // SAFETY: single-threaded child process; SIG_IGN runs no code.
    let _ = unsafe {
        nix::sys::signal::signal(nix::sys::signal::Signal::SIGTERM, nix::sys::signal::SigHandler::SigIgn)
    };
    slow_record(path, millis, line);
}

/// Appends `id` to the file at `path` (the chaos test's job).
#[resque::job(queue = "chaos")]
pub fn append_id(path: String, id: u64) {
    append(&path, &id.to_string());
}

/// Sleeps past its own time limit.
#[resque::job(queue = "slow", timeout = "500ms")]
pub fn overrun(millis: u64) {
    std::thread::sleep(std::time::Duration::from_millis(millis));
}
