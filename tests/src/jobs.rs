//! The jobs the test worker binary runs. Each leaves a trace a test can read.

use std::fmt;
use std::io::Write;

fn append(path: &str, line: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open output file");
    // One write per line: O_APPEND keeps concurrent writers' lines whole.
    f.write_all(format!("{line}\n").as_bytes()).expect("write output file");
}

/// A job with a recurring schedule declared on it: once a year, so no test
/// run fires it; the tests read the schedule the scheduler builds from it.
#[resque::job(queue = "yearly", cron = "0 0 1 1 * UTC", args = ("new year",))]
pub fn yearly(line: String) {
    let _ = line;
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

/// Appends `<name>=<value>` of the environment variable `name` to `path`
/// (`<name> unset` when there is none), as `std::env::var` reads it.
#[resque::job(queue = "record")]
pub fn report_env(path: String, name: String) {
    match std::env::var(&name) {
        Ok(value) => append(&path, &format!("{name}={value}")),
        Err(_) => append(&path, &format!("{name} unset")),
    }
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

/// Panics `depth` calls deep: a backtrace longer than a failure entry keeps.
#[resque::job(queue = "failing")]
pub fn deep_panic(depth: u32) {
    descend(depth);
}

#[inline(never)]
fn descend(depth: u32) {
    if depth == 0 {
        panic!("deep down");
    }
    descend(depth - 1);
    // Not a tail call: each level keeps its frame.
    std::hint::black_box(depth);
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

/// Appends when it was pushed (`pushed`, unix microseconds, written by the
/// producer) and when it started, for measuring pick-up latency.
#[resque::job(queue = "stamp", class = "Stamp")]
pub fn stamp(path: String, pushed: u64) {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    append(&path, &format!("{pushed} {started}"));
}

/// Sleeps past its own time limit.
#[resque::job(queue = "slow", timeout = "500ms")]
pub fn overrun(millis: u64) {
    std::thread::sleep(std::time::Duration::from_millis(millis));
}

use resque::hooks::{HookStop, JobContext, Perform, Plugin, WorkerContext};

/// Appends a hook's note to the file named by the job's first argument.
fn note(job: &JobContext<'_>, what: &str) {
    if let Some(path) = job.args.first().and_then(|p| p.as_str()) {
        append(path, what);
    }
}

fn mode<'a>(job: &'a JobContext<'_>) -> &'a str {
    job.args.get(1).and_then(|m| m.as_str()).unwrap_or("")
}

fn note_before_enqueue(job: &JobContext<'_>) -> bool {
    note(job, "job:before_enqueue");
    mode(job) != "veto"
}

fn note_after_enqueue(job: &JobContext<'_>) {
    note(job, "job:after_enqueue");
}

fn note_before_dequeue(job: &JobContext<'_>) -> bool {
    note(job, "job:before_dequeue");
    mode(job) != "keep"
}

fn note_after_dequeue(job: &JobContext<'_>) {
    note(job, "job:after_dequeue");
}

fn note_before_perform(job: &JobContext<'_>) -> Result<(), HookStop> {
    note(job, "job:before_perform");
    if mode(job) == "skip" {
        return Err(HookStop::DontPerform);
    }
    Ok(())
}

fn note_around(job: &JobContext<'_>, perform: Perform<'_>) -> Result<(), resque::JobFailure> {
    note(job, "job:around:before");
    if mode(job) == "around-skip" {
        note(job, "job:around:skipped");
        return Ok(());
    }
    let result = perform();
    note(job, "job:around:after");
    result
}

fn note_after_perform(job: &JobContext<'_>) {
    note(job, "job:after_perform");
}

fn note_on_failure(failure: &resque::JobFailure, job: &JobContext<'_>) {
    note(job, &format!("job:on_failure:{} pid={}", failure.exception, std::process::id()));
}

/// A plugin that notes the perform hooks it sees.
pub struct Recorder;

impl Plugin for Recorder {
    fn before_perform(job: &JobContext<'_>) -> Result<(), HookStop> {
        note(job, "plugin:before_perform");
        Ok(())
    }

    fn around_perform(job: &JobContext<'_>, perform: Perform<'_>) -> Result<(), resque::JobFailure> {
        note(job, "plugin:around:before");
        let result = perform();
        note(job, "plugin:around:after");
        result
    }

    fn after_perform(job: &JobContext<'_>) {
        note(job, "plugin:after_perform");
    }

    fn on_failure(failure: &resque::JobFailure, job: &JobContext<'_>) {
        note(job, &format!("plugin:on_failure:{}", failure.exception));
    }
}

/// A job with a hook of every kind and a plugin; `mode` picks what it does:
/// `ok`, `fail`, `crash` (abort), `sleep` (10 minutes), `skip` (a hook
/// skips it), `around-skip` (the around hook does not run it), `veto` (a
/// hook cancels the enqueue), `keep` (a hook cancels the dequeue).
#[resque::job(
    queue = "hooks",
    before_enqueue = note_before_enqueue,
    after_enqueue = note_after_enqueue,
    before_dequeue = note_before_dequeue,
    after_dequeue = note_after_dequeue,
    before_perform = note_before_perform,
    around_perform = note_around,
    after_perform = note_after_perform,
    on_failure = note_on_failure,
    plugins(Recorder)
)]
pub fn hooked(path: String, mode: String) -> Result<(), TestError> {
    append(&path, &format!("perform pid={}", std::process::id()));
    match mode.as_str() {
        "fail" => Err(TestError("in a hooked job".into())),
        "crash" => std::process::abort(),
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(600));
            Ok(())
        }
        _ => Ok(()),
    }
}

