//! Automatic retries: a job's retry policy, declared with
//! `#[resque::job(retry(...))]` or carried by a plugin, and the decision it
//! makes when a run fails, on resque-retry's keys (see `docs/PROTOCOL.md`).
//!
//! ```
//! #[resque::job(queue = "web_hooks", retry(limit = 5, delay = "30s"))]
//! fn deliver(url: String) -> Result<(), std::io::Error> {
//!     let _ = (url, resque::retry::current_attempt());
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! A run that fails (an `Err`, a panic, a child that crashed, a job that ran
//! out of time, a job recovered from a dead worker) counts as an attempt;
//! while attempts remain, the job is pushed again (at once for a zero
//! delay, else as a delayed job that the scheduler promotes when due) and
//! its failure is kept at `failure-resque-retry:<...>` instead of the
//! `failed` list; the failure of the last attempt lands in `failed`, with
//! the number of attempts.
//!
//! The attempt counter lives at `resque-retry:<class>:<identifier>` (see
//! [`crate::payload::retry_identifier`]), shared with Ruby's resque-retry:
//! `SETNX -1` then `INCR` before each run, deleted when the job succeeds or
//! gives up, and given an expiry so that a counter never outlives its job.

mod attempt;
mod decide;
mod pending;

use std::time::Duration;

use serde_json::Value;

use crate::job_failure::JobFailure;

pub use attempt::current_attempt;
pub(crate) use attempt::{set_current_attempt, Attempt};
pub use pending::{PendingRetry, RetryCancelled, RETRY_CANCELLED};

/// What a policy decided for a failed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Run the job again after this delay (zero: push it at once).
    Retry(Duration),
    /// Do not retry: the failure lands in `failed`.
    GiveUp,
}

/// The delay before each retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backoff {
    /// The same delay before every retry (resque-retry's `@retry_delay`).
    Fixed(Duration),
    /// The n-th retry waits the n-th delay, the last one repeating
    /// (resque-retry's `ExponentialBackoff` `@backoff_strategy`).
    Steps(&'static [Duration]),
    /// Sidekiq's curve: `count⁴ + 15 + rand(10) × (count + 1)` seconds
    /// before retry `count + 1`.
    Exponential,
}

/// An exception name a policy matches against a failure's `exception`.
#[derive(Debug, Clone, Copy)]
pub enum ExceptionMatch {
    /// A name as written: matches the exception exactly or as its last
    /// `::` segments (`"JobTimeout"` matches `Resque::JobTimeout`).
    Name(&'static str),
    /// A Rust error type: matches the exception name a job's `Err` of that
    /// type gets (its `std::any::type_name`).
    Type(fn() -> &'static str),
}

impl ExceptionMatch {
    /// Whether `exception` (a failure's exception name) matches.
    ///
    /// ```
    /// use resque::retry::ExceptionMatch;
    /// assert!(ExceptionMatch::Name("JobTimeout").matches("Resque::JobTimeout"));
    /// assert!(ExceptionMatch::Name("Resque::DirtyExit").matches("Resque::DirtyExit"));
    /// assert!(!ExceptionMatch::Name("Exit").matches("Resque::DirtyExit"));
    /// assert!(ExceptionMatch::Type(std::any::type_name::<std::fmt::Error>).matches("core::fmt::Error"));
    /// ```
    pub fn matches(&self, exception: &str) -> bool {
        match self {
            ExceptionMatch::Name(name) => {
                exception == *name || exception.strip_suffix(name).is_some_and(|head| head.ends_with("::"))
            }
            ExceptionMatch::Type(name) => exception == name(),
        }
    }
}

/// A job's retry policy. Built in a `const` (the macro builds one from
/// `retry(...)`; a plugin names one as its [`crate::hooks::Plugin::RETRY`]):
///
/// ```
/// use std::time::Duration;
/// use resque::retry::{RetryDecision, RetryPolicy};
/// const POLICY: RetryPolicy = RetryPolicy::new().limit(2).delay(Duration::from_secs(30));
/// let failure = resque::JobFailure::new("Net::Timeout", "no answer");
/// assert_eq!(POLICY.decide(&failure, 1), RetryDecision::Retry(Duration::from_secs(30)));
/// assert_eq!(POLICY.decide(&failure, 3), RetryDecision::GiveUp);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    limit: Option<u32>,
    backoff: Backoff,
    jitter: f64,
    on: &'static [ExceptionMatch],
    never_on: &'static [ExceptionMatch],
    custom: Option<fn(&JobFailure, u32) -> RetryDecision>,
    expire_key_after: Duration,
    identifier: Option<fn(&[Value]) -> Option<String>>,
}

/// How long a counter outlives the delay of its next retry unless a policy
/// says otherwise (resque-retry's `@expire_retry_key_after`).
pub const DEFAULT_EXPIRE_KEY_AFTER: Duration = Duration::from_secs(3600);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// resque-retry's defaults: one retry, at once, for any failure.
    pub const fn new() -> Self {
        RetryPolicy {
            limit: Some(1),
            backoff: Backoff::Fixed(Duration::ZERO),
            jitter: 0.0,
            on: &[],
            never_on: &[],
            custom: None,
            expire_key_after: DEFAULT_EXPIRE_KEY_AFTER,
            identifier: None,
        }
    }

