//! The decision a policy makes for a failed run: resque-retry's rules
//! (`retry_limit_reached?`, `retry_exception?`, `retry_delay`), plus
//! jitter and Sidekiq's curve.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::{Backoff, RetryDecision, RetryPolicy};
use crate::job_failure::JobFailure;

impl RetryPolicy {
    /// Whether and when to retry after run `attempt` (1 for the first run)
    /// failed with `failure`.
    ///
    /// Past the limit (after `limit` retries) it gives up; a failure that
    /// matches `never_on`, or that `on` (when given) does not list, gives
    /// up at once; otherwise the delay of retry number `attempt`.
    pub fn decide(&self, failure: &JobFailure, attempt: u32) -> RetryDecision {
        if let Some(custom) = self.custom {
            return custom(failure, attempt);
        }
        let retries_so_far = attempt.saturating_sub(1);
        if self.limit.is_some_and(|limit| retries_so_far >= limit) {
            return RetryDecision::GiveUp;
        }
        if self.never_on.iter().any(|m| m.matches(&failure.exception)) {
            return RetryDecision::GiveUp;
        }
        if !self.on.is_empty() && !self.on.iter().any(|m| m.matches(&failure.exception)) {
            return RetryDecision::GiveUp;
        }
        let delay = base_delay(self.backoff, retries_so_far) + random_part(self.backoff, retries_so_far);
        RetryDecision::Retry(jittered(delay, self.jitter))
    }
}

/// The delay before retry `count + 1`, without its random parts.
pub(super) fn base_delay(backoff: Backoff, count: u32) -> Duration {
    match backoff {
        Backoff::Fixed(delay) => delay,
        Backoff::Steps(delays) => delays.get(count as usize).or(delays.last()).copied().unwrap_or_default(),
        // Sidekiq: (count ** 4) + 15 + (rand(10) * (count + 1))
        Backoff::Exponential => Duration::from_secs(u64::from(count).saturating_pow(4).saturating_add(15)),
    }
}

/// Sidekiq's `rand(10) * (count + 1)` for its curve; nothing otherwise.
fn random_part(backoff: Backoff, count: u32) -> Duration {
    match backoff {
        Backoff::Exponential => Duration::from_secs((random() % 10) * (u64::from(count) + 1)),
        _ => Duration::ZERO,
    }
}

/// `delay` times a random factor in `1 ± jitter`, in whole milliseconds.
fn jittered(delay: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 || delay.is_zero() {
        return delay;
    }
    let jitter = jitter.min(1.0);
    let unit = (random() % 1_000_001) as f64 / 1_000_000.0; // 0..=1
    let factor = 1.0 - jitter + 2.0 * jitter * unit;
    Duration::from_millis((delay.as_millis() as f64 * factor).round() as u64)
}

