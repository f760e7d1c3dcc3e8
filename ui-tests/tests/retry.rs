//! `retry(...)` in `#[resque::job]`: every form compiles under this
//! workspace's lints, and the registered job decides as declared; a plugin
//! can carry a policy, and the job's own wins over it.
#![deny(warnings, missing_docs, unused_qualifications, unreachable_pub, clippy::all)]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use resque::retry::{Backoff, RetryDecision, RetryPolicy};
use resque::JobFailure;

/// Jobs with retry policies, as a library would define them.
pub mod jobs {
    use std::time::Duration;

    use resque::hooks::Plugin;
    use resque::retry::{RetryDecision, RetryPolicy};
    use resque::JobFailure;

    /// Why a delivery failed.
    #[derive(Debug)]
    pub struct DeliveryError;

    impl std::fmt::Display for DeliveryError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no answer")
        }
    }

    /// Five retries, thirty seconds apart.
    #[resque::job(queue = "q", retry(limit = 5, delay = "30s"))]
    pub fn fixed() {}

    /// resque-retry's defaults.
    #[resque::job(queue = "q", retry)]
    pub fn defaults() {}

    /// Retries for ever, at once, the counter kept two hours.
    #[resque::job(queue = "q", retry(forever, delay = "0s", expire_key_after = "2h"))]
    pub fn patient() {}

    /// resque-retry's exponential backoff, limit from the list.
    #[resque::job(queue = "q", retry(backoff = ["0s", "1m", "10m", "1h", "3h", "6h"]))]
    pub fn stepped() {}

    /// A backoff list with a limit of its own.
    #[resque::job(queue = "q", retry(backoff = ["1s", "2s"], limit = 4))]
    pub fn stepped_longer() {}

    /// Sidekiq's curve, with jitter.
    #[resque::job(queue = "q", retry(exponential, jitter = 0.2))]
    pub fn curved() {}

    /// Sidekiq's curve with a smaller limit.
    #[resque::job(queue = "q", retry(limit = 3, exponential))]
    pub fn curved_short() {}

    /// Retries only timeouts and its own error type.
    #[resque::job(queue = "q", retry(limit = 2, on = ["Resque::JobTimeout", DeliveryError]))]
    pub fn only_on() -> Result<(), DeliveryError> {
        Err(DeliveryError)
    }

    /// Never retries bad arguments or formatting errors.
    #[resque::job(queue = "q", retry(limit = 2, never_on = ["ArgumentError", std::fmt::Error]))]
    pub fn never_on() {}

    /// A decision of its own: retry "later" failures for ten attempts.
    pub fn later(failure: &JobFailure, attempt: u32) -> RetryDecision {
        if failure.error.contains("later") && attempt < 10 {
            RetryDecision::Retry(Duration::from_secs(u64::from(attempt)))
        } else {
            RetryDecision::GiveUp
        }
    }

    /// Decides with `later`.
    #[resque::job(queue = "q", retry(retry_with = later))]
    pub fn custom() {}

    /// Names the counter after the first argument.
    pub fn by_user(args: &[resque::__private::Value]) -> Option<String> {
        args.first().map(ToString::to_string)
    }

    /// Counter named by `by_user`.
    #[resque::job(queue = "q", retry(limit = 1, identifier = by_user))]
    pub fn per_user(user: u64) {
        let _ = user;
    }

    /// A plugin without a policy.
    #[derive(Debug)]
    pub struct Quiet;
    impl Plugin for Quiet {}

    /// A plugin with three retries a minute apart.
    #[derive(Debug)]
    pub struct Patient;
    impl Plugin for Patient {
        const RETRY: Option<RetryPolicy> = Some(RetryPolicy::new().limit(3).delay(Duration::from_secs(60)));
    }

    /// A plugin with one retry at once.
    #[derive(Debug)]
    pub struct Once;
    impl Plugin for Once {
        const RETRY: Option<RetryPolicy> = Some(RetryPolicy::new());
    }

    /// The policy of the first plugin that has one.
    #[resque::job(queue = "q", plugins(Quiet, Patient, Once))]
    pub fn from_plugin() {}

    /// No plugin has a policy.
    #[resque::job(queue = "q", plugins(Quiet))]
    pub fn plugin_without() {}

    /// Its own policy wins over the plugin's.
    #[resque::job(queue = "q", plugins(Patient), retry(limit = 0))]
    pub fn own_wins() {}

    /// No policy.
    #[resque::job(queue = "q")]
    pub fn plain() {}
}

fn policy(class: &str) -> Option<RetryPolicy> {
    let registry = resque::Registry::linked().unwrap();
    registry.get(class).unwrap_or_else(|| panic!("{class} is not registered")).retry
}

