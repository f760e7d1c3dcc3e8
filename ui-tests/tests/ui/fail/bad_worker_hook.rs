// Worker hooks the attribute rejects, each error on its own token.
use resque::hooks::WorkerContext;

#[resque::hook]
fn no_event(_: &WorkerContext<'_>) {}

#[resque::hook(after_forking)]
fn unknown_event(_: &WorkerContext<'_>) {}

#[resque::hook(after_fork, before_fork)]
fn two_events(_: &WorkerContext<'_>) {}

#[resque::hook(after_fork)]
fn generic<T>(_: &WorkerContext<'_>) {}

#[resque::hook(after_fork)]
async fn asynchronous(_: &WorkerContext<'_>) {}

struct Worker;

impl Worker {
    #[resque::hook(after_fork)]
    fn method(&self, _: &WorkerContext<'_>) {}
}

#[resque::hook(after_fork)]
fn wrong_signature(worker_id: &str) {
    let _ = worker_id;
}

#[resque::hook(queue_empty)]
fn returns_something(_: &WorkerContext<'_>) -> bool {
    true
}

#[resque::hook(shutdown)]
struct NotAFunction;

fn main() {
    // Still defined despite the errors above.
    let _ = (no_event, unknown_event, two_events, returns_something);
}