    /// At most `retries` retries after the first run (0: never retry).
    pub const fn limit(mut self, retries: u32) -> Self {
        self.limit = Some(retries);
        self
    }

    /// Retries without a limit (resque-retry's `@retry_limit = -1`).
    pub const fn forever(mut self) -> Self {
        self.limit = None;
        self
    }

    /// The same delay before every retry.
    pub const fn delay(mut self, delay: Duration) -> Self {
        self.backoff = Backoff::Fixed(delay);
        self
    }

    /// The n-th retry waits `delays[n - 1]`, the last one repeating; the
    /// limit becomes the number of delays (call [`RetryPolicy::limit`]
    /// after this to change it).
    pub const fn backoff(mut self, delays: &'static [Duration]) -> Self {
        self.backoff = Backoff::Steps(delays);
        self.limit = Some(delays.len() as u32);
        self
    }

    /// Sidekiq's exponential curve, 25 retries (over about three weeks).
    pub const fn exponential(mut self) -> Self {
        self.backoff = Backoff::Exponential;
        self.limit = Some(25);
        self
    }

    /// Each delay multiplied by a random factor in `1 ± jitter` (0 to 1),
    /// so that jobs that failed together do not retry together.
    pub const fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Retry only failures whose exception matches one of these.
    pub const fn on(mut self, exceptions: &'static [ExceptionMatch]) -> Self {
        self.on = exceptions;
        self
    }

    /// Never retry failures whose exception matches one of these.
    pub const fn never_on(mut self, exceptions: &'static [ExceptionMatch]) -> Self {
        self.never_on = exceptions;
        self
    }

    /// Full control: `decide(failure, attempt)` says whether and when to
    /// retry, `attempt` being the number of the run that failed (1 for the
    /// first). The limit, the delays and the exception lists are not used.
    pub const fn retry_with(mut self, decide: fn(&JobFailure, u32) -> RetryDecision) -> Self {
        self.custom = Some(decide);
        self
    }

    /// How long the attempt counter outlives the delay of the next retry
    /// (refreshed before every run), so that one whose job vanished does
    /// not stay forever.
    pub const fn expire_key_after(mut self, after: Duration) -> Self {
        self.expire_key_after = after;
        self
    }

    /// Names the counter with `identifier(args)` instead of the SHA-1 of
    /// the joined args (resque-retry's `retry_identifier` override);
    /// `None` leaves the identifier part out.
    pub const fn identifier(mut self, identifier: fn(&[Value]) -> Option<String>) -> Self {
        self.identifier = Some(identifier);
        self
    }

    /// How many retries it allows after the first run (`None`: no limit,
    /// or a custom decision).
    pub const fn retry_limit(&self) -> Option<u32> {
        if self.custom.is_some() {
            None
        } else {
            self.limit
        }
    }

    /// The delays, as declared.
    pub const fn backoff_kind(&self) -> Backoff {
        self.backoff
    }

    /// The counter's identifier for a job's args.
    pub fn identifier_of(&self, args: &[Value]) -> Option<String> {
        match self.identifier {
            Some(identifier) => identifier(args),
            None => crate::payload::retry_identifier(args),
        }
    }

    /// The expiry to give a counter before run `attempt` (1 for the
    /// first): the delay that would follow it, plus `expire_key_after`.
    pub(crate) fn counter_ttl(&self, attempt: u32) -> Duration {
        decide::base_delay(self.backoff, attempt.saturating_sub(1)) + self.expire_key_after
    }
}
