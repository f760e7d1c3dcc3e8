//! The `#[resque::job]` attribute. Use it through the `resque` crate, which
//! re-exports it as `resque::job` and provides everything the generated code
//! names (under `resque::__private`).
//!
//! The crate follows the usual three steps: parse the attribute (`args.rs`,
//! with `duration.rs` for `timeout`) and the function (`ast.rs`), check them
//! (`valid.rs`), then generate the job's module (`expand.rs`). Every error is
//! reported at once, on the token that caused it, and the function is always
//! emitted unchanged so that one mistake does not cascade into "cannot find
//! function".

mod args;
mod ast;
mod duration;
mod expand;
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
/// Next to the function, which stays as written, this generates a module
/// named after it (`archive::CLASS`, `archive::QUEUE`, `archive::TIMEOUT`,
/// `archive::Args`, `archive::enqueue`, `archive::enqueue_to`), registers
/// the job with the worker's registry, and adds `async_archive(...)` as a
/// shorthand for `archive::enqueue(...)`. See the `resque` crate's
/// documentation.
#[proc_macro_attribute]
pub fn job(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    expand::job(attr.into(), item.clone()).unwrap_or_else(|error| expand::fallback(item, error)).into()
}