fn failure(exception: &str) -> JobFailure {
    JobFailure::new(exception, "it failed")
}

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn limit_and_delay() {
    let fixed = policy("Fixed").unwrap();
    assert_eq!(fixed.retry_limit(), Some(5));
    assert_eq!(fixed.backoff_kind(), Backoff::Fixed(SECS(30)));
    for attempt in 1..=5 {
        assert_eq!(fixed.decide(&failure("E"), attempt), RetryDecision::Retry(SECS(30)));
    }
    assert_eq!(fixed.decide(&failure("E"), 6), RetryDecision::GiveUp);
    // The module's constant is the registered policy.
    assert_eq!(jobs::fixed::RETRY.unwrap().retry_limit(), Some(5));

    let defaults = policy("Defaults").unwrap();
    assert_eq!(defaults.retry_limit(), Some(1));
    assert_eq!(defaults.decide(&failure("E"), 1), RetryDecision::Retry(Duration::ZERO));
    assert_eq!(defaults.decide(&failure("E"), 2), RetryDecision::GiveUp);

    let patient = policy("Patient").unwrap();
    assert_eq!(patient.retry_limit(), None);
    assert_eq!(patient.decide(&failure("E"), 10_000), RetryDecision::Retry(Duration::ZERO));
}

#[test]
fn backoff_and_exponential() {
    let stepped = policy("Stepped").unwrap();
    assert_eq!(stepped.retry_limit(), Some(6));
    let delays = [0, 60, 600, 3600, 3 * 3600, 6 * 3600];
    for (attempt, delay) in (1..).zip(delays) {
        assert_eq!(stepped.decide(&failure("E"), attempt), RetryDecision::Retry(SECS(delay)));
    }
    assert_eq!(stepped.decide(&failure("E"), 7), RetryDecision::GiveUp);

    let longer = policy("SteppedLonger").unwrap();
    assert_eq!(longer.retry_limit(), Some(4));
    assert_eq!(longer.decide(&failure("E"), 4), RetryDecision::Retry(SECS(2)));
    assert_eq!(longer.decide(&failure("E"), 5), RetryDecision::GiveUp);

    let curved = policy("Curved").unwrap();
    assert_eq!(curved.retry_limit(), Some(25));
    assert_eq!(curved.backoff_kind(), Backoff::Exponential);
    // 15 s plus up to 9 s, times 1 ± 0.2.
    let RetryDecision::Retry(first) = curved.decide(&failure("E"), 1) else { panic!("gave up") };
    assert!((SECS(12)..=SECS(29)).contains(&first), "{first:?}");
    assert_eq!(curved.decide(&failure("E"), 26), RetryDecision::GiveUp);

    let short = policy("CurvedShort").unwrap();
    assert_eq!(short.retry_limit(), Some(3));
    assert_eq!(short.decide(&failure("E"), 4), RetryDecision::GiveUp);
}

#[test]
fn exception_lists() {
    let only = policy("OnlyOn").unwrap();
    assert!(matches!(only.decide(&failure("Resque::JobTimeout"), 1), RetryDecision::Retry(_)));
    let own = (resque::Registry::linked().unwrap().get("OnlyOn").unwrap().perform)(vec![]).unwrap_err();
    assert!(matches!(only.decide(&own, 1), RetryDecision::Retry(_)), "{}", own.exception);
    assert_eq!(only.decide(&failure("RuntimeError"), 1), RetryDecision::GiveUp);
    assert_eq!(only.decide(&failure("Resque::JobTimeout"), 3), RetryDecision::GiveUp);

    let never = policy("NeverOn").unwrap();
    assert_eq!(never.decide(&failure("ArgumentError"), 1), RetryDecision::GiveUp);
    assert_eq!(never.decide(&JobFailure::from_error(&std::fmt::Error), 1), RetryDecision::GiveUp);
    assert_eq!(never.decide(&failure("RuntimeError"), 1), RetryDecision::Retry(Duration::ZERO));
}

#[test]
fn custom_decision_and_identifier() {
    let custom = policy("Custom").unwrap();
    assert_eq!(custom.retry_limit(), None);
    assert_eq!(custom.decide(&JobFailure::new("E", "try later"), 4), RetryDecision::Retry(SECS(4)));
    assert_eq!(custom.decide(&JobFailure::new("E", "try later"), 10), RetryDecision::GiveUp);
    assert_eq!(custom.decide(&JobFailure::new("E", "no"), 1), RetryDecision::GiveUp);

    let per_user = policy("PerUser").unwrap();
    let args = [resque::__private::serde_json::json!(42)];
    assert_eq!(per_user.identifier_of(&args), Some("42".to_owned()));
    let default_identifier = policy("Fixed").unwrap().identifier_of(&args);
    assert_ne!(default_identifier, Some("42".to_owned()));
}

#[test]
fn plugins_carry_policies_and_the_job_wins() {
    let from_plugin = policy("FromPlugin").unwrap();
    assert_eq!(from_plugin.retry_limit(), Some(3));
    assert_eq!(from_plugin.decide(&failure("E"), 1), RetryDecision::Retry(SECS(60)));
    assert_eq!(jobs::from_plugin::RETRY.unwrap().retry_limit(), Some(3));

    assert!(policy("PluginWithout").is_none());
    assert!(jobs::plugin_without::RETRY.is_none());

    let own = policy("OwnWins").unwrap();
    assert_eq!(own.retry_limit(), Some(0));
    assert_eq!(own.decide(&failure("E"), 1), RetryDecision::GiveUp);

    assert!(policy("Plain").is_none());
    assert!(jobs::plain::RETRY.is_none());
}
