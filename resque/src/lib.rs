//! Redis-backed background jobs, compatible byte for byte with Ruby Resque.
//!
//! Define a job with one attribute, enqueue it, and run a worker that forks a
//! child per job:
//!
//! ```no_run
//! #[resque::job(queue = "file_serve")]
//! fn archive(repo_id: u64, branch: String) -> Result<(), std::io::Error> {
//!     println!("archiving {repo_id} at {branch}");
//!     Ok(())
//! }
//!
//! fn main() -> Result<(), resque::Error> {
//!     // Pushes {"class":"Archive","args":[44,"masterbrew"]} to resque:queue:file_serve.
//!     archive::enqueue(44, "masterbrew")?;
//!     Ok(())
//! }
//! ```
//!
//! A worker is the `resque-cli` command line linked into a binary that also
//! links the crate defining the jobs: `fn main() -> ExitCode { resque_cli::main() }`.
//! Jobs are collected with `linkme`, so the binary must use that crate
//! (`use my_jobs as _;`) for its jobs to be found.
//!
//! Where things are:
//!
//! - [`Client`]: enqueue, dequeue, queues, workers, stats, pausing; the
//!   default client the generated `enqueue` functions use.
//! - [`Worker`] and [`WorkerOptions`]: the fork-per-job worker loop, for
//!   programs that run their own (most use `resque_cli::main()`).
//! - [`hooks`]: job hooks, plugins and worker hooks.
//! - [`failure`]: failure backends and the admin operations on failures.
//! - [`scheduler`]: the scheduler that promotes delayed jobs and runs
//!   recurring schedules, on resque-scheduler's keys.
//! - [`inline`](mod@inline): run jobs at enqueue time, for tests.
//! - [`keys`] and [`payload`]: the Redis key names and JSON shapes, shared
//!   with Ruby Resque (see `docs/PROTOCOL.md`).

mod backtrace;
pub mod client;
pub mod config;
mod error;
pub mod failure;
pub mod hooks;
pub mod inline;
pub use client::inspect;
pub mod job;
mod job_failure;
pub mod keys;
pub mod payload;
mod perform;
pub mod procline;
pub mod queues;
pub mod registry;
mod retries;
pub mod retry;
mod roster;
pub mod scheduler;
mod script;
mod signal_mask;
mod signal_pipe;
#[cfg(test)]
mod test_redis;
mod wake;
pub mod worker;
mod worker_id;

pub use client::{
    default_client, set_default_client, Client, DueAt, Info, QueuedNow, RedisAddress, WorkerStats,
};
pub use error::{Error, Result};
pub use failure::{FailureBackend, LogFailures, MultipleFailures, RedisFailures, RedisMultiQueueFailures};
pub use inline::{inline, set_inline};
pub use job::{Job, JobFailure};
pub use registry::{JobEntry, JobSchedule, Registry};
pub use retries::{PendingRetry, RetryCancelled};
pub use signal_pipe::SignalPipe;
pub use worker::{FailureDestination, Worker, WorkerOptions};
pub use worker_id::WorkerId;

/// The time library `resque` speaks: `archive::enqueue_at` and
/// [`Client::enqueue_at`] take a [`jiff::Timestamp`] (or a `SystemTime`),
/// and this is the version they take.
pub use jiff;

