//! Failure backends: where failed jobs are recorded, and the admin
//! operations resque-web offers on them (list, retry, remove, clear), as
//! Ruby Resque 3.0's `Resque::Failure` backends do them.
//!
//! - [`RedisFailures`]: the `failed` list (Ruby's default `Failure::Redis`).
//! - [`RedisMultiQueueFailures`]: one `<queue>_failed` list per queue, their
//!   names in the `failed_queues` set (Ruby's `Failure::RedisMultiQueue`).
//! - [`MultipleFailures`]: saves to several backends, queries the first
//!   (Ruby's `Failure::Multiple`).
//! - [`LogFailures`]: logs each failure at error level and stores nothing.
//!
//! Entries are addressed by their index in the list, from 0, oldest first
//! (the order resque-web shows and the index Ruby's resque-web retries and
//! removes by), or by their [`FailureId`], derived from the entry's bytes.
//! An index names whatever is at that position when the command runs, so
//! after another client removed an entry before it, it names the next one;
//! an id names the entry that was seen, wherever it is now, and is refused
//! ([`Error::NoSuchFailureId`]) once that entry is gone.
//!
//! ```no_run
//! use resque::failure::{FailureBackend, RedisFailures};
//! # fn main() -> resque::Result<()> {
//! let failures = RedisFailures::new(resque::Client::new("localhost:6379")?);
//! for (index, failure) in failures.select(Some("Archive"), None)? {
//!     println!("{index}: {:?} {:?}", failure.exception, failure.error);
//! }
//! failures.requeue(0)?; // retry the oldest failure
//! let (_, oldest) = &failures.select(None, None)?[0];
//! failures.remove_id(oldest.id)?; // remove that one, wherever it is now
//! failures.requeue_not_retried()?; // retry the others, once
//! failures.clear_retried()?;
//! # Ok(()) }
//! ```
//!
//! # Concurrency
//!
//! Requeueing and removing one entry are each one Lua script (or one
//! `LREM`), so nothing another client does can come between checking an
//! entry and rewriting it. A requeue rewrites the entry it read: if another
//! client removed entries before it in the meantime, the entry is found
//! again by its bytes (`LPOS`). Acting by id reads the list, finds the
//! entry with the id, and acts on those exact bytes; if they changed
//! meanwhile (another client retried the entry) the list is read again.
//! Bulk removals (`remove_queue`, `clear_retried`) remove each chosen entry
//! by its exact bytes (`LREM <list> 1 <entry>`), so an entry appended or
//! changed meanwhile is never removed by mistake.

mod destination;
mod failed_list;
mod list;
mod log;
mod multi_queue;
mod multiple;
mod redis;

pub use destination::FailureDestination;
pub(crate) use destination::{log_failure, FailureTargets};
pub use failed_list::FailedList;
pub use log::LogFailures;
pub use multi_queue::RedisMultiQueueFailures;
pub use multiple::MultipleFailures;
pub use redis::RedisFailures;

#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
#[cfg(doc)]
use crate::payload;
use crate::payload::{Failure, FailureId, NewFailure};

