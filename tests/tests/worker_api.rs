//! The worker as a library: `Worker::add_hook` next to `#[resque::hook]`
//! ones, in a program that runs its own worker loop. Its own test binary,
//! since a worker installs process-wide signal handlers.

use std::time::Duration;

use resque::hooks::{WorkerContext, WorkerHook};
use resque::queues::QueueList;
use resque::{Registry, Worker, WorkerOptions};
use resque_tests::jobs::record;
use resque_tests::{lines, TestRedis};

static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn remember(ctx: &WorkerContext<'_>) {
    SEEN.lock().unwrap().push(format!("added:{}", ctx.worker_id));
}

#[test]
fn hooks_added_with_the_builder_run_alongside_the_registered_ones() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let hooks = dir.path().join("hooks");
    // The #[resque::hook] functions of the test jobs write here.
    std::env::set_var("TEST_WORKER_HOOKS", &hooks);
    record::enqueue_to(&redis.client(), out.to_str().unwrap(), "api").unwrap();

    let mut options = WorkerOptions::new(QueueList::parse("record").unwrap());
    options.interval = Duration::ZERO;
    options.fork_per_job = false;
    let mut worker = Worker::new(redis.client(), Registry::linked().unwrap(), options).unwrap();
    worker.add_hook(WorkerHook::BeforeFirstFork, remember).add_hook(WorkerHook::WorkerExit, remember);
    let id = worker.id().to_string();
    assert_eq!(worker.work().unwrap(), resque::worker::StopReason::Drained);

    assert_eq!(lines(&out).len(), 1, "the job ran");
    assert_eq!(*SEEN.lock().unwrap(), [format!("added:{id}"), format!("added:{id}")]);
    let registered: Vec<String> =
        lines(&hooks).iter().map(|l| l.split(" pid=").next().unwrap().to_string()).collect();
    assert_eq!(registered, ["before_first_fork", "queue_empty", "shutdown", "worker_exit"]);
}
