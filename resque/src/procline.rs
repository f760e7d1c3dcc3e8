//! Process titles as `ps` shows them, in Ruby Resque's form
//! (`resque-0.1.0: Waiting for file_serve`), so that operators and Ruby
//! workers pruning dead workers (`ps` matching `resque-[0-9]`) recognise ours.
//!
//! On Linux the command line `ps` prints is the memory that held the
//! program's arguments; the title is written there, truncated to its size.

use std::sync::OnceLock;

/// What every worker title starts with (after any app prefix): `resque-<version>`.
pub const PREFIX: &str = concat!("resque-", env!("CARGO_PKG_VERSION"));

/// Where this process's argument strings live: (address, length).
fn arg_region() -> Option<(usize, usize)> {
    static REGION: OnceLock<Option<(usize, usize)>> = OnceLock::new();
    *REGION.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name start at field 3;
        // arg_start and arg_end are fields 48 and 49.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let start: usize = fields.get(45)?.parse().ok()?;
        let end: usize = fields.get(46)?.parse().ok()?;
        (start != 0 && end > start).then(|| (start, end - start))
    })
}

static APP_PREFIX: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Text put before `resque-<version>` in every title from now on (Ruby's
/// `RESQUE_PROCLINE_PREFIX`).
pub(crate) fn set_prefix(prefix: &str) {
    *APP_PREFIX.lock().unwrap_or_else(|p| p.into_inner()) = prefix.to_string();
}

/// Sets the process title to `[prefix]resque-<version>: <status>`.
pub(crate) fn set(status: &str) {
    set_title(&title(status));
}

/// The whole title for `status`: `[prefix]resque-<version>: <status>`.
pub(crate) fn title(status: &str) -> String {
    let app = APP_PREFIX.lock().unwrap_or_else(|p| p.into_inner());
    format!("{app}{PREFIX}: {status}")
}

/// Sets the whole process title as `ps` shows it, truncated to the space the
/// program's arguments took. Read arguments (`std::env::args`) before the
/// first call: they are overwritten.
///
/// ```
/// resque::procline::set_title("resque-supervisor: Supervising 3 workers");
/// ```
pub fn set_title(title: &str) {
    tracing::trace!(title, "process title");
    if let Ok(name) = std::ffi::CString::new(title.chars().take(15).collect::<String>()) {
        let _ = nix::sys::prctl::set_name(&name);
    }
    let Some((start, len)) = arg_region() else { return };
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    #[allow(unsafe_code)]
    // SAFETY: [start, start + len) is the kernel-reported span of this
    // process's own argument strings (/proc/self/stat arg_start..arg_end): it
    // lies in the initial stack mapping, is writable, and stays mapped for the
    // life of the process. We write at most `len` bytes inside it and end with
    // NULs. Nothing else writes there; the only readers are `std::env::args`,
    // which sees the title afterwards (callers read their arguments before
    // setting a title), and the kernel's /proc/<pid>/cmdline.
    unsafe {
        let dst = start as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, n);
        std::ptr::write_bytes(dst.add(n), 0, len - n);
    }
}
