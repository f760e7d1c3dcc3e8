//! Running a job through its hooks (before, around, after, on failure), a
//! panic anywhere in them caught as the job's failure: what a forked child,
//! a `--no-fork` worker and inline mode all do.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

use serde_json::Value;

use crate::hooks::{HookStop, JobContext};
use crate::job::JobFailure;
use crate::payload::exception;
use crate::registry::JobEntry;

/// Calls a job through its hooks (before, around, after; on failure), as
/// Ruby does, catching a panic anywhere in them as a failure with its
/// message and backtrace. `DontPerform` from a hook skips the job: success.
pub(crate) fn perform(entry: &JobEntry, queue: &str, args: Vec<Value>) -> Result<(), JobFailure> {
    install_panic_hook();
    let hooks = &entry.hooks;
    if !hooks.any {
        return catch(entry, || (entry.perform)(args));
    }
    let ctx_args = args.clone();
    let ctx = JobContext { class: entry.class, queue, args: &ctx_args };
    let result = catch(entry, || {
        match (hooks.before_perform)(&ctx) {
            Ok(()) => {}
            Err(HookStop::DontPerform) => return Ok(()),
            Err(HookStop::Fail(failure)) => return Err(failure),
        }
        let mut args = Some(args);
        let mut call = || match args.take() {
            Some(args) => (entry.perform)(args),
            None => Err(JobFailure::new(exception::HOOK, "an around_perform hook ran the job twice")),
        };
        let result = (hooks.around_perform)(&ctx, &mut call);
        if result.is_ok() {
            (hooks.after_perform)(&ctx);
        }
        result
    });
    if let Err(failure) = &result {
        run_on_failure(entry, failure, &ctx);
    }
    result
}

/// Runs a job's `on_failure` hooks; a panic in them is logged, not raised.
pub(crate) fn run_on_failure(entry: &JobEntry, failure: &JobFailure, ctx: &JobContext<'_>) {
    if entry.hooks.any {
        if let Err(e) = catch(entry, || {
            (entry.hooks.on_failure)(failure, ctx);
            Ok(())
        }) {
            tracing::error!(class = entry.class, "an on_failure hook failed: {e}");
        }
    }
}

/// Runs `f`, a call of `entry`'s job or hooks, turning a panic into a failure.
fn catch(entry: &JobEntry, f: impl FnOnce() -> Result<(), JobFailure>) -> Result<(), JobFailure> {
    let caught = {
        let _in_job = InJob::enter();
        panic::catch_unwind(AssertUnwindSafe(f))
    };
    match caught {
        Ok(result) => result,
        Err(payload) => {
            let (backtrace, location) = LAST_PANIC.with(|last| last.borrow_mut().take()).unwrap_or_default();
            let job = format!("{}::{}", entry.module_path, entry.function);
            let origin = crate::backtrace::Origin { location: location.as_deref(), job: Some(&job) };
            let backtrace = crate::backtrace::lines(backtrace.as_ref(), origin);
            Err(JobFailure {
                exception: exception::PANIC.to_string(),
                error: panic_text(&*payload),
                backtrace,
            })
        }
    }
}

/// A panic's message.
fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_string())
}

thread_local! {
    /// How many [`catch`]es this thread is in: a panic here is a job's.
    static IN_JOB: Cell<u32> = const { Cell::new(0) };
    /// The backtrace and location of this thread's last panic in a job,
    /// for its failure entry.
    static LAST_PANIC: RefCell<Option<(Option<Backtrace>, Option<String>)>> = const { RefCell::new(None) };
}

/// This thread runs a job while it holds one.
struct InJob;

impl InJob {
    fn enter() -> Self {
        IN_JOB.with(|n| n.set(n.get() + 1));
        InJob
    }
}

impl Drop for InJob {
    fn drop(&mut self) {
        IN_JOB.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Installs the panic hook; once per process. The worker calls it before
/// its first fork, so that no child does it again.
///
/// A panic in a job keeps its backtrace for the failure entry (always: it
/// is taken only when a job panics). When a `tracing` subscriber is
/// installed, a panic is one event (its message and location; outside a
/// job, with the backtrace `RUST_BACKTRACE` asks for) instead of std's text
/// on stderr, so that a log of JSON lines stays one; without one, the panic
/// hook that was set before prints it as usual.
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_job = IN_JOB.with(Cell::get) > 0;
            let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            if in_job {
                let backtrace = Backtrace::force_capture();
                LAST_PANIC.with(|last| *last.borrow_mut() = Some((Some(backtrace), location.clone())));
            }
            if !tracing::dispatcher::has_been_set() {
                return previous(info);
            }
            let message = panic_text(info.payload());
            let location = location.as_deref().unwrap_or("an unknown place");
            if in_job {
                tracing::error!(location, "the job panicked: {message}");
                return;
            }
            let thread = std::thread::current();
            let thread = thread.name().unwrap_or("unnamed");
            let backtrace = Backtrace::capture();
            if backtrace.status() == BacktraceStatus::Captured {
                tracing::error!(thread, location, %backtrace, "panicked: {message}");
            } else {
                tracing::error!(thread, location, "panicked: {message}");
            }
        }));
    });
}
