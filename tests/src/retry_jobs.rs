//! Jobs with retry policies, for the retry tests. Each appends
//! `<name> <key> run <attempt> <unix ms>` to the file `TEST_OUT` names when
//! it starts, so a test counts runs and reads their times.

use std::fmt;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use resque::retry::{RetryDecision, RetryPolicy};

fn note(name: &str, key: &str) -> u32 {
    let path = std::env::var("TEST_OUT").unwrap_or_else(|_| "/dev/null".into());
    let attempt = resque::retry::current_attempt();
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("open output file");
    f.write_all(format!("{name} {key} run {attempt} {ms}\n").as_bytes()).expect("write output file");
    attempt
}

/// The error the retry jobs return.
#[derive(Debug)]
pub struct Flake(pub u32);

impl fmt::Display for Flake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run {} failed on purpose", self.0)
    }
}

/// An error a policy never retries.
#[derive(Debug)]
pub struct Hopeless;

impl fmt::Display for Hopeless {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no point in trying again")
    }
}

/// Fails its first `fails` runs, then succeeds; retried at once.
#[resque::job(queue = "retry", retry(limit = 3, delay = "0s"))]
pub fn flaky(key: String, fails: u32) -> Result<(), Flake> {
    let attempt = note("flaky", &key);
    if attempt <= fails {
        Err(Flake(attempt))
    } else {
        Ok(())
    }
}

/// Always fails; two retries, a second apart.
#[resque::job(queue = "retry", retry(limit = 2, delay = "1s"))]
pub fn doomed(key: String) -> Result<(), Flake> {
    Err(Flake(note("doomed", &key)))
}

/// Fails with an error its policy never retries.
#[resque::job(queue = "retry", retry(limit = 3, never_on = [Hopeless]))]
pub fn hopeless(key: String) -> Result<(), Hopeless> {
    note("hopeless", &key);
    Err(Hopeless)
}

/// Crashes (SIGABRT) on its first run, then succeeds.
#[resque::job(queue = "retry", retry(limit = 1, on = ["Resque::DirtyExit"]))]
pub fn crash_once(key: String) {
    if note("crash_once", &key) == 1 {
        std::process::abort();
    }
}

/// Runs past its time limit on its first run, then is quick.
#[resque::job(queue = "retry", timeout = "300ms", retry(limit = 1, on = ["JobTimeout"]))]
pub fn slow_once(key: String) {
    if note("slow_once", &key) == 1 {
        std::thread::sleep(Duration::from_secs(10));
    }
}

/// Sleeps long, its counter expiring two seconds after a run that never ends.
#[resque::job(queue = "retry", retry(limit = 1, expire_key_after = "2s"))]
pub fn hang(key: String) {
    note("hang", &key);
    std::thread::sleep(Duration::from_secs(60));
}

/// Sleeps long; one retry allowed.
#[resque::job(queue = "retry", retry(limit = 1))]
pub fn hang_counted(key: String) {
    note("hang_counted", &key);
    std::thread::sleep(Duration::from_secs(60));
}

/// Retries a failure whose message says so, up to its fourth run, at once.
fn only_transient(failure: &resque::JobFailure, attempt: u32) -> RetryDecision {
    if failure.error.contains("failed on purpose") && attempt < 4 {
        RetryDecision::Retry(Duration::ZERO)
    } else {
        RetryDecision::GiveUp
    }
}

/// Always fails; its own decision retries it three times.
#[resque::job(queue = "retry", retry(retry_with = only_transient))]
pub fn custom(key: String) -> Result<(), Flake> {
    Err(Flake(note("custom", &key)))
}

/// A plugin carrying a policy: one retry, at once.
pub struct RetryOnce;

impl resque::hooks::Plugin for RetryOnce {
    const RETRY: Option<RetryPolicy> = Some(RetryPolicy::new().limit(1));
}

/// Always fails; retried once through its plugin.
#[resque::job(queue = "retry", plugins(RetryOnce))]
pub fn plugged(key: String) -> Result<(), Flake> {
    Err(Flake(note("plugged", &key)))
}