/// Turns a plain function into a job: see the crate docs and `README.md`.
///
/// ```
/// #[resque::job(queue = "file_serve", class = "Admin::Archive")]
/// pub fn archive(repo_id: u64, branch: String) {}
///
/// assert_eq!(archive::CLASS, "Admin::Archive");
/// assert_eq!(archive::QUEUE, "file_serve");
/// archive(44, "masterbrew".into()); // still callable as written
/// ```
///
/// # Retries
///
/// `retry(...)` gives the job a [`retry::RetryPolicy`], built in a `const`
/// and checked at compile time (resque-retry's rules; see [`retry`]):
///
/// | key | meaning |
/// | --- | --- |
/// | `limit = 5` | at most 5 retries after the first run (default 1) |
/// | `forever` | no limit |
/// | `delay = "30s"` | the same delay before every retry (default `"0s"`, at once) |
/// | `backoff = ["0s", "1m", "10m"]` | one delay per retry, the last repeating; the limit is their number unless `limit` is given |
/// | `exponential` | Sidekiq's curve, `count⁴ + 15 + rand(10) × (count + 1)` seconds, 25 retries unless `limit` is given |
/// | `jitter = 0.2` | each delay times a random factor in `1 ± jitter` (0 to 1) |
/// | `on = [...]` | retry only these: exception names in quotes, or error types |
/// | `never_on = [...]` | never retry these (not with `on`) |
/// | `retry_with = decide` | `fn(&JobFailure, u32) -> RetryDecision` decides alone (none of the keys above with it) |
/// | `expire_key_after = "1h"` | how long the attempt counter outlives the next delay (default 1h) |
/// | `identifier = by_user` | `fn(&[Value]) -> Option<String>` names the counter instead of the args' SHA-1 |
///
/// Durations are written as for `timeout` (`"500ms"`, `"30s"`, `"1h30m"`),
/// zero allowed; `delay` goes with neither `backoff` nor `exponential`.
/// `retry` alone is resque-retry's default, one retry at once. The policy
/// is the job module's `RETRY` and its [`JobEntry::retry`]:
///
/// ```
/// use std::time::Duration;
/// use resque::retry::{Backoff, RetryDecision};
/// use resque::JobFailure;
///
/// #[resque::job(queue = "web_hooks", retry(limit = 5, delay = "30s", never_on = ["ArgumentError"]))]
/// fn deliver(url: String) -> Result<(), std::io::Error> {
///     let _ = url;
///     Ok(())
/// }
///
/// #[resque::job(queue = "mail", retry(backoff = ["0s", "1m", "10m", "1h"], jitter = 0.1, on = [std::io::Error]))]
/// fn send_mail(to: String) -> Result<(), std::io::Error> {
///     let _ = to;
///     Ok(())
/// }
///
/// #[resque::job(queue = "sync", retry(exponential, limit = 10, expire_key_after = "2h"))]
/// fn sync_account(id: u64) {
///     let _ = id;
/// }
///
/// # fn main() {
/// let policy = deliver::RETRY.unwrap();
/// let timeout = JobFailure::new("Net::ReadTimeout", "no answer");
/// assert_eq!(policy.decide(&timeout, 1), RetryDecision::Retry(Duration::from_secs(30)));
/// assert_eq!(policy.decide(&timeout, 6), RetryDecision::GiveUp); // after 5 retries
/// assert_eq!(policy.decide(&JobFailure::new("ArgumentError", "bad url"), 1), RetryDecision::GiveUp);
///
/// let mail = send_mail::RETRY.unwrap();
/// assert_eq!(mail.retry_limit(), Some(4));
/// let io = JobFailure::from_error(&std::io::Error::other("refused"));
/// assert!(matches!(mail.decide(&io, 2), RetryDecision::Retry(d) if d >= Duration::from_secs(54)));
/// assert_eq!(mail.decide(&timeout, 1), RetryDecision::GiveUp); // not an io::Error
///
/// let sync = sync_account::RETRY.unwrap();
/// assert_eq!((sync.retry_limit(), sync.backoff_kind()), (Some(10), Backoff::Exponential));
/// # }
/// ```
///
/// A decision of its own, and a counter per user rather than per args:
///
/// ```
/// use std::time::Duration;
/// use resque::retry::RetryDecision;
/// use resque::JobFailure;
/// use serde_json::Value;
///
/// fn when_busy(failure: &JobFailure, attempt: u32) -> RetryDecision {
///     if failure.error.contains("busy") && attempt <= 3 {
///         RetryDecision::Retry(Duration::from_secs(10 * u64::from(attempt)))
///     } else {
///         RetryDecision::GiveUp
///     }
/// }
///
/// fn by_user(args: &[Value]) -> Option<String> {
///     args.first().map(Value::to_string)
/// }
///
/// #[resque::job(queue = "reports", retry(retry_with = when_busy, identifier = by_user))]
/// fn report(user_id: u64, month: String) {
///     let _ = (user_id, month);
/// }
///
/// # fn main() {
/// let policy = report::RETRY.unwrap();
/// let busy = JobFailure::new("Db::Busy", "busy, try later");
/// assert_eq!(policy.decide(&busy, 2), RetryDecision::Retry(Duration::from_secs(20)));
/// assert_eq!(policy.decide(&busy, 4), RetryDecision::GiveUp);
/// assert_eq!(policy.identifier_of(&[44.into(), "2026-11".into()]), Some("44".to_owned()));
/// # }
/// ```
///
/// Without `retry(...)`, a job takes the policy of the first of its
/// `plugins(...)` whose [`hooks::Plugin::RETRY`] is `Some`; its own
/// `retry(...)` wins over them:
///
/// ```
/// use std::time::Duration;
/// use resque::hooks::Plugin;
/// use resque::retry::RetryPolicy;
///
/// pub struct Patient;
/// impl Plugin for Patient {
///     const RETRY: Option<RetryPolicy> = Some(RetryPolicy::new().limit(3).delay(Duration::from_secs(60)));
/// }
///
/// #[resque::job(queue = "q", plugins(Patient))]
/// fn import(path: String) { let _ = path; }
///
/// #[resque::job(queue = "q", plugins(Patient), retry(limit = 0))]
/// fn once(path: String) { let _ = path; }
///
/// # fn main() {
/// assert_eq!(import::RETRY.unwrap().retry_limit(), Some(3));
/// assert_eq!(once::RETRY.unwrap().retry_limit(), Some(0));
/// # }
/// ```
pub use resque_macros::job;

/// Registers a function as a worker hook, run at the named event:
/// `before_first_fork`, `before_fork`, `after_fork`, `queue_empty`,
/// `shutdown`, `worker_exit`, `before_pause` or `after_pause` (see
/// [`hooks::WorkerHook`]). The function must be a `fn(&WorkerContext<'_>)`.
///
/// ```
/// #[resque::hook(after_fork)]
/// fn reconnect(ctx: &resque::hooks::WorkerContext<'_>) { let _ = ctx.worker_id; }
/// ```
pub use resque_macros::hook;

/// What code generated by `#[resque::job]` names. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::client::{default_client, Client, DueAt};
    pub use crate::error::Error;
    pub use crate::hooks::{
        HookStop, JobContext, JobHooks, Perform, Plugin, WorkerContext, WorkerHook, WorkerHookEntry,
        WORKER_HOOKS,
    };
    pub use crate::job::{decode_args, IntoJobResult, Job, JobFailure};
    pub use crate::payload::{encode_args, EncodeError};
    pub use crate::registry::{JobEntry, JobSchedule, JOBS};
    pub use crate::retry::{ExceptionMatch, RetryDecision, RetryPolicy};
    pub use linkme;
    pub use serde;
    pub use serde_json;
    pub use serde_json::Value;
}