fn note_worker(ctx: &WorkerContext<'_>, event: &str) {
    if let Ok(path) = std::env::var("TEST_WORKER_HOOKS") {
        let job = ctx.job.map(|j| format!(" job={}", j.class)).unwrap_or_default();
        append(&path, &format!("{event} pid={}{job}", std::process::id()));
    }
}

#[resque::hook(before_first_fork)]
fn on_before_first_fork(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "before_first_fork");
}

#[resque::hook(before_fork)]
fn on_before_fork(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "before_fork");
}

#[resque::hook(after_fork)]
fn on_after_fork(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "after_fork");
}

#[resque::hook(queue_empty)]
fn on_queue_empty(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "queue_empty");
}

#[resque::hook(shutdown)]
fn on_shutdown(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "shutdown");
}

#[resque::hook(worker_exit)]
fn on_worker_exit(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "worker_exit");
}

#[resque::hook(before_pause)]
fn on_before_pause(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "before_pause");
}

#[resque::hook(after_pause)]
fn on_after_pause(ctx: &WorkerContext<'_>) {
    note_worker(ctx, "after_pause");
}

/// Records its floats as Rust spells them (`{:?}`, shortest round-trip), so
/// that a test sees the exact values that arrived.
#[resque::job(queue = "numbers")]
pub fn floats(a: f64, b: f64, c: f64, d: f64) {
    if let Ok(path) = std::env::var("TEST_OUT") {
        append(&path, &format!("floats {a:?} {b:?} {c:?} {d:?}"));
    }
}

/// Records a number (any JSON value) as it reached the job.
#[resque::job(queue = "numbers")]
pub fn amount(amount: serde_json::Value) {
    if let Ok(path) = std::env::var("TEST_OUT") {
        append(&path, &format!("amount {amount}"));
    }
}

/// Records a float parameter as it reached the job.
#[resque::job(queue = "numbers")]
pub fn ratio(ratio: f64) {
    if let Ok(path) = std::env::var("TEST_OUT") {
        append(&path, &format!("ratio {ratio:?}"));
    }
}

/// Appends `start <line> <pid> <parent pid>` (a forked child's parent is
/// its worker), sleeps, appends `done <line>`.
#[resque::job(queue = "long")]
pub fn long_on(path: String, millis: u64, line: String) {
    let parent = nix::unistd::getppid().as_raw();
    append(&path, &format!("start {line} {} {parent}", std::process::id()));
    std::thread::sleep(std::time::Duration::from_millis(millis));
    append(&path, &format!("done {line}"));
}

/// On its first run (no file at `marker`), creates `marker` and stops its
/// own process with SIGSTOP, as a debugger or a stalled machine would; on
/// later runs appends `stopped before` to `path`.
#[resque::job(queue = "slow")]
pub fn stop_once(path: String, marker: String) {
    if std::fs::OpenOptions::new().write(true).create_new(true).open(&marker).is_ok() {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    } else {
        append(&path, "stopped before");
    }
}
