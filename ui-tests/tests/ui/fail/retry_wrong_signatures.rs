use resque::JobFailure;

// Returns a bool instead of a `RetryDecision`.
fn later(_failure: &JobFailure, _attempt: u32) -> bool {
    true
}

// Takes the args as a `Vec` instead of a slice.
fn by_user(args: Vec<String>) -> Option<String> {
    args.into_iter().next()
}

#[resque::job(queue = "q", retry(retry_with = later))]
fn deliver() {}

#[resque::job(queue = "q", retry(identifier = by_user, on = [NoSuchError]))]
fn notify() {}

fn main() {
    deliver();
    notify();
}
