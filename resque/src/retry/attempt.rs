//! Counting attempts: resque-retry's `before_perform_retry` (`SETNX -1`,
//! `INCR`, `EXPIRE` on the job's counter), and the attempt number a running
//! job reads.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::{Backoff, RetryPolicy};
use crate::client::Client;
use crate::error::Result;

static CURRENT: AtomicU32 = AtomicU32::new(1);

/// The number of the run in progress, 1 for the first: a job with a retry
/// policy reads which attempt it is (2 on its first retry); 1 for any job
/// without one, and outside a worker.
///
/// ```
/// #[resque::job(queue = "web_hooks", retry(limit = 3))]
/// fn deliver(url: String) -> Result<(), String> {
///     if resque::retry::current_attempt() > 1 {
///         println!("retrying {url}");
///     }
///     Ok(())
/// }
/// # fn main() { assert_eq!(resque::retry::current_attempt(), 1); }
/// ```
pub fn current_attempt() -> u32 {
    CURRENT.load(Ordering::Relaxed)
}

/// Sets what [`current_attempt`] says (the worker, before a run).
pub(crate) fn set_current_attempt(attempt: u32) {
    CURRENT.store(attempt.max(1), Ordering::Relaxed);
}

/// A run of a job with a retry policy: its attempt number and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    /// The number of this run, 1 for the first (Ruby's `retry_attempt` + 1).
    pub(crate) number: u32,
    /// `resque-retry:<class>:<identifier>`.
    pub(crate) counter: String,
    /// `failure-resque-retry:<class>:<identifier>`.
    pub(crate) failure_key: String,
}

impl Attempt {
    /// Counts a run that starts now: `SET counter -1 NX`, `INCR`, `EXPIRE`
    /// in one transaction, as resque-retry's `before_perform_retry` does.
    pub(crate) fn begin(
        client: &Client,
        class: &str,
        policy: &RetryPolicy,
        args: &[Value],
    ) -> Result<Attempt> {
        let identifier = policy.identifier_of(args);
        let keys = client.keys();
        let counter = keys.retry_counter(class, identifier.as_deref());
        let failure_key = keys.retry_failure(class, identifier.as_deref());
        let ttl = longest_delay(policy) + policy.expire_key_after;
        let (count,): (i64,) = client.with_conn(|c| {
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&counter)
                .arg(-1)
                .arg("NX")
                .ignore()
                .incr(&counter, 1)
                .expire(&counter, ttl.as_secs().max(1) as i64)
                .ignore()
                .query(c)
        })?;
        let number = u32::try_from(count.saturating_add(1)).unwrap_or(u32::MAX).max(1);
        Ok(Attempt { number, counter, failure_key })
    }
}

/// The longest delay a policy declares before a retry (what the counter
/// must outlive until the retry runs); the step refreshes the expiry with
/// the delay it chose.
fn longest_delay(policy: &RetryPolicy) -> Duration {
    match policy.backoff {
        Backoff::Fixed(delay) => delay,
        Backoff::Steps(delays) => delays.iter().max().copied().unwrap_or_default(),
        Backoff::Exponential => {
            let count = policy.limit.unwrap_or(25).saturating_sub(1);
            super::decide::base_delay(Backoff::Exponential, count)
                + Duration::from_secs(10 * (u64::from(count) + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_redis::TestRedis;
    use serde_json::json;

    #[test]
    fn runs_are_counted_at_resque_retrys_key_with_an_expiry() {
        let (mut redis, client) = TestRedis::start_with_client();
        let policy = RetryPolicy::new()
            .limit(3)
            .delay(Duration::from_secs(30))
            .expire_key_after(Duration::from_secs(60));
        let args = [json!(44), json!("masterbrew")];
        let first = Attempt::begin(&client, "Archive", &policy, &args).unwrap();
        assert_eq!(first.number, 1);
        assert_eq!(first.counter, "resque:resque-retry:Archive:1315dd4143fb7d7abe77328729da673b8bfa3313");
        assert_eq!(
            first.failure_key,
            "resque:failure-resque-retry:Archive:1315dd4143fb7d7abe77328729da673b8bfa3313"
        );
        // Ruby's counter: -1 set, then INCR: 0 on the first run
        assert_eq!(redis.text(&first.counter).as_deref(), Some("0"));
        let ttl: i64 = redis.query(redis::cmd("TTL").arg(&first.counter));
        assert!((85..=90).contains(&ttl), "ttl {ttl}");
        assert_eq!(Attempt::begin(&client, "Archive", &policy, &args).unwrap().number, 2);
        // a counter Ruby left (retry_attempt 4) goes on from there
        redis.exec(&["SET", "resque:resque-retry:Other", "4"]);
        assert_eq!(Attempt::begin(&client, "Other", &policy, &[]).unwrap().number, 6);
    }
}