/// Where failures are recorded, and what can be done with them.
///
/// Indexes count from 0, oldest first. An index past the end is
/// [`Error::NoSuchFailure`], and then nothing changes. The `*_id` methods
/// name an entry by its [`FailureId`] instead: the entry seen, wherever it
/// is now.
pub trait FailureBackend {
    /// Records a failure.
    fn save(&self, failure: &NewFailure<'_>) -> Result<()>;

    /// How many failures are recorded.
    fn count(&self) -> Result<u64>;

    /// Up to `count` failures from index `start`, oldest first (Ruby's
    /// `Resque::Failure.all(offset, limit)`). An entry that is not JSON
    /// comes back with its text as `payload`.
    fn all(&self, start: usize, count: usize) -> Result<Vec<Failure>>;

    /// Every failure whose payload's `class` is `class` and whose `queue` is
    /// `queue` (`None` matches anything), with its index (Ruby's
    /// `Resque::Failure.each` with a class name, and a queue filter).
    fn select(&self, class: Option<&str>, queue: Option<&str>) -> Result<Vec<(usize, Failure)>>;

    /// Retries the failure at `index`: the entry stays, gains `retried_at`
    /// (see [`payload::time::retried_at`]), and its original payload is
    /// pushed, byte for byte, to the end of the entry's queue, waking idle
    /// resque-rs workers. A payload that was not JSON is pushed as its
    /// original text.
    fn requeue(&self, index: usize) -> Result<()>;

    /// Retries every failure; returns how many were requeued. Entries that
    /// cannot be requeued (no queue, no payload, not JSON) are skipped with
    /// a warning.
    fn requeue_all(&self) -> Result<usize>;

    /// Retries every failure not retried yet (without a `retried_at`);
    /// returns how many. Repeating it retries nothing twice: an entry
    /// retried by an earlier call, or by anyone, is left alone.
    fn requeue_not_retried(&self) -> Result<usize>;

    /// Retries every failure of jobs from `queue`; returns how many.
    fn requeue_queue(&self, queue: &str) -> Result<usize>;

    /// The failure whose id is `id`, with its index now.
    /// [`Error::NoSuchFailureId`] when no entry has it,
    /// [`Error::AmbiguousFailureId`] when different entries do.
    fn find(&self, id: FailureId) -> Result<(usize, Failure)>;

    /// Retries the failure whose id is `id`, wherever it is now, as
    /// [`requeue`](Self::requeue) does; returns its index and the entry as
    /// it was. Errors as [`find`](Self::find), and then nothing changes.
    fn requeue_id(&self, id: FailureId) -> Result<(usize, Failure)>;

    /// Removes the failure whose id is `id`, wherever it is now; returns
    /// its index and the entry. Errors as [`find`](Self::find), and then
    /// nothing changes.
    fn remove_id(&self, id: FailureId) -> Result<(usize, Failure)>;

    /// Removes the failure at `index`; the others keep their order.
    fn remove(&self, index: usize) -> Result<()>;

    /// Removes every failure of jobs from `queue`; returns how many.
    fn remove_queue(&self, queue: &str) -> Result<usize>;

    /// Removes every failure.
    fn clear(&self) -> Result<()>;

    /// Removes every failure that was retried; returns how many.
    fn clear_retried(&self) -> Result<usize>;
}

/// A failure as a command line or a form names it: by index or by id.
///
/// Parsed from text: exactly 12 hex digits are an id ([`FailureId::parse`]),
/// a decimal number is an index. (A Redis list holds fewer than 2³²
/// entries, so no index needs 11 digits or more.)
///
/// ```
/// use resque::failure::FailureRef;
/// assert_eq!("3".parse::<FailureRef>().unwrap(), FailureRef::Index(3));
/// assert!(matches!("3db87e6340c9".parse(), Ok(FailureRef::Id(_))));
/// assert!("3db8".parse::<FailureRef>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureRef {
    /// Whatever is at this index now, from 0, oldest first.
    Index(usize),
    /// The entry with this id, wherever it is now.
    Id(FailureId),
}

/// Text that is neither a failure index nor a failure id.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{0:?} names no failure: give an index (0 is the oldest) or an id (12 hex digits, as `failed list` shows)"
)]
pub struct ParseFailureRefError(String);

impl std::str::FromStr for FailureRef {
    type Err = ParseFailureRefError;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(id) = FailureId::parse(text) {
            return Ok(FailureRef::Id(id));
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(index) = text.parse() {
                return Ok(FailureRef::Index(index));
            }
        }
        Err(ParseFailureRefError(text.to_string()))
    }
}

impl std::fmt::Display for FailureRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureRef::Index(index) => write!(f, "{index}"),
            FailureRef::Id(id) => write!(f, "{id}"),
        }
    }
}
