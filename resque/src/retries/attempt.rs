//! Counting attempts: resque-retry's `before_perform_retry` (`SETNX -1`,
//! `INCR`, `EXPIRE` on the job's counter).

use serde_json::Value;

use crate::client::Client;
use crate::error::Result;
use crate::retry::RetryPolicy;

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
        let ttl = policy.longest_delay() + policy.counter_expiry();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_redis::TestRedis;
    use serde_json::json;
    use std::time::Duration;

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
