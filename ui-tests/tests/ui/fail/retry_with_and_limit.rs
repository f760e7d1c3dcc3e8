use resque::retry::RetryDecision;
use resque::JobFailure;

fn later(_failure: &JobFailure, _attempt: u32) -> RetryDecision {
    RetryDecision::GiveUp
}

#[resque::job(queue = "q", retry(retry_with = later, limit = 3))]
fn deliver() {}

fn main() {
    deliver();
}
