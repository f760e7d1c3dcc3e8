//! A panic's backtrace as a failure entry keeps it: the job's own frames
//! first, one line per frame (`file:line:col:in `function'`, as Ruby writes
//! `file:line:in `method'`), without the frames of the panic machinery
//! above them or of the worker below the job (Ruby Resque also cuts its
//! backtraces where its own `job.rb` starts), and at most [`MAX_FRAMES`].

use std::backtrace::{Backtrace, BacktraceStatus};

/// The most frames a failure entry keeps; a last line says how many more
/// there were.
pub(crate) const MAX_FRAMES: usize = 30;

/// One frame of a backtrace, as std prints it.
#[derive(Debug, PartialEq, Eq)]
struct Frame<'a> {
    symbol: &'a str,
    at: Option<&'a str>,
}

/// Where a panic happened: its location (`file:line:col`) and the job's
/// function (`module::function`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Origin<'a> {
    pub(crate) location: Option<&'a str>,
    pub(crate) job: Option<&'a str>,
}

/// The lines of a failure entry's backtrace for a panic from `origin`
/// whose backtrace is `backtrace`: only the location when no backtrace
/// could be taken.
pub(crate) fn lines(backtrace: Option<&Backtrace>, origin: Origin<'_>) -> Vec<String> {
    let text = backtrace.filter(|b| b.status() == BacktraceStatus::Captured).map(ToString::to_string);
    let lines = text.as_deref().map(|text| trimmed(text, origin)).unwrap_or_default();
    if lines.is_empty() {
        return origin.location.map(str::to_string).into_iter().collect();
    }
    lines
}

/// A printed backtrace (std's `Display`) trimmed as the module says.
fn trimmed(text: &str, origin: Origin<'_>) -> Vec<String> {
    let frames = parse(text);
    let start = frames.iter().position(|f| !is_above_the_job(f.symbol)).unwrap_or(frames.len());
    let frames = &frames[start..];
    let end = frames.iter().position(|f| is_the_catch(f.symbol)).unwrap_or(frames.len());
    let frames = &frames[..end];
    let mut kept: Vec<Frame<'_>> = frames
        .iter()
        .filter(|f| !is_a_wrapper(f.symbol))
        .map(|f| Frame { symbol: f.symbol, at: f.at })
        .collect();
    if kept.is_empty() {
        // A job inlined into the function `#[resque::job]` generates (a
        // build without debug info) is seen only as that function: named
        // after the job, where it panicked.
        if let (Some(wrapper), Some(job)) = (frames.first(), origin.job) {
            kept.push(Frame { symbol: job, at: wrapper.at.or(origin.location) });
        }
    }
    let mut out: Vec<String> = kept.iter().take(MAX_FRAMES).map(line).collect();
    if kept.len() > MAX_FRAMES {
        out.push(format!("... {} more frames", kept.len() - MAX_FRAMES));
    }
    out
}

fn line(frame: &Frame<'_>) -> String {
    match frame.at {
        Some(at) => format!("{at}:in `{}'", frame.symbol),
        None => frame.symbol.to_string(),
    }
}

/// std's printed frames: `N: symbol`, each followed by `at file:line:col`
/// when known (an inlined function is one more symbol in the same frame).
fn parse(text: &str) -> Vec<Frame<'_>> {
    let mut frames: Vec<Frame<'_>> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(at) = line.strip_prefix("at ") {
            if let Some(last) = frames.last_mut().filter(|f| f.at.is_none()) {
                last.at = Some(at);
                continue;
            }
        }
        let symbol = match line.split_once(": ") {
            Some((n, symbol)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => symbol,
            _ => line,
        };
        frames.push(Frame { symbol, at: None });
    }
    frames
}

/// A frame above the job's own: the capture, the panic hook, the standard
/// library's panic functions and whatever of the standard library the job
/// called that panicked (`unwrap`, an index out of bounds).
fn is_above_the_job(symbol: &str) -> bool {
    let symbol = symbol.strip_prefix('<').unwrap_or(symbol);
    ["std::", "core::", "alloc::", "backtrace::", "__rustc::", "rust_begin_unwind", "resque::perform::"]
        .iter()
        .any(|p| symbol.starts_with(p))
}

/// Where the job was called from, with everything below it: resque's
/// call, and the `catch_unwind` that turns the panic into a failure (into
/// which a build without debug info inlines the call).
fn is_the_catch(symbol: &str) -> bool {
    ["resque::perform::", "std::panicking::catch_unwind", "std::panicking::try", "std::panic::catch_unwind"]
        .iter()
        .any(|p| symbol.starts_with(p))
        || symbol == "__rust_try"
}

