//! Links the benchmark binary (which is also the worker it measures) the way
//! a worker binary should be linked for a small resident set:
//!
//! - `hot.order` first: the functions a worker runs (start-up, the job loop,
//!   fork, shutdown), listed by `resque-bench hot-order`, are placed together
//!   at the start of `.text`. The kernel maps code 64 KB around each page
//!   fault, so code spread over the whole binary costs several times its
//!   size in RSS.
//! - `-z pack-relative-relocs` (RELR): the relocations the loader reads at
//!   start-up shrink from ~250 KB to a few KB.
//!
//! Both need `rust-lld`, the default linker of `x86_64-unknown-linux-gnu`
//! from Rust 1.90, and RELR a glibc of 2.36 or later; elsewhere the binary
//! is linked as usual. `RESQUE_BENCH_LINK` tells the benchmark which.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=hot.order");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let layout = match lld_linked() {
        Err(why) => why,
        Ok(()) => {
            let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
            println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={dir}/hot.order");
            // Functions in the list but not in this build (another profile,
            // code that changed since the list was made) are skipped.
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
            if glibc_at_least(2, 36) {
                println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
                "hot.order, RELR".to_string()
            } else {
                "hot.order (no RELR: glibc older than 2.36)".to_string()
            }
        }
    };
    println!("cargo:rustc-env=RESQUE_BENCH_LINK={layout}");
}

/// Whether this build links with rust-lld: the right target, a recent
/// enough rustc, and no linker chosen by the user.
fn lld_linked() -> Result<(), String> {
    let target = env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" {
        return Err(format!("default (target {target} does not link with rust-lld by default)"));
    }
    if env::var_os("RUSTC_LINKER").is_some() {
        return Err("default (a linker is configured)".into());
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["linker", "link-self-contained", "fuse-ld"].iter().any(|f| flags.contains(f)) {
        return Err("default (RUSTFLAGS choose the linker)".into());
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc).arg("--version").output().map(|o| o.stdout).unwrap_or_default();
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let minor = String::from_utf8_lossy(&version)
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()));
    match minor {
        Some(minor) if minor >= 90 => Ok(()),
        _ => Err("default (rustc older than 1.90 links with the system linker)".into()),
    }
}

/// The build machine's glibc, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let out = Command::new("getconf").arg("GNU_LIBC_VERSION").output().map(|o| o.stdout).unwrap_or_default();
    let text = String::from_utf8_lossy(&out);
    let mut parts = text.split_whitespace().nth(1).unwrap_or("").split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
