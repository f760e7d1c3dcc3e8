//! Hooks of every kind and two plugins: the combined hooks run them in order,
//! the job's own first, then each plugin's.
#![deny(missing_docs, warnings)]

use std::sync::Mutex;

use resque::hooks::{HookStop, JobContext, Perform, Plugin};
use resque::{Job, JobFailure};

static LOG: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn log(entry: &'static str) {
    LOG.lock().unwrap().push(entry);
}

fn take_log() -> Vec<&'static str> {
    std::mem::take(&mut *LOG.lock().unwrap())
}

fn before_enqueue(_: &JobContext<'_>) -> bool {
    log("job:before_enqueue");
    true
}
fn after_enqueue(_: &JobContext<'_>) {
    log("job:after_enqueue");
}
fn before_dequeue(_: &JobContext<'_>) -> bool {
    log("job:before_dequeue");
    true
}
fn after_dequeue(_: &JobContext<'_>) {
    log("job:after_dequeue");
}
fn before_perform(_: &JobContext<'_>) -> Result<(), HookStop> {
    log("job:before_perform");
    Ok(())
}
fn after_perform(_: &JobContext<'_>) {
    log("job:after_perform");
}
fn around_perform(_: &JobContext<'_>, perform: Perform<'_>) -> Result<(), JobFailure> {
    log("a:before");
    let result = perform();
    log("a:after");
    result
}

mod alerts {
    use resque::hooks::JobContext;
    use resque::JobFailure;

    pub(crate) fn page(_: &JobFailure, _: &JobContext<'_>) {
        super::log("job:on_failure");
    }
}

/// Vetoes enqueues and stops jobs, and wraps them.
struct Strict;
impl Plugin for Strict {
    fn before_enqueue(_: &JobContext<'_>) -> bool {
        log("strict:before_enqueue");
        false
    }
    fn before_perform(_: &JobContext<'_>) -> Result<(), HookStop> {
        log("strict:before_perform");
        Err(HookStop::DontPerform)
    }
    fn around_perform(_: &JobContext<'_>, perform: Perform<'_>) -> Result<(), JobFailure> {
        log("strict:before");
        let result = perform();
        log("strict:after");
        result
    }
    fn on_failure(_: &JobFailure, _: &JobContext<'_>) {
        log("strict:on_failure");
    }
}

mod plugins {
    use resque::hooks::{HookStop, JobContext, Perform, Plugin};
    use resque::JobFailure;

    /// Logs everything.
    pub(crate) struct Logged;
    impl Plugin for Logged {
        fn before_enqueue(_: &JobContext<'_>) -> bool {
            super::log("logged:before_enqueue");
            true
        }
        fn after_enqueue(_: &JobContext<'_>) {
            super::log("logged:after_enqueue");
        }
        fn before_perform(_: &JobContext<'_>) -> Result<(), HookStop> {
            super::log("logged:before_perform");
            Ok(())
        }
        fn around_perform(_: &JobContext<'_>, perform: Perform<'_>) -> Result<(), JobFailure> {
            super::log("logged:before");
            let result = perform();
            super::log("logged:after");
            result
        }
        fn on_failure(_: &JobFailure, _: &JobContext<'_>) {
            super::log("logged:on_failure");
        }
    }
}

#[resque::job(
    queue = "file_serve",
    before_enqueue = before_enqueue,
    after_enqueue = after_enqueue,
    before_dequeue = before_dequeue,
    after_dequeue = after_dequeue,
    before_perform = before_perform,
    after_perform = after_perform,
    around_perform = around_perform,
    on_failure = alerts::page,
    plugins(Strict, plugins::Logged),
)]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

/// Only plugins: the job's own hooks are left out.
#[resque::job(queue = "q", plugins(plugins::Logged))]
fn logged() {}

/// One hook: the other kinds stay as `JobHooks::NONE` has them.
#[resque::job(queue = "q", before_perform = before_perform)]
fn checked() {}

#[resque::job(queue = "q")]
fn plain() {}

fn main() {
    let hooks = <archive::Args as Job>::HOOKS;
    assert!(hooks.any);
    assert!(!<plain::Args as Job>::HOOKS.any);
    assert!(<logged::Args as Job>::HOOKS.any);
    assert!(<checked::Args as Job>::HOOKS.any);

    let args = [1.into()];
    let job = JobContext { class: "Archive", queue: "file_serve", args: &args };

    // Every `before_enqueue` runs; one veto is enough.
    assert!(!(hooks.before_enqueue)(&job));
    assert_eq!(take_log(), ["job:before_enqueue", "strict:before_enqueue", "logged:before_enqueue"]);
    (hooks.after_enqueue)(&job);
    assert_eq!(take_log(), ["job:after_enqueue", "logged:after_enqueue"]);
    assert!((hooks.before_dequeue)(&job));
    assert_eq!(take_log(), ["job:before_dequeue"]);
    (hooks.after_dequeue)(&job);
    assert_eq!(take_log(), ["job:after_dequeue"]);

    // `before_perform` stops at the first that stops the job.
    assert_eq!((hooks.before_perform)(&job), Err(HookStop::DontPerform));
    assert_eq!(take_log(), ["job:before_perform", "strict:before_perform"]);
    (hooks.after_perform)(&job);
    assert_eq!(take_log(), ["job:after_perform"]);

    // `around_perform` nests: the job's own outermost, then the plugins.
    let mut ran = 0;
    let result = (hooks.around_perform)(&job, &mut || {
        ran += 1;
        log("perform");
        Err(JobFailure::new("Boom", "it broke"))
    });
    assert_eq!(result, Err(JobFailure::new("Boom", "it broke")));
    assert_eq!(ran, 1);
    assert_eq!(
        take_log(),
        ["a:before", "strict:before", "logged:before", "perform", "logged:after", "strict:after", "a:after"]
    );

    (hooks.on_failure)(&JobFailure::new("Boom", "it broke"), &job);
    assert_eq!(take_log(), ["job:on_failure", "strict:on_failure", "logged:on_failure"]);

    // A plugin alone; a plugin's defaults pass through.
    let logged = <logged::Args as Job>::HOOKS;
    assert!((logged.before_dequeue)(&job));
    assert_eq!((logged.around_perform)(&job, &mut || Ok(())), Ok(()));
    assert_eq!(take_log(), ["logged:before", "logged:after"]);

    // One hook, the rest as `NONE`.
    let checked = <checked::Args as Job>::HOOKS;
    assert_eq!((checked.before_perform)(&job), Ok(()));
    assert!((checked.before_enqueue)(&job));
    assert_eq!(
        (checked.around_perform)(&job, &mut || Err(JobFailure::new("E", "e"))),
        Err(JobFailure::new("E", "e"))
    );
    assert_eq!(take_log(), ["job:before_perform"]);

    // The registry has the job's hooks.
    let registry = resque::Registry::linked().unwrap();
    let entry = registry.get("Archive").unwrap();
    assert!(entry.hooks.any);
    assert!(!(entry.hooks.before_enqueue)(&job));
    assert_eq!(take_log().len(), 3);
    assert!(!registry.get("Plain").unwrap().hooks.any);

    // Hooks local to a block, as in a doctest, are found where the job is.
    fn local_check(_: &JobContext<'_>) -> Result<(), HookStop> {
        log("local");
        Ok(())
    }
    struct LocalPlugin;
    impl Plugin for LocalPlugin {}
    #[resque::job(queue = "q", before_perform = local_check, plugins(LocalPlugin))]
    fn local() {}
    assert_eq!((<local::Args as Job>::HOOKS.before_perform)(&job), Ok(()));
    assert_eq!(take_log(), ["local"]);
}