/// A random number (std's randomly keyed hasher over the time): enough to
/// spread retries, no cryptography.
fn random() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::ExceptionMatch;

    fn failure(exception: &str) -> JobFailure {
        JobFailure::new(exception, "it failed")
    }

    const SECS: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_limit_counts_retries_after_the_first_run() {
        // resque-retry: retry_limit_reached? is retry_attempt >= retry_limit, retry_attempt
        // being 0 on the first run.
        let policy = RetryPolicy::new().limit(2).delay(SECS(1));
        let f = failure("RuntimeError");
        assert_eq!(policy.decide(&f, 1), RetryDecision::Retry(SECS(1)));
        assert_eq!(policy.decide(&f, 2), RetryDecision::Retry(SECS(1)));
        assert_eq!(policy.decide(&f, 3), RetryDecision::GiveUp);
        assert_eq!(RetryPolicy::new().limit(0).decide(&f, 1), RetryDecision::GiveUp);
        // the default: one retry, at once
        assert_eq!(RetryPolicy::new().decide(&f, 1), RetryDecision::Retry(Duration::ZERO));
        assert_eq!(RetryPolicy::new().decide(&f, 2), RetryDecision::GiveUp);
        assert_eq!(RetryPolicy::new().forever().decide(&f, 1000), RetryDecision::Retry(Duration::ZERO));
    }

    #[test]
    fn backoff_steps_repeat_the_last_and_set_the_limit() {
        const STEPS: &[Duration] = &[Duration::ZERO, Duration::from_secs(60), Duration::from_secs(600)];
        let policy = RetryPolicy::new().backoff(STEPS);
        assert_eq!(policy.retry_limit(), Some(3));
        let f = failure("E");
        assert_eq!(policy.decide(&f, 1), RetryDecision::Retry(Duration::ZERO));
        assert_eq!(policy.decide(&f, 2), RetryDecision::Retry(SECS(60)));
        assert_eq!(policy.decide(&f, 3), RetryDecision::Retry(SECS(600)));
        assert_eq!(policy.decide(&f, 4), RetryDecision::GiveUp);
        assert_eq!(policy.limit(5).decide(&f, 5), RetryDecision::Retry(SECS(600)));
    }

    #[test]
    fn exponential_follows_sidekiqs_curve() {
        let policy = RetryPolicy::new().exponential();
        assert_eq!(policy.retry_limit(), Some(25));
        let f = failure("E");
        for (attempt, base) in [(1u32, 15u64), (2, 16), (3, 31), (5, 271), (25, 331_791)] {
            let count = u64::from(attempt - 1);
            let RetryDecision::Retry(delay) = policy.decide(&f, attempt) else {
                panic!("gave up at {attempt}")
            };
            let extra = delay.as_secs() - base;
            assert!(extra <= 9 * (count + 1) && extra % (count + 1) == 0, "attempt {attempt}: {delay:?}");
        }
        assert_eq!(policy.decide(&f, 26), RetryDecision::GiveUp);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let policy = RetryPolicy::new().forever().delay(SECS(100)).jitter(0.2);
        let delays: Vec<Duration> = (0..200)
            .map(|_| match policy.decide(&failure("E"), 1) {
                RetryDecision::Retry(d) => d,
                RetryDecision::GiveUp => Duration::MAX,
            })
            .collect();
        assert!(delays.iter().all(|d| (SECS(80)..=SECS(120)).contains(d)), "{delays:?}");
        assert!(delays.iter().any(|d| *d != delays[0]), "no spread: {delays:?}");
    }

    #[test]
    fn exception_lists_choose_what_is_retried() {
        const NEVER: &[ExceptionMatch] = &[ExceptionMatch::Name("ArgumentError")];
        const ONLY: &[ExceptionMatch] =
            &[ExceptionMatch::Name("Resque::JobTimeout"), ExceptionMatch::Name("DirtyExit")];
        let never = RetryPolicy::new().limit(3).never_on(NEVER);
        assert_eq!(never.decide(&failure("ArgumentError"), 1), RetryDecision::GiveUp);
        assert_eq!(never.decide(&failure("Resque::DirtyExit"), 1), RetryDecision::Retry(Duration::ZERO));
        let only = RetryPolicy::new().limit(3).on(ONLY);
        assert_eq!(only.decide(&failure("Resque::JobTimeout"), 1), RetryDecision::Retry(Duration::ZERO));
        assert_eq!(only.decide(&failure("Resque::DirtyExit"), 1), RetryDecision::Retry(Duration::ZERO));
        assert_eq!(only.decide(&failure("std::io::error::Error"), 1), RetryDecision::GiveUp);
    }

    #[test]
    fn a_custom_decision_has_full_control() {
        fn policy(failure: &JobFailure, attempt: u32) -> RetryDecision {
            if failure.error.contains("later") && attempt < 10 {
                RetryDecision::Retry(Duration::from_secs(u64::from(attempt)))
            } else {
                RetryDecision::GiveUp
            }
        }
        let custom = RetryPolicy::new().limit(0).retry_with(policy);
        assert_eq!(custom.retry_limit(), None);
        assert_eq!(custom.decide(&JobFailure::new("E", "try later"), 4), RetryDecision::Retry(SECS(4)));
        assert_eq!(custom.decide(&JobFailure::new("E", "no"), 1), RetryDecision::GiveUp);
    }

    #[test]
    fn counters_outlive_the_next_delay() {
        let policy = RetryPolicy::new().limit(3).delay(SECS(30)).expire_key_after(SECS(10));
        assert_eq!(policy.counter_ttl(1), SECS(40));
        assert_eq!(RetryPolicy::new().counter_ttl(1), crate::retry::DEFAULT_EXPIRE_KEY_AFTER);
    }
}
