//! Running a job through its hooks (before, around, after, on failure), a
//! panic anywhere in them caught as the job's failure: what a forked child,
//! a `--no-fork` worker and inline mode all do.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

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
        return catch(|| (entry.perform)(args));
    }
    let ctx_args = args.clone();
    let ctx = JobContext { class: entry.class, queue, args: &ctx_args };
    let result = catch(|| {
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
        if let Err(e) = catch(|| {
            (entry.hooks.on_failure)(failure, ctx);
            Ok(())
        }) {
            tracing::error!(class = entry.class, "an on_failure hook failed: {e}");
        }
    }
}

/// Runs `f`, turning a panic into a failure.
fn catch(f: impl FnOnce() -> Result<(), JobFailure>) -> Result<(), JobFailure> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with a non-string payload".to_string());
            let backtrace = LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
            Err(JobFailure { exception: exception::PANIC.to_string(), error: message, backtrace })
        }
    }
}

static LAST_PANIC: Mutex<Option<Vec<String>>> = Mutex::new(None);

/// Installs the hook that keeps a panic's backtrace for its failure entry;
/// once per process. The worker calls it before its first fork, so that no
/// child does it again.
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let mut lines = Vec::new();
            if let Some(loc) = info.location() {
                lines.push(format!("{}:{}:{}", loc.file(), loc.line(), loc.column()));
            }
            let bt = std::backtrace::Backtrace::force_capture().to_string();
            lines.extend(bt.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).take(200));
            *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(lines);
            previous(info);
        }));
    });
}
