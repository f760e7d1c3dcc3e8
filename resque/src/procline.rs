//! Process titles as `ps` shows them, in Ruby Resque's form
//! (`resque-0.1.0: Waiting for file_serve`), so that operators and Ruby
//! workers pruning dead workers (`ps` matching `resque-[0-9]`) recognise ours.
//!
//! On Linux the command line `ps` prints (`/proc/<pid>/cmdline`) is the
//! memory that held the program's arguments, and the kernel reads on into
//! the environment strings that follow them when the last byte of the
//! arguments is no longer a NUL. So, as PostgreSQL's and Ruby's
//! `setproctitle` do, the first title copies every environment string to
//! the heap and points libc's `environ` at the copies (`std::env` reads
//! `environ`, so it sees the same variables); from then on the arguments
//! and the environment together are the title's room, however short the
//! command line was (`./w work`). This is done only while the process has
//! a single thread, since another thread could be reading `environ`; in a
//! process with threads the title has the arguments' room only. A title
//! longer than its room (a process started with a short command line and
//! next to no environment, or one page, all the kernel shows) is cut at a
//! character boundary. `/proc/<pid>/environ` shows what is left of the
//! original strings, not the environment.

use std::ffi::{c_char, CStr, CString};
use std::sync::{Mutex, OnceLock};

/// What every worker title starts with (after any app prefix): `resque-<version>`.
pub const PREFIX: &str = concat!("resque-", env!("CARGO_PKG_VERSION"));

/// The memory a title is written to: the argument strings, followed by the
/// environment strings once they have been moved away.
struct Area {
    /// Where the argument strings start (`arg_start`).
    start: usize,
    /// Their length (`arg_end - arg_start`).
    argv: usize,
    /// The bytes a title may use, its final NUL included: at least the
    /// arguments, at most the arguments and the environment strings.
    room: usize,
    /// How far bytes other than NULs may still lie: the original arguments,
    /// or a longer title written before.
    dirty: usize,
}

/// The `/proc/self/stat` fields the area is found from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    threads: usize,
    arg_start: usize,
    arg_end: usize,
    env_start: usize,
    env_end: usize,
}

impl Stat {
    /// Parses `/proc/self/stat`: field 20 is `num_threads`, 48 to 51
    /// `arg_start`, `arg_end`, `env_start`, `env_end` (counted from 1; the
    /// command name, field 2, is in parentheses and may hold spaces).
    fn parse(stat: &str) -> Option<Stat> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| -> Option<usize> { fields.get(n - 3)?.parse().ok() };
        Some(Stat {
            threads: field(20)?,
            arg_start: field(48)?,
            arg_end: field(49)?,
            env_start: field(50)?,
            env_end: field(51)?,
        })
    }

    /// The bytes from `arg_start` a title may use: the arguments, plus the
    /// environment strings when they directly follow the arguments (the
    /// kernel reads on into them only then) and `environ_moved`.
    fn room(&self, environ_moved: bool) -> usize {
        let argv = self.arg_end - self.arg_start;
        if environ_moved && self.env_start == self.arg_end && self.env_end > self.env_start {
            self.env_end - self.arg_start
        } else {
            argv
        }
    }

    /// Whether the environment strings follow the arguments and can be
    /// moved away: there are some, and no other thread may be reading them.
    fn may_move_environ(&self) -> bool {
        self.threads == 1 && self.env_start == self.arg_end && self.env_end > self.env_start
    }
}

/// How much of a title that runs on past the arguments the kernel shows:
/// one page, of which 4096 bytes is the smallest size.
const SHOWN: usize = 4096;

impl Area {
    /// Finds this process's area, moving the environment out of it when
    /// that is safe. Called once, at the first title.
    fn find() -> Option<Area> {
        let stat = Stat::parse(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
        if stat.arg_start == 0 || stat.arg_end <= stat.arg_start {
            return None;
        }
        let moved = stat.may_move_environ() && move_environ();
        if !moved && stat.env_end > stat.env_start {
            tracing::debug!(threads = stat.threads, "process titles get only the arguments' room");
        }
        let argv = stat.arg_end - stat.arg_start;
        // A title that fits in the arguments is shown whole; one that runs
        // on past them, up to the first NUL within one page.
        let room = argv.max(stat.room(moved).min(SHOWN));
        Some(Area { start: stat.arg_start, argv, room, dirty: argv })
    }

    /// Writes `title`, cut to the room, then NULs over whatever was there
    /// after it.
    fn write(&mut self, title: &str) {
        let bytes = cut(title, self.room - 1).as_bytes();
        let n = bytes.len();
        let clear = self.dirty.max(n + 1) - n;
        #[allow(unsafe_code)]
        // SAFETY: [start, start + room) lies within the kernel-reported span
        // of this process's own argument strings and, only when `room`
        // exceeds them, of its environment strings (/proc/self/stat
        // arg_start..env_end, contiguous): the initial stack mapping,
        // writable and mapped for the life of the process. We write at most
        // `room` bytes (n < room, and dirty <= room). Nothing reads the
        // environment strings any more: `environ` points at heap copies
        // (move_environ) before `room` covers them. Readers of the argument
        // strings (`std::env::args`) see the title, as documented; the
        // mutex around the area keeps two titles from being written at once.
        unsafe {
            let dst = self.start as *mut u8;
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, n);
            std::ptr::write_bytes(dst.add(n), 0, clear);
        }
        self.dirty = self.argv.max(n + 1);
    }
}

