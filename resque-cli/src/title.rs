//! The supervisor's process title, as `ps` shows it:
//! `[prefix]resque-supervisor-<version>: Supervising 3 workers (...)`. It does
//! not match `resque-[0-9]`, so Ruby's dead-worker pruning (and ours) never
//! takes the supervisor for a worker.

/// `resque-supervisor-<version>`.
pub(crate) const SUPERVISOR: &str = concat!("resque-supervisor-", env!("CARGO_PKG_VERSION"));

/// Sets the process title to `title` (the supervisor has read its arguments
/// before it first sets one).
pub(crate) fn set(title: &str) {
    resque::procline::set_title(title);
}
