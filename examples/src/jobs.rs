//! The demo's jobs: plain functions with one attribute each.

use std::fmt;

/// Builds an archive of a repository at a branch (the README's example).
#[resque::job(queue = "file_serve")]
pub fn archive(repo_id: u64, branch: String) {
    println!("  [pid {}] archived repository {repo_id} at {branch}", std::process::id());
}

/// Warms a cache entry.
#[resque::job(queue = "warm_cache")]
pub fn warm_cache(key: String) {
    println!("  [pid {}] warmed cache entry {key:?}", std::process::id());
}

/// Why a web hook could not be delivered.
#[derive(Debug)]
pub struct HookError {
    url: String,
    status: u16,
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {}", self.url, self.status)
    }
}

/// Delivers a web hook; this one's endpoint is always down, so it fails.
#[resque::job(queue = "web_hooks", class = "Hooks::Deliver")]
pub fn deliver_hook(url: String, attempt: u32) -> Result<(), HookError> {
    println!("  [pid {}] delivering hook to {url} (attempt {attempt})", std::process::id());
    Err(HookError { url, status: 503 })
}

/// A repository whose methods run in the background (see `async_helper`).
#[derive(Debug)]
pub struct Repository {
    /// Its id.
    pub id: u64,
}

impl Repository {
    /// Queues a search re-index of this repository.
    pub fn reindex_later(&self, reason: &str) -> Result<(), resque::Error> {
        async_reindex_repository(self.id, reason)
    }
}

/// The background half of [`Repository::reindex_later`].
#[resque::job(queue = "search")]
pub fn reindex_repository(repo_id: u64, reason: String) {
    println!("  [pid {}] re-indexed repository {repo_id} ({reason})", std::process::id());
}