/// Copies every environment string to the heap and points `environ` at the
/// copies, so that the original strings may be overwritten. The copies live
/// as long as the process (libc's `setenv` and `unsetenv` edit the new array
/// as they would the old one). Returns whether the environment was moved.
fn move_environ() -> bool {
    extern "C" {
        static mut environ: *mut *mut c_char;
    }
    #[allow(unsafe_code)]
    // SAFETY: the caller checked that this process has a single thread (no
    // other thread can read or change `environ` meanwhile, and none can
    // start, since only this thread could start it). `environ` is libc's
    // NULL-terminated array of pointers to NUL-terminated strings; we read
    // it up to its NULL, copy each string, and store a pointer to a leaked,
    // NULL-terminated array of leaked copies, a valid `environ` for ever.
    unsafe {
        let old = *std::ptr::addr_of!(environ);
        if old.is_null() {
            return false;
        }
        let mut copies: Vec<*mut c_char> = Vec::new();
        let mut entry = old;
        while !(*entry).is_null() {
            copies.push(CStr::from_ptr(*entry).to_owned().into_raw());
            entry = entry.add(1);
        }
        copies.push(std::ptr::null_mut());
        let array: &'static mut [*mut c_char] = Box::leak(copies.into_boxed_slice());
        *std::ptr::addr_of_mut!(environ) = array.as_mut_ptr();
    }
    true
}

/// `text` up to its first NUL, cut to at most `max` bytes at a character
/// boundary.
fn cut(text: &str, max: usize) -> &str {
    let text = text.split('\0').next().unwrap_or_default();
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The area of this process, found at the first title; `None` where there
/// is none (not Linux, or /proc unreadable).
static AREA: OnceLock<Option<Mutex<Area>>> = OnceLock::new();

static APP_PREFIX: Mutex<String> = Mutex::new(String::new());

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

/// Sets the whole process title as `ps` shows it, and the thread name (its
/// first 15 bytes, as `ps -o comm` and `top` show it). The first call moves
/// the environment out of the way (see the [module](self) docs), so that the
/// title is whole however short the command line was. Read arguments
/// (`std::env::args`) before the first call: they are overwritten.
///
/// ```
/// resque::procline::set_title("resque-supervisor: Supervising 3 workers");
/// ```
pub fn set_title(title: &str) {
    tracing::trace!(title, "process title");
    if let Ok(name) = CString::new(cut(title, 15)) {
        let _ = nix::sys::prctl::set_name(&name);
    }
    if let Some(area) = AREA.get_or_init(|| Area::find().map(Mutex::new)) {
        area.lock().unwrap_or_else(|p| p.into_inner()).write(title);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_past_a_command_name_with_spaces() {
        // A real line's shape: 52 fields, the name holding ") (" and spaces.
        let mut fields: Vec<String> = (3..=52).map(|n| (n * 10).to_string()).collect();
        fields[20 - 3] = "1".to_string();
        let line = format!("4242 (w ) (x) {}", fields.join(" "));
        let stat = Stat::parse(&line).unwrap();
        assert_eq!(stat, Stat { threads: 1, arg_start: 480, arg_end: 490, env_start: 500, env_end: 510 });
        assert_eq!(Stat::parse("4242 (w) S 1 2"), None);
    }

    #[test]
    fn the_environment_adds_room_only_when_moved_and_adjacent() {
        let stat = Stat { threads: 1, arg_start: 1000, arg_end: 1009, env_start: 1009, env_end: 1400 };
        assert!(stat.may_move_environ());
        assert_eq!(stat.room(true), 400);
        assert_eq!(stat.room(false), 9);
        let threaded = Stat { threads: 3, ..stat };
        assert!(!threaded.may_move_environ());
        let apart = Stat { env_start: 2000, env_end: 2400, ..stat };
        assert!(!apart.may_move_environ());
        assert_eq!(apart.room(true), 9);
        let empty = Stat { env_end: 1009, ..stat };
        assert!(!empty.may_move_environ());
    }

    #[test]
    fn titles_are_cut_at_a_character_boundary_and_a_nul() {
        assert_eq!(cut("resque-0.1.0: Waiting", 6), "resque");
        assert_eq!(cut("résumé", 2), "r");
        assert_eq!(cut("résumé", 3), "ré");
        assert_eq!(cut("a\0b", 15), "a");
        assert_eq!(cut("short", 15), "short");
    }
}