/// A frame between resque's call and the job: the function
/// `#[resque::job]` generates.
fn is_a_wrapper(symbol: &str) -> bool {
    symbol.starts_with("<core::panic::unwind_safe::AssertUnwindSafe<")
        || symbol.ends_with("::__resque_perform")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backtrace as std prints it for a panic in a job run by a forked child.
    const PRINTED: &str = "   0: resque::perform::install_panic_hook::{{closure}}::{{closure}}
             at /src/resque/src/perform.rs:91:22
   1: <alloc::boxed::Box<dyn for<'a, 'b> core::ops::function::Fn<(&'a std::panic::PanicHookInfo<'b>,), Output = ()> + core::marker::Sync + core::marker::Send> as core::ops::function::Fn<(&std::panic::PanicHookInfo,)>>::call
             at /rustc/abc/library/alloc/src/boxed.rs:2254:9
   2: std::panicking::panic_with_hook
             at /rustc/abc/library/std/src/panicking.rs:833:13
   3: std::sys::backtrace::__rust_end_short_backtrace::<std::panicking::panic_handler::{closure#0}, !>
             at /rustc/abc/library/std/src/sys/backtrace.rs:182:18
   4: __rustc::rust_begin_unwind
             at /rustc/abc/library/std/src/panicking.rs:689:5
   5: core::panicking::panic_fmt
             at /rustc/abc/library/core/src/panicking.rs:80:14
   6: core::result::unwrap_failed
             at /rustc/abc/library/core/src/result.rs:1867:5
   7: app::jobs::archive
             at /src/app/src/jobs.rs:79:5
   8: app::jobs::helper
   9: app::jobs::_::__resque_perform
             at /src/app/src/jobs.rs:78:8
  10: resque::perform::perform::{{closure}}
             at /src/resque/src/perform.rs:22:25
  11: <core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once
             at /rustc/abc/library/core/src/panic/unwind_safe.rs:274:9
  12: std::panicking::catch_unwind::do_call
             at /rustc/abc/library/std/src/panicking.rs:581:40
  13: __rust_try
  14: std::panic::catch_unwind
             at /rustc/abc/library/std/src/panic.rs:359:14
  15: resque::perform::catch
             at /src/resque/src/perform.rs:63:11
  16: resque::worker::child::child_main
             at /src/resque/src/worker/child.rs:224:18
  17: main
";

    const ORIGIN: Origin<'static> =
        Origin { location: Some("src/jobs.rs:3:5"), job: Some("app::jobs::archive") };

    #[test]
    fn the_jobs_frames_come_first_without_the_panic_machinery_or_the_worker() {
        assert_eq!(
            trimmed(PRINTED, ORIGIN),
            ["/src/app/src/jobs.rs:79:5:in `app::jobs::archive'", "app::jobs::helper"]
        );
    }

    /// As a release build prints it: the job inlined into its wrapper, the
    /// catch into resque's call.
    const RELEASE: &str = "   0: std::backtrace::Backtrace::create
   1: resque::perform::install_panic_hook::{{closure}}
   2: std::panicking::panic_with_hook
   3: __rustc::rust_begin_unwind
   4: core::panicking::panic_fmt
   5: app::jobs::_::__resque_perform
   6: resque::perform::perform
   7: resque::worker::child::child_main
   8: main
";

    #[test]
    fn a_job_seen_only_as_its_generated_wrapper_is_named_where_it_panicked() {
        assert_eq!(trimmed(RELEASE, ORIGIN), ["src/jobs.rs:3:5:in `app::jobs::archive'"]);
        assert!(trimmed(RELEASE, Origin::default()).is_empty());
    }

    #[test]
    fn long_backtraces_are_capped_with_a_count() {
        let printed: String = (0..45).map(|n| format!("{n}: app::deep::f{n}\n")).collect();
        let lines = trimmed(&printed, ORIGIN);
        assert_eq!(lines.len(), MAX_FRAMES + 1);
        assert_eq!(lines[0], "app::deep::f0");
        assert_eq!(lines[MAX_FRAMES], "... 15 more frames");
    }

    #[test]
    fn no_backtrace_leaves_the_location() {
        assert_eq!(lines(None, ORIGIN), ["src/jobs.rs:3:5"]);
        assert_eq!(lines(Some(&Backtrace::disabled()), ORIGIN), ["src/jobs.rs:3:5"]);
        assert!(lines(None, Origin::default()).is_empty());
    }

    #[test]
    fn a_captured_backtrace_starts_at_the_caller() {
        #[inline(never)]
        fn the_caller() -> Backtrace {
            Backtrace::force_capture()
        }
        let lines = lines(Some(&the_caller()), Origin::default());
        assert!(lines.first().is_some_and(|first| first.contains("the_caller")), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains("std::backtrace")), "{lines:?}");
    }
}
