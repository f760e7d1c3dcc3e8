//! A job with a retry policy inside a function body, naming a function,
//! an error type and a plugin that are local to that body too.
#![deny(missing_docs, warnings)]

use std::time::Duration;

use resque::retry::{RetryDecision, RetryPolicy};
use resque::JobFailure;

fn main() {
    #[derive(Debug)]
    struct Busy;
    impl std::fmt::Display for Busy {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("busy")
        }
    }

    fn twice(_failure: &JobFailure, attempt: u32) -> RetryDecision {
        if attempt <= 2 { RetryDecision::Retry(Duration::from_secs(5)) } else { RetryDecision::GiveUp }
    }

    struct Slow;
    impl resque::hooks::Plugin for Slow {
        const RETRY: Option<RetryPolicy> = Some(RetryPolicy::new().limit(7));
    }

    #[resque::job(queue = "q", retry(retry_with = twice))]
    fn custom() {}

    #[resque::job(queue = "q", retry(limit = 1, on = [Busy]))]
    fn only_busy() -> Result<(), Busy> {
        Err(Busy)
    }

    #[resque::job(queue = "q", plugins(Slow))]
    fn slow() {}

    let registry = resque::Registry::linked().unwrap();
    let failure = JobFailure::new("E", "x");
    let policy = registry.get("Custom").unwrap().retry.unwrap();
    assert_eq!(policy.decide(&failure, 2), RetryDecision::Retry(Duration::from_secs(5)));
    assert_eq!(policy.decide(&failure, 3), RetryDecision::GiveUp);

    let entry = registry.get("OnlyBusy").unwrap();
    let busy = (entry.perform)(vec![]).unwrap_err();
    assert_eq!(entry.retry.unwrap().decide(&busy, 1), RetryDecision::Retry(Duration::ZERO));
    assert_eq!(entry.retry.unwrap().decide(&failure, 1), RetryDecision::GiveUp);

    assert_eq!(registry.get("Slow").unwrap().retry.unwrap().retry_limit(), Some(7));
    assert_eq!(custom::RETRY.unwrap().retry_limit(), None);
    let _ = (custom, only_busy, slow);
}
