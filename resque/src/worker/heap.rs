//! The worker's heap: a buffer of a large payload goes back to the system
//! when it is freed, rather than staying in the worker (and in every child
//! forked after it) for as long as the worker lives.
//!
//! glibc serves an allocation from its own heap once it is below a
//! threshold that grows with every large block freed (up to 32 MB), and
//! keeps freed heap memory resident for reuse: after one job of 20 MB, the
//! copies its payload went through (the reply, the parsed arguments, the
//! finishing step) would stay resident in an idle worker, and be counted
//! again in each forked child. A fixed threshold keeps every block of
//! [`LARGE`] or more in its own mapping, unmapped when freed (and grown
//! with `mremap`, without a copy); smaller blocks, all a worker uses between
//! large jobs, are served as before.

/// Allocations of this size or more get their own mapping.
const LARGE: i32 = 256 * 1024;

/// Fixes glibc's mmap threshold at [`LARGE`] (see the module's docs). Other
/// C libraries return large blocks on their own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(super) fn return_large_blocks() {
    #[allow(unsafe_code)]
    // SAFETY: mallopt only sets an allocator parameter; it is called from
    // the worker's only thread, before it takes a job.
    let set = unsafe { nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, LARGE) };
    if set != 1 {
        tracing::debug!("could not set the allocator's mmap threshold");
    }
}

/// Elsewhere the C library's own policy stands.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(super) fn return_large_blocks() {}
