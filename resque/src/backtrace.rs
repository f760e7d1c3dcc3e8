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

/// The lines of a failure entry's backtrace for a panic at `location`
/// (`file:line:col`) whose backtrace is `backtrace`: only the location when
/// no backtrace could be taken.
pub(crate) fn lines(backtrace: Option<&Backtrace>, location: Option<&str>) -> Vec<String> {
    let text = backtrace.filter(|b| b.status() == BacktraceStatus::Captured).map(ToString::to_string);
    let lines = text.as_deref().map(trimmed).unwrap_or_default();
    if lines.is_empty() {
        return location.map(str::to_string).into_iter().collect();
    }
    lines
}

/// A printed backtrace (std's `Display`) trimmed as the module says.
fn trimmed(text: &str) -> Vec<String> {
    let frames = parse(text);
    let start = frames.iter().position(|f| !is_above_the_job(f.symbol)).unwrap_or(frames.len());
    let frames = &frames[start..];
    let end = frames.iter().position(|f| is_the_catch(f.symbol)).unwrap_or(frames.len());
    let frames = &frames[..end];
    let own: Vec<&Frame<'_>> = frames.iter().filter(|f| !is_a_wrapper(f.symbol)).collect();
    // A job inlined into its generated wrapper (no debug info) is seen only as the wrapper.
    let kept: Vec<&Frame<'_>> = if own.is_empty() { frames.iter().collect() } else { own };
    let mut out: Vec<String> = kept.iter().take(MAX_FRAMES).map(|f| line(f)).collect();
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

/// Where the job was called from, with everything below it: the
/// `catch_unwind` that turns the panic into a failure.
fn is_the_catch(symbol: &str) -> bool {
    [
        "resque::perform::catch",
        "std::panicking::catch_unwind",
        "std::panicking::try",
        "std::panic::catch_unwind",
    ]
    .iter()
    .any(|p| symbol.starts_with(p))
        || symbol == "__rust_try"
}

/// A frame between the catch and the job: resque's calls and the function
/// `#[resque::job]` generates.
fn is_a_wrapper(symbol: &str) -> bool {
    symbol.starts_with("resque::perform::")
        || symbol.starts_with("<core::panic::unwind_safe::AssertUnwindSafe<")
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

    #[test]
    fn the_jobs_frames_come_first_without_the_panic_machinery_or_the_worker() {
        assert_eq!(
            trimmed(PRINTED),
            ["/src/app/src/jobs.rs:79:5:in `app::jobs::archive'", "app::jobs::helper"]
        );
    }

    #[test]
    fn a_job_seen_only_as_its_generated_wrapper_keeps_it() {
        let printed = "0: std::panicking::begin_panic\n1: app::jobs::_::__resque_perform\n2: __rust_try\n";
        assert_eq!(trimmed(printed), ["app::jobs::_::__resque_perform"]);
    }

    #[test]
    fn long_backtraces_are_capped_with_a_count() {
        let printed: String = (0..45).map(|n| format!("{n}: app::deep::f{n}\n")).collect();
        let lines = trimmed(&printed);
        assert_eq!(lines.len(), MAX_FRAMES + 1);
        assert_eq!(lines[0], "app::deep::f0");
        assert_eq!(lines[MAX_FRAMES], "... 15 more frames");
    }

    #[test]
    fn no_backtrace_leaves_the_location() {
        assert_eq!(lines(None, Some("src/jobs.rs:3:5")), ["src/jobs.rs:3:5"]);
        assert_eq!(lines(Some(&Backtrace::disabled()), Some("src/jobs.rs:3:5")), ["src/jobs.rs:3:5"]);
        assert!(lines(None, None).is_empty());
    }

    #[test]
    fn a_captured_backtrace_starts_at_the_caller() {
        #[inline(never)]
        fn the_caller() -> Backtrace {
            Backtrace::force_capture()
        }
        let lines = lines(Some(&the_caller()), None);
        assert!(lines.first().is_some_and(|first| first.contains("the_caller")), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains("std::backtrace")), "{lines:?}");
    }
}
