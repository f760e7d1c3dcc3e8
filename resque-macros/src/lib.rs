//! The `#[resque::job]` and `#[resque::hook]` attributes. Use them through
//! the `resque` crate, which re-exports them as `resque::job` and
//! `resque::hook` and provides everything the generated code names (under
//! `resque::__private`).
//!
//! `#[resque::job]` follows the usual three steps: parse the attribute
//! (`args.rs`, with `duration.rs` for durations, `job_hooks.rs` for hooks
//! and plugins, `retry.rs` and `retry_values.rs` for `retry(...)`) and the
//! function (`ast.rs`), check them (`valid.rs`), then generate the job's
//! module (`expand.rs`, with `retry_gen.rs` for the retry policy). `#[resque::hook]` (`hook.rs`)
//! registers a worker hook. Every error is reported at once, on the token
//! that caused it, and the function is always emitted unchanged so that one
//! mistake does not cascade into "cannot find function".

mod args;
mod ast;
mod client_fns;
mod duration;
mod expand;
mod hook;
mod job_hooks;
mod retry;
mod retry_gen;
mod retry_values;
mod schedule;
mod valid;

use proc_macro::TokenStream;

/// Turns a function into a Resque job.
///
/// ```ignore
/// #[resque::job(queue = "file_serve")] // optional: class = "Archive", timeout = "5m"
/// fn archive(repo_id: u64, branch: String) -> Result<(), ArchiveError> { ... }
/// ```
///
/// The keys:
///
/// - `queue = "..."` (required): the queue `enqueue` pushes to.
/// - `class = "..."`: the class name payloads carry; by default the
///   function's name in UpperCamelCase (`archive` → `Archive`).
/// - `timeout = "..."`: the job's own hard time limit, which overrides the
///   worker's `--job-timeout`: one or more `<integer><unit>` parts without
///   spaces, with units `ms`, `s`, `m` and `h`, such as `"500ms"`, `"30s"`,
///   `"5m"` or `"1h30m"`. It is checked at compile time and cannot be zero;
///   leave it out for no limit of the job's own.
///
/// Hooks, each `key = path::to::function` (see `resque::hooks`), run with
/// the job's `JobContext`:
///
/// - `before_enqueue`, `before_dequeue`: `fn(&JobContext<'_>) -> bool`;
///   every one runs, and any `false` vetoes the enqueue or dequeue.
/// - `after_enqueue`, `after_dequeue`, `after_perform`: `fn(&JobContext<'_>)`.
/// - `before_perform`: `fn(&JobContext<'_>) -> Result<(), HookStop>`; the
///   first `Err` stops the job (skipped or failed) and the hooks after it.
/// - `around_perform`: `fn(&JobContext<'_>, Perform<'_>) -> Result<(),
///   JobFailure>`; it runs the job by calling `perform`, or skips it.
/// - `on_failure`: `fn(&JobFailure, &JobContext<'_>)`.
/// - `plugins(Logged, RetryOnce)`: types implementing `resque::hooks::Plugin`,
///   whose hooks run after the job's own, in the order listed
///   (`around_perform` hooks nest, the job's own outermost).
///
/// A hook with the wrong signature, or a plugin type that is not a
/// `Plugin`, is a compile error on its name.
///
/// Retries (resque-retry's, see `resque::retry`): `retry` alone is one retry
/// at once; `retry(...)` takes `limit = 5` (retries after the first run),
/// `forever`, `delay = "30s"`, `backoff = ["0s", "1m", "10m"]` (the limit
/// becomes its length unless `limit` is given), `exponential` (Sidekiq's
/// curve, 25 retries), `jitter = 0.2` (0 to 1), `on = [...]` or
/// `never_on = [...]` (exception names in quotes or error types),
/// `retry_with = decide` (`fn(&JobFailure, u32) -> RetryDecision`, alone
/// with `expire_key_after` and `identifier`), `expire_key_after = "1h"`,
/// `identifier = by_user` (`fn(&[Value]) -> Option<String>`). Without
/// `retry`, the policy is the first of the plugins' `Plugin::RETRY` that is
/// `Some`. Bad values and keys that contradict each other are compile
/// errors on the key.
///
/// Next to the function, which stays as written, this generates a module
/// named after it (`archive::CLASS`, `archive::QUEUE`, `archive::TIMEOUT`,
/// `archive::RETRY`,
/// `archive::Args`, `archive::enqueue`, `archive::enqueue_to`), registers
/// the job with the worker's registry, and adds `async_archive(...)` as a
/// shorthand for `archive::enqueue(...)`. See the `resque` crate's
/// documentation.
#[proc_macro_attribute]
pub fn job(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    expand::job(attr.into(), item.clone()).unwrap_or_else(|error| expand::fallback(item, error)).into()
}

/// Registers a function as a worker hook, run by every worker of the
/// program at the named event.
///
/// ```ignore
/// #[resque::hook(after_fork)]
/// fn reconnect(ctx: &resque::hooks::WorkerContext<'_>) { ... }
/// ```
///
/// The events, as Ruby Resque names them: `before_first_fork`,
/// `before_fork`, `after_fork`, `queue_empty`, `shutdown`, `worker_exit`,
/// `before_pause` and `after_pause` (see `resque::hooks::WorkerHook`).
///
/// The function must be a plain `fn(ctx: &WorkerContext<'_>)`, not generic,
/// `async` or a method; it stays as written and is added to
/// `resque::__private::WORKER_HOOKS`, found by workers through `linkme` like
/// jobs. To run one function at several events, give it one attribute per
/// event.
#[proc_macro_attribute]
pub fn hook(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    hook::hook(attr.into(), item.clone()).unwrap_or_else(|error| expand::fallback(item, error)).into()
}
