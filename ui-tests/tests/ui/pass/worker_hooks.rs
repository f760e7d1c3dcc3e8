//! A worker hook of each kind, registered in `WORKER_HOOKS` with its event.
#![deny(missing_docs, warnings)]

use std::sync::Mutex;

use resque::hooks::{WorkerContext, WorkerHook};

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn log(event: &str, ctx: &WorkerContext<'_>) {
    LOG.lock().unwrap().push(format!("{event} {}", ctx.worker_id));
}

#[resque::hook(before_first_fork)]
fn before_first_fork(ctx: &WorkerContext<'_>) {
    log("before_first_fork", ctx);
}

#[resque::hook(before_fork)]
fn before_fork(ctx: &WorkerContext<'_>) {
    log("before_fork", ctx);
}

/// Public, documented, in a module: still registered.
pub mod reconnect {
    use resque::hooks::WorkerContext;

    /// Reconnects after a fork.
    #[resque::hook(after_fork)]
    pub fn reconnect(ctx: &WorkerContext<'_>) {
        super::log("after_fork", ctx);
    }
}

#[resque::hook(queue_empty)]
fn queue_empty(ctx: &WorkerContext<'_>) {
    log("queue_empty", ctx);
}

// One function at two events, and a parameter named `_`.
#[resque::hook(shutdown)]
#[resque::hook(worker_exit)]
fn goodbye(_: &WorkerContext<'_>) {}

#[resque::hook(before_pause)]
fn r#before_pause(ctx: &WorkerContext) {
    log("before_pause", ctx);
}

#[resque::hook(after_pause)]
fn after_pause(ctx: &resque::__private::WorkerContext<'_>) {
    log("after_pause", ctx);
}

/// Compiled out: not registered.
#[resque::hook(after_pause)]
#[cfg(any())]
fn compiled_out(_: &WorkerContext<'_>) {}

fn main() {
    // Hooks in a block are registered too.
    #[resque::hook(before_fork)]
    fn local(_: &WorkerContext<'_>) {}

    // Names start with the crate's, which trybuild picks.
    let mut hooks: Vec<(&str, WorkerHook)> = resque::__private::WORKER_HOOKS
        .iter()
        .map(|entry| (entry.name.split_once("::").unwrap().1, entry.event))
        .collect();
    hooks.sort_by_key(|&(name, event)| (name, format!("{event:?}")));
    assert_eq!(
        hooks,
        [
            ("after_pause", WorkerHook::AfterPause),
            ("before_first_fork", WorkerHook::BeforeFirstFork),
            ("before_fork", WorkerHook::BeforeFork),
            ("before_pause", WorkerHook::BeforePause),
            ("goodbye", WorkerHook::Shutdown),
            ("goodbye", WorkerHook::WorkerExit),
            ("local", WorkerHook::BeforeFork),
            ("queue_empty", WorkerHook::QueueEmpty),
            ("reconnect::reconnect", WorkerHook::AfterFork),
        ]
    );

    let ctx = WorkerContext { worker_id: "host:1:q", job: None };
    for entry in resque::__private::WORKER_HOOKS.iter() {
        if entry.event == WorkerHook::AfterFork {
            (entry.hook)(&ctx);
        }
    }
    assert_eq!(*LOG.lock().unwrap(), ["after_fork host:1:q"]);
}
