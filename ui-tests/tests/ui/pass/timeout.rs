//! `timeout = "..."` gives the job its own time limit, read at compile time.
#![deny(missing_docs, warnings)]

use std::time::Duration;

#[resque::job(queue = "file_serve", timeout = "1m30s")]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

#[resque::job(timeout = "500ms", class = "Ping", queue = "q")]
fn ping() {}

#[resque::job(queue = "q", timeout = "2h")]
fn reindex() {}

#[resque::job(queue = "q")]
fn no_limit() {}

// Usable in constant context.
const ARCHIVE_TIMEOUT: Option<Duration> = archive::TIMEOUT;

fn main() {
    assert_eq!(archive::TIMEOUT, Some(Duration::from_secs(90)));
    assert_eq!(ARCHIVE_TIMEOUT, Some(Duration::from_secs(90)));
    assert_eq!(ping::TIMEOUT, Some(Duration::from_millis(500)));
    assert_eq!(reindex::TIMEOUT, Some(Duration::from_secs(2 * 60 * 60)));
    assert_eq!(no_limit::TIMEOUT, None);

    let registry = resque::Registry::linked().unwrap();
    assert_eq!(registry.get("Archive").unwrap().timeout, Some(Duration::from_secs(90)));
    assert_eq!(registry.get("Ping").unwrap().timeout, Some(Duration::from_millis(500)));
    assert_eq!(registry.get("Reindex").unwrap().timeout, Some(Duration::from_secs(7200)));
    assert_eq!(registry.get("NoLimit").unwrap().timeout, None);
}
