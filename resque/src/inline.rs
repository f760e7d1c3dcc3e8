//! Inline mode, for tests: enqueueing runs the job at once in the calling
//! process (after a JSON round trip of its arguments, as a worker would see
//! them) instead of pushing it to Redis. Ruby's `Resque.inline`.
//!
//! On with [`set_inline`] or the environment variable `RESQUE_INLINE=1`.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};
use crate::payload::JobPayload;

const UNSET: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static INLINE: AtomicU8 = AtomicU8::new(UNSET);

/// Turns inline mode on or off for this process, whatever `RESQUE_INLINE` says.
///
/// ```
/// resque::set_inline(true);
/// assert!(resque::inline());
/// resque::set_inline(false);
/// assert!(!resque::inline());
/// ```
pub fn set_inline(on: bool) {
    INLINE.store(if on { ON } else { OFF }, Ordering::SeqCst);
}

/// Whether enqueueing runs jobs in this process: [`set_inline`], else
/// `RESQUE_INLINE` (`1`, `true` or `yes`).
pub fn inline() -> bool {
    match INLINE.load(Ordering::SeqCst) {
        ON => true,
        OFF => false,
        _ => {
            let on = std::env::var("RESQUE_INLINE")
                .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
            INLINE.store(if on { ON } else { OFF }, Ordering::SeqCst);
            on
        }
    }
}

/// Runs an encoded payload now, as a worker would: its class looked up in
/// the linked jobs, its args decoded from the JSON.
pub(crate) fn perform(queue: &str, payload_json: &str) -> Result<()> {
    let payload = JobPayload::parse(payload_json)
        .map_err(|e| Error::Encode { class: String::new(), reason: e.to_string() })?;
    let entry = crate::registry::linked(&payload.class)
        .ok_or_else(|| Error::UnknownJob { class: payload.class.clone() })?;
    entry.check_integers(payload_json).map_err(Error::JobFailed)?;
    crate::perform::perform(entry, queue, payload.args).map_err(Error::JobFailed)
}
