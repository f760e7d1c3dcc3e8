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

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use redis::{Commands, Script};
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::keys::Keys;
use crate::payload::{self, Failure, FailureId, NewFailure, RawFailure};

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

/// Marks a failure entry retried and pushes its payload, in one step.
///
/// KEYS: failed list, queues, queue:<q>
/// ARGV: index hint, entry as read, entry with retried_at, payload, queue
///       name, wake channel
/// Returns the index the entry was found at, or -1 when it is gone.
const REQUEUE: &str = r#"
local index = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], index) ~= ARGV[2] then
  local ok, found = pcall(redis.call, 'LPOS', KEYS[1], ARGV[2])
  if not ok or not found then return -1 end
  index = found
end
redis.call('LSET', KEYS[1], index, ARGV[3])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[6], ARGV[5])
return index
"#;

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

/// Removes the entry at an index, as Ruby does (`LSET` to a marker, then
/// `LREM` of the marker), after checking that the index exists.
///
/// KEYS: failed list
/// ARGV: index, marker
/// Returns {1 if removed else 0, length before}.
const REMOVE: &str = r#"
local length = redis.call('LLEN', KEYS[1])
local index = tonumber(ARGV[1])
if index >= length then return {0, length} end
redis.call('LSET', KEYS[1], index, ARGV[2])
redis.call('LREM', KEYS[1], 1, ARGV[2])
return {1, length}
"#;

/// A value no entry can equal: entries are JSON objects.
fn removal_marker() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let now = Timestamp::now();
    format!("__resque_rs_removed__:{}:{}:{n}", std::process::id(), now.as_nanosecond())
}

fn matches(failure: &Failure, class: Option<&str>, queue: Option<&str>) -> bool {
    class.is_none_or(|c| failure.payload.get("class").and_then(Value::as_str) == Some(c))
        && queue.is_none_or(|q| failure.queue.as_deref() == Some(q))
}

/// What a requeue pushes, and where.
struct Retry {
    /// The queue's exact name (`queue_base64` when the entry has it).
    queue: Vec<u8>,
    payload: Vec<u8>,
    entry: String,
}

fn prepare_retry(index: usize, raw: &str) -> Result<Retry> {
    let bad = |reason: &str| Error::BadFailure { index, reason: reason.to_string() };
    let mut entry =
        RawFailure::parse(raw).map_err(|e| bad(&format!("the entry is not a JSON object: {e}")))?;
    let queue =
        entry.original_queue().filter(|q| !q.is_empty()).ok_or_else(|| bad("the entry names no queue"))?;
    if entry.payload().is_none() {
        return Err(bad("the entry has no payload"));
    }
    let payload = entry.original_payload().ok_or_else(|| bad("the payload is not a job (a JSON object)"))?;
    entry.set_retried_at(&payload::time::retried_at(Timestamp::now()));
    Ok(Retry { queue, payload, entry: entry.to_json() })
}

/// One failed list (`failed`, or a `<queue>_failed`).
#[derive(Clone)]
struct List<'a> {
    client: &'a Client,
    /// Its key: any bytes, as a `<queue>_failed` list is named after the
    /// queue's exact name.
    key: Vec<u8>,
}

impl List<'_> {
    fn len(&self) -> Result<u64> {
        self.client.with_conn(|c| c.llen(&self.key))
    }

    /// Entries as bytes: one that is not UTF-8 is still an entry.
    fn range(&self, start: usize, count: usize) -> Result<Vec<Vec<u8>>> {
        let Some((start, stop)) = crate::client::range_bounds(start, count) else { return Ok(Vec::new()) };
        self.client.with_conn(|c| c.lrange(&self.key, start, stop))
    }

    fn entries(&self) -> Result<Vec<Vec<u8>>> {
        self.client.with_conn(|c| c.lrange(&self.key, 0, -1))
    }

    fn all(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        Ok(self.range(start, count)?.iter().map(|raw| Failure::from_bytes(raw)).collect())
    }

    fn select(
        &self,
        offset: usize,
        class: Option<&str>,
        queue: Option<&str>,
        into: &mut Vec<(usize, Failure)>,
    ) -> Result<()> {
        for (i, raw) in self.entries()?.iter().enumerate() {
            let failure = Failure::from_bytes(raw);
            if matches(&failure, class, queue) {
                into.push((offset + i, failure));
            }
        }
        Ok(())
    }

    /// Requeues `raw`, read at `index`; `false` when it is no longer in the list.
    fn requeue_entry(&self, index: usize, raw: &[u8]) -> Result<bool> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| Error::BadFailure { index, reason: "the entry is not valid UTF-8".into() })?;
        let retry = prepare_retry(index, text)?;
        let keys = self.client.keys();
        let script = Script::new(REQUEUE);
        let mut call = script.key(&self.key);
        call.key(keys.queues())
            .key(keys.queue_of_bytes(&retry.queue))
            .arg(index)
            .arg(raw)
            .arg(&retry.entry)
            .arg(&retry.payload)
            .arg(&retry.queue)
            .arg(keys.wake_channel());
        let found: i64 = self.client.with_conn(|c| call.invoke(c))?;
        Ok(found >= 0)
    }

    fn requeue_at(&self, index: usize) -> Result<()> {
        // Another client may remove the entry between reading and rewriting
        // it: read again, a few times.
        // An index past isize::MAX would wrap to one counted from the end.
        let at = isize::try_from(index).ok();
        for _ in 0..5 {
            let raw: Option<Vec<u8>> = match at {
                Some(at) => self.client.with_conn(|c| c.lindex(&self.key, at))?,
                None => None,
            };
            let Some(raw) = raw else {
                return Err(Error::NoSuchFailure { index, count: self.len()? });
            };
            if self.requeue_entry(index, &raw)? {
                return Ok(());
            }
        }
        Err(Error::BadFailure { index, reason: "the failed list kept changing; try again".into() })
    }

    /// Requeues every entry `pick` chooses; returns how many.
    fn requeue_matching(&self, pick: impl Fn(&RawFailure) -> bool, warn_unparsable: bool) -> Result<usize> {
        let mut requeued = 0;
        for (i, raw) in self.entries()?.into_iter().enumerate() {
            match parse_raw(&raw) {
                Some(entry) if !pick(&entry) => continue,
                None if !warn_unparsable => continue,
                _ => {}
            }
            match self.requeue_entry(i, &raw) {
                Ok(true) => requeued += 1,
                Ok(false) => {
                    tracing::debug!(list = %payload::escape_bytes(&self.key), index = i, "failure gone before its requeue")
                }
                Err(e @ Error::BadFailure { .. }) => {
                    tracing::warn!(list = %payload::escape_bytes(&self.key), "skipped: {e}")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(requeued)
    }

    fn remove_at(&self, index: usize) -> Result<()> {
        let script = Script::new(REMOVE);
        let mut call = script.key(&self.key);
        call.arg(index).arg(removal_marker());
        let (removed, count): (i64, u64) = self.client.with_conn(|c| call.invoke(c))?;
        if removed == 1 {
            Ok(())
        } else {
            Err(Error::NoSuchFailure { index, count })
        }
    }

    /// Removes every entry `pick` chooses, each by its exact bytes; returns how many.
    fn remove_matching(&self, pick: impl Fn(&RawFailure) -> bool) -> Result<usize> {
        let chosen: Vec<Vec<u8>> = self
            .entries()?
            .into_iter()
            .filter(|raw| parse_raw(raw).is_some_and(|entry| pick(&entry)))
            .collect();
        let mut removed = 0;
        for chunk in chosen.chunks(500) {
            let mut pipe = redis::pipe();
            for raw in chunk {
                pipe.lrem(&self.key, 1, raw);
            }
            let counts: Vec<u64> = self.client.with_conn(|c| pipe.query(c))?;
            removed += counts.iter().sum::<u64>() as usize;
        }
        Ok(removed)
    }

    fn clear(&self) -> Result<()> {
        self.client.with_conn(|c| c.del::<_, ()>(&self.key))
    }

    /// Does `act` to `raw`, read at `index`; `false` when those bytes are
    /// no longer in the list.
    fn act(&self, act: Act, index: usize, raw: &[u8]) -> Result<bool> {
        match act {
            Act::Requeue => self.requeue_entry(index, raw),
            // Identical entries are one failure: removing the first is removing it.
            Act::Remove => {
                let removed: u64 = self.client.with_conn(|c| c.lrem(&self.key, 1, raw))?;
                Ok(removed == 1)
            }
        }
    }
}

fn parse_raw(raw: &[u8]) -> Option<RawFailure> {
    RawFailure::parse(std::str::from_utf8(raw).ok()?).ok()
}

/// What is done to an entry found by its id.
#[derive(Clone, Copy)]
enum Act {
    Requeue,
    Remove,
}

/// The entry with an id, as found: its list, its index there and overall, its bytes.
struct Found<'a> {
    list: List<'a>,
    local: usize,
    index: usize,
    raw: Vec<u8>,
}

/// Finds the entry whose id is `id` in `lists`, seen as one list in their
/// order. Entries that are the same failure (equal but for `retried_at`)
/// share an id and the first is found; different ones sharing it are an
/// error.
fn find_id<'a>(lists: Vec<List<'a>>, id: FailureId) -> Result<Found<'a>> {
    let mut found = None;
    let mut distinct: Vec<Vec<u8>> = Vec::new();
    let mut offset = 0;
    for list in lists {
        let entries = list.entries()?;
        let len = entries.len();
        for (local, raw) in entries.into_iter().enumerate() {
            if FailureId::of(&raw) != id {
                continue;
            }
            let identity = payload::identity_bytes(&raw);
            if !distinct.iter().any(|d| *d == *identity) {
                distinct.push(identity.into_owned());
            }
            if found.is_none() {
                found = Some(Found { list: list.clone(), local, index: offset + local, raw });
            }
        }
        offset += len;
    }
    if distinct.len() > 1 {
        return Err(Error::AmbiguousFailureId { id, count: distinct.len() });
    }
    found.ok_or(Error::NoSuchFailureId { id })
}

/// Does `act` to the entry whose id is `id` in `lists()`; finds it again
/// when its bytes changed between reading and acting (another client
/// retried it) or it moved to where `LPOS` misses it.
fn act_on_id<'a>(
    lists: impl Fn() -> Result<Vec<List<'a>>>,
    id: FailureId,
    act: Act,
) -> Result<(usize, Failure)> {
    let mut index = 0;
    for _ in 0..5 {
        let found = find_id(lists()?, id)?;
        index = found.index;
        let done = found.list.act(act, found.local, &found.raw).map_err(|e| match e {
            Error::BadFailure { reason, .. } => Error::BadFailure { index, reason },
            e => e,
        })?;
        if done {
            return Ok((index, Failure::from_bytes(&found.raw)));
        }
    }
    Err(Error::BadFailure { index, reason: "the failed list kept changing; try again".into() })
}

fn find_in(lists: Vec<List<'_>>, id: FailureId) -> Result<(usize, Failure)> {
    let found = find_id(lists, id)?;
    Ok((found.index, Failure::from_bytes(&found.raw)))
}

// ----- Failure::Redis --------------------------------------------------------

/// The default backend: every failure in the `failed` list (Ruby's
/// `Resque::Failure::Redis`), the list resque-web shows.
///
/// ```no_run
/// use resque::failure::{FailureBackend, RedisFailures};
/// # fn main() -> resque::Result<()> {
/// let failures = RedisFailures::new(resque::Client::new("localhost:6379")?);
/// println!("{} failed", failures.count()?);
/// for f in failures.all(0, 20)? {
///     println!("{:?} in {:?}: {:?}", f.exception, f.queue, f.error);
/// }
/// failures.requeue_queue("file_serve")?;
/// failures.remove(0)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisFailures {
    client: Client,
}

impl RedisFailures {
    /// The `failed` list of `client`'s namespace.
    pub fn new(client: Client) -> Self {
        RedisFailures { client }
    }

    fn list(&self) -> List<'_> {
        List { client: &self.client, key: self.client.keys().failed().into_bytes() }
    }
}

impl FailureBackend for RedisFailures {
    fn save(&self, failure: &NewFailure<'_>) -> Result<()> {
        let list = self.list();
        self.client.with_conn(|c| c.rpush::<_, _, ()>(&list.key, failure.to_json()))
    }

    fn count(&self) -> Result<u64> {
        self.list().len()
    }

    fn all(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        self.list().all(start, count)
    }

    fn select(&self, class: Option<&str>, queue: Option<&str>) -> Result<Vec<(usize, Failure)>> {
        let mut found = Vec::new();
        self.list().select(0, class, queue, &mut found)?;
        Ok(found)
    }

    fn requeue(&self, index: usize) -> Result<()> {
        self.list().requeue_at(index)
    }

    fn requeue_all(&self) -> Result<usize> {
        self.list().requeue_matching(|_| true, true)
    }

    fn requeue_not_retried(&self) -> Result<usize> {
        self.list().requeue_matching(|e| !e.is_retried(), true)
    }

    fn requeue_queue(&self, queue: &str) -> Result<usize> {
        self.list().requeue_matching(|e| e.queue().as_deref() == Some(queue), false)
    }

    fn find(&self, id: FailureId) -> Result<(usize, Failure)> {
        find_in(vec![self.list()], id)
    }

    fn requeue_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| Ok(vec![self.list()]), id, Act::Requeue)
    }

    fn remove_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| Ok(vec![self.list()]), id, Act::Remove)
    }

    fn remove(&self, index: usize) -> Result<()> {
        self.list().remove_at(index)
    }

    fn remove_queue(&self, queue: &str) -> Result<usize> {
        self.list().remove_matching(|e| e.queue().as_deref() == Some(queue))
    }

    fn clear(&self) -> Result<()> {
        self.list().clear()
    }

    fn clear_retried(&self) -> Result<usize> {
        self.list().remove_matching(RawFailure::is_retried)
    }
}

// ----- Failure::RedisMultiQueue ----------------------------------------------

/// One failed list per queue (Ruby's `Resque::Failure::RedisMultiQueue`): a
/// job from `file_serve` fails into `file_serve_failed`, and the set
/// `failed_queues` holds the names of those lists (`file_serve_failed`).
///
/// Through [`FailureBackend`] the lists are seen as one, in the order of
/// their names sorted, each oldest first; `count` sums them. The `*_in`
/// methods take one list's name, as Ruby's methods with a queue argument do.
///
/// ```no_run
/// use resque::failure::{FailureBackend, RedisMultiQueueFailures};
/// # fn main() -> resque::Result<()> {
/// let failures = RedisMultiQueueFailures::new(resque::Client::new("localhost:6379")?);
/// for list in failures.failed_lists()? {
///     println!("{list}: {}", failures.count_in(&list)?);
/// }
/// failures.requeue_in("file_serve_failed", 0)?;
/// failures.clear_in("mail_failed")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisMultiQueueFailures {
    client: Client,
}

impl RedisMultiQueueFailures {
    /// The per-queue failed lists of `client`'s namespace.
    pub fn new(client: Client) -> Self {
        RedisMultiQueueFailures { client }
    }

    /// The list named `name` as [`failed_lists`](Self::failed_lists)
    /// shows it: a name shown with `\xNN` may stand for a member of
    /// `failed_queues` that is not UTF-8 (a queue named so), whose exact
    /// bytes name the key.
    fn list(&self, name: &str) -> List<'_> {
        let exact = if name.contains("\\x") {
            self.raw_lists().ok().and_then(|raw| raw.into_iter().find(|r| payload::escape_bytes(r) == name))
        } else {
            None
        };
        let name = exact.unwrap_or_else(|| name.as_bytes().to_vec());
        List { client: &self.client, key: self.client.keys().key_of_bytes(&name) }
    }

    /// The members of `failed_queues`, as bytes.
    fn raw_lists(&self) -> Result<Vec<Vec<u8>>> {
        self.client.with_conn(|c| c.smembers(self.client.keys().failed_queues()))
    }

    /// The names of the failed lists (`<queue>_failed`), from `failed_queues`, sorted;
    /// a name that is not UTF-8 shown with `\xNN` for each such byte.
    pub fn failed_lists(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.raw_lists()?.into_iter().map(payload::into_text).collect();
        names.sort();
        Ok(names)
    }

    /// Every failed list (see [`RedisMultiQueueFailures::failed_lists`]) with
    /// its length, the lengths read in one pipeline.
    pub fn lengths(&self) -> Result<Vec<(String, u64)>> {
        let mut names = self.raw_lists()?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        names.sort_by(|a, b| payload::escape_bytes(a).cmp(&payload::escape_bytes(b)));
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.llen(self.client.keys().key_of_bytes(name));
        }
        let lengths: Vec<u64> = self.client.with_conn(|c| pipe.query(c))?;
        Ok(names.into_iter().map(payload::into_text).zip(lengths).collect())
    }

    /// The list holding overall `index`, and the index in it; else the total.
    fn locate(&self, index: usize) -> Result<std::result::Result<(String, usize, usize, u64), u64>> {
        let lengths = self.lengths()?;
        let total: u64 = lengths.iter().map(|(_, n)| n).sum();
        let mut offset = 0usize;
        for (name, len) in lengths {
            let len = len as usize;
            if index < offset + len {
                return Ok(Ok((name, index - offset, offset, total)));
            }
            offset += len;
        }
        Ok(Err(total))
    }

    /// How many failures the list `list` (e.g. `file_serve_failed`) holds.
    pub fn count_in(&self, list: &str) -> Result<u64> {
        self.list(list).len()
    }

    /// Up to `count` failures of the list `list` from index `start`.
    pub fn all_in(&self, list: &str, start: usize, count: usize) -> Result<Vec<Failure>> {
        self.list(list).all(start, count)
    }

    /// Retries the failure at `index` of the list `list`.
    pub fn requeue_in(&self, list: &str, index: usize) -> Result<()> {
        self.list(list).requeue_at(index)
    }

    /// Removes the failure at `index` of the list `list`.
    pub fn remove_in(&self, list: &str, index: usize) -> Result<()> {
        self.list(list).remove_at(index)
    }

    /// The failures of the list `list` whose class and queue match (`None`
    /// matches anything), with their index in it.
    pub fn select_in(
        &self,
        list: &str,
        class: Option<&str>,
        queue: Option<&str>,
    ) -> Result<Vec<(usize, Failure)>> {
        let mut found = Vec::new();
        self.list(list).select(0, class, queue, &mut found)?;
        Ok(found)
    }

    /// Retries every failure of the list `list`; returns how many.
    pub fn requeue_all_in(&self, list: &str) -> Result<usize> {
        self.list(list).requeue_matching(|_| true, true)
    }

    /// Retries every failure of the list `list` not retried yet; returns how many.
    pub fn requeue_not_retried_in(&self, list: &str) -> Result<usize> {
        self.list(list).requeue_matching(|e| !e.is_retried(), true)
    }

    /// The failure of the list `list` whose id is `id`, with its index there.
    pub fn find_in(&self, list: &str, id: FailureId) -> Result<(usize, Failure)> {
        find_in(vec![self.list(list)], id)
    }

    /// Retries the failure of the list `list` whose id is `id`, wherever it is now.
    pub fn requeue_id_in(&self, list: &str, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| Ok(vec![self.list(list)]), id, Act::Requeue)
    }

    /// Removes the failure of the list `list` whose id is `id`, wherever it is now.
    pub fn remove_id_in(&self, list: &str, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| Ok(vec![self.list(list)]), id, Act::Remove)
    }

    /// Every failed list, in [`failed_lists`](Self::failed_lists) order.
    fn lists(&self) -> Result<Vec<List<'_>>> {
        Ok(self.failed_lists()?.iter().map(|name| self.list(name)).collect())
    }

    /// Deletes the list `list`. Its name stays in `failed_queues`, as in Ruby.
    pub fn clear_in(&self, list: &str) -> Result<()> {
        self.list(list).clear()
    }
}

/// Rewrites an error about index `local` of one list as one about the
/// overall index.
fn overall(e: Error, offset: usize, total: u64) -> Error {
    match e {
        Error::NoSuchFailure { index, .. } => Error::NoSuchFailure { index: offset + index, count: total },
        Error::BadFailure { index, reason } => Error::BadFailure { index: offset + index, reason },
        e => e,
    }
}

impl FailureBackend for RedisMultiQueueFailures {
    /// `SADD failed_queues <queue>_failed` and `RPUSH <queue>_failed <entry>`.
    fn save(&self, failure: &NewFailure<'_>) -> Result<()> {
        let keys = self.client.keys();
        let name = Keys::failed_queue_name_of_bytes(failure.queue_bytes());
        self.client.with_conn(|c| {
            redis::pipe()
                .atomic()
                .sadd(keys.failed_queues(), &name)
                .ignore()
                .rpush(keys.failed_queue_of_bytes(failure.queue_bytes()), failure.to_json())
                .ignore()
                .query::<()>(c)
        })
    }

    fn count(&self) -> Result<u64> {
        Ok(self.lengths()?.iter().map(|(_, n)| n).sum())
    }

    fn all(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        let mut found = Vec::new();
        let mut offset = 0usize;
        let end = start.saturating_add(count);
        for (name, len) in self.lengths()? {
            let len = len as usize;
            let (from, to) = (start.max(offset), end.min(offset + len));
            if from < to {
                found.extend(self.list(&name).all(from - offset, to - from)?);
            }
            offset += len;
        }
        Ok(found)
    }

    fn select(&self, class: Option<&str>, queue: Option<&str>) -> Result<Vec<(usize, Failure)>> {
        let mut found = Vec::new();
        let mut offset = 0usize;
        for (name, len) in self.lengths()? {
            self.list(&name).select(offset, class, queue, &mut found)?;
            offset += len as usize;
        }
        Ok(found)
    }

    fn requeue(&self, index: usize) -> Result<()> {
        match self.locate(index)? {
            Ok((name, local, offset, total)) => {
                self.list(&name).requeue_at(local).map_err(|e| overall(e, offset, total))
            }
            Err(count) => Err(Error::NoSuchFailure { index, count }),
        }
    }

    fn requeue_all(&self) -> Result<usize> {
        let mut requeued = 0;
        for name in self.failed_lists()? {
            requeued += self.requeue_all_in(&name)?;
        }
        Ok(requeued)
    }

    fn requeue_not_retried(&self) -> Result<usize> {
        let mut requeued = 0;
        for name in self.failed_lists()? {
            requeued += self.requeue_not_retried_in(&name)?;
        }
        Ok(requeued)
    }

    /// Retries every failure in `<queue>_failed`, as Ruby does.
    fn requeue_queue(&self, queue: &str) -> Result<usize> {
        self.requeue_all_in(&Keys::failed_queue_name(queue))
    }

    /// Looks in every list, in [`failed_lists`](Self::failed_lists) order.
    fn find(&self, id: FailureId) -> Result<(usize, Failure)> {
        find_in(self.lists()?, id)
    }

    fn requeue_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| self.lists(), id, Act::Requeue)
    }

    fn remove_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| self.lists(), id, Act::Remove)
    }

    fn remove(&self, index: usize) -> Result<()> {
        match self.locate(index)? {
            Ok((name, local, offset, total)) => {
                self.list(&name).remove_at(local).map_err(|e| overall(e, offset, total))
            }
            Err(count) => Err(Error::NoSuchFailure { index, count }),
        }
    }

    /// Deletes `<queue>_failed`, as Ruby does; its name stays in `failed_queues`.
    fn remove_queue(&self, queue: &str) -> Result<usize> {
        let key = self.client.keys().failed_queue(queue);
        let (len, _): (u64, u64) =
            self.client.with_conn(|c| redis::pipe().atomic().llen(&key).del(&key).query(c))?;
        Ok(len as usize)
    }

    /// Deletes every list named in `failed_queues`; the names stay, as in Ruby.
    fn clear(&self) -> Result<()> {
        let names = self.raw_lists()?;
        if names.is_empty() {
            return Ok(());
        }
        let keys: Vec<Vec<u8>> = names.iter().map(|n| self.client.keys().key_of_bytes(n)).collect();
        self.client.with_conn(|c| c.del::<_, ()>(&keys))
    }

    fn clear_retried(&self) -> Result<usize> {
        let mut removed = 0;
        for name in self.failed_lists()? {
            removed += self.list(&name).remove_matching(RawFailure::is_retried)?;
        }
        Ok(removed)
    }
}

// ----- Failure::Multiple -----------------------------------------------------

/// Several backends at once (Ruby's `Resque::Failure::Multiple`): a failure
/// is saved to each of them; every query and admin operation goes to the
/// first. With no backend it stores nothing and finds nothing.
///
/// ```no_run
/// use resque::failure::{FailureBackend, LogFailures, MultipleFailures, RedisFailures};
/// # fn main() -> resque::Result<()> {
/// let client = resque::Client::new("localhost:6379")?;
/// let failures = MultipleFailures::new(vec![
///     Box::new(RedisFailures::new(client.clone())),
///     Box::new(LogFailures::new()),
/// ]);
/// println!("{} failed", failures.count()?);
/// # Ok(()) }
/// ```
pub struct MultipleFailures {
    backends: Vec<Box<dyn FailureBackend + Send + Sync>>,
}

impl MultipleFailures {
    /// Saves to all of `backends`, queries the first.
    pub fn new(backends: Vec<Box<dyn FailureBackend + Send + Sync>>) -> Self {
        MultipleFailures { backends }
    }

    fn first(&self) -> &dyn FailureBackend {
        match self.backends.first() {
            Some(b) => &**b,
            None => &LogFailures { silent: true },
        }
    }
}

impl std::fmt::Debug for MultipleFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipleFailures").field("backends", &self.backends.len()).finish()
    }
}

impl FailureBackend for MultipleFailures {
    /// Saves to every backend, even after one fails; returns the first error.
    fn save(&self, failure: &NewFailure<'_>) -> Result<()> {
        let mut first_error = None;
        for backend in &self.backends {
            if let Err(e) = backend.save(failure) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn count(&self) -> Result<u64> {
        self.first().count()
    }

    fn all(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        self.first().all(start, count)
    }

    fn select(&self, class: Option<&str>, queue: Option<&str>) -> Result<Vec<(usize, Failure)>> {
        self.first().select(class, queue)
    }

    fn requeue(&self, index: usize) -> Result<()> {
        self.first().requeue(index)
    }

    fn requeue_all(&self) -> Result<usize> {
        self.first().requeue_all()
    }

    fn requeue_not_retried(&self) -> Result<usize> {
        self.first().requeue_not_retried()
    }

    fn requeue_queue(&self, queue: &str) -> Result<usize> {
        self.first().requeue_queue(queue)
    }

    fn find(&self, id: FailureId) -> Result<(usize, Failure)> {
        self.first().find(id)
    }

    fn requeue_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        self.first().requeue_id(id)
    }

    fn remove_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        self.first().remove_id(id)
    }

    fn remove(&self, index: usize) -> Result<()> {
        self.first().remove(index)
    }

    fn remove_queue(&self, queue: &str) -> Result<usize> {
        self.first().remove_queue(queue)
    }

    fn clear(&self) -> Result<()> {
        self.first().clear()
    }

    fn clear_retried(&self) -> Result<usize> {
        self.first().clear_retried()
    }
}

// ----- log only ----------------------------------------------------------------

/// Logs each failure through `tracing` at error level and stores nothing:
/// it counts 0, lists nothing, and every index and id is unknown.
///
/// ```
/// use resque::failure::{FailureBackend, LogFailures};
/// use resque::payload::{FailedPayload, NewFailure};
/// let log = LogFailures::new();
/// log.save(&NewFailure {
///     failed_at: "2026/11/23 23:50:00 UTC".into(),
///     payload: FailedPayload::Text("{nope"),
///     exception: "JSON::ParserError",
///     error: "not JSON",
///     backtrace: &[],
///     worker: "web1:4211:file_serve",
///     queue: "file_serve",
///     raw_queue: None,
/// })
/// .unwrap();
/// assert_eq!(log.count().unwrap(), 0);
/// assert!(log.requeue(0).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogFailures {
    silent: bool,
}

impl LogFailures {
    /// A backend that only logs.
    pub fn new() -> Self {
        LogFailures { silent: false }
    }
}

impl FailureBackend for LogFailures {
    fn save(&self, failure: &NewFailure<'_>) -> Result<()> {
        if self.silent {
            return Ok(());
        }
        let payload = failure.payload.text();
        let payload = payload.as_ref();
        tracing::error!(
            failed_at = failure.failed_at,
            queue = failure.queue,
            worker = failure.worker,
            exception = failure.exception,
            payload,
            backtrace = ?failure.backtrace,
            "job failed: {}",
            failure.error
        );
        Ok(())
    }

    fn count(&self) -> Result<u64> {
        Ok(0)
    }

    fn all(&self, _start: usize, _count: usize) -> Result<Vec<Failure>> {
        Ok(Vec::new())
    }

    fn select(&self, _class: Option<&str>, _queue: Option<&str>) -> Result<Vec<(usize, Failure)>> {
        Ok(Vec::new())
    }

    fn requeue(&self, index: usize) -> Result<()> {
        Err(Error::NoSuchFailure { index, count: 0 })
    }

    fn requeue_all(&self) -> Result<usize> {
        Ok(0)
    }

    fn requeue_not_retried(&self) -> Result<usize> {
        Ok(0)
    }

    fn requeue_queue(&self, _queue: &str) -> Result<usize> {
        Ok(0)
    }

    fn find(&self, id: FailureId) -> Result<(usize, Failure)> {
        Err(Error::NoSuchFailureId { id })
    }

    fn requeue_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        Err(Error::NoSuchFailureId { id })
    }

    fn remove_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        Err(Error::NoSuchFailureId { id })
    }

    fn remove(&self, index: usize) -> Result<()> {
        Err(Error::NoSuchFailure { index, count: 0 })
    }

    fn remove_queue(&self, _queue: &str) -> Result<usize> {
        Ok(0)
    }

    fn clear(&self) -> Result<()> {
        Ok(())
    }

    fn clear_retried(&self) -> Result<usize> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_filter_matches_class_and_queue() {
        let f = Failure::parse_lossy(
            serde_json::json!({"payload": {"class": "Archive", "args": []}, "queue": "file_serve"})
                .to_string(),
        );
        assert!(matches(&f, None, None));
        assert!(matches(&f, Some("Archive"), Some("file_serve")));
        assert!(!matches(&f, Some("Other"), None));
        assert!(!matches(&f, None, Some("mail")));
    }

    #[test]
    fn retry_keeps_payload_bytes_and_appends_retried_at() {
        let raw = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"A","queue":"q","args":[1.50,"\u00e9"]},"exception":"E","error":"e","backtrace":[],"worker":"w","queue":"q"}"#;
        let retry = prepare_retry(3, raw).unwrap();
        assert_eq!(retry.queue, b"q");
        assert_eq!(retry.payload, br#"{"class":"A","queue":"q","args":[1.50,"\u00e9"]}"#);
        let prefix = &raw[..raw.len() - 1];
        assert!(retry.entry.starts_with(prefix), "{}", retry.entry);
        assert!(retry.entry.contains(r#","retried_at":""#), "{}", retry.entry);
    }

    #[test]
    fn retry_goes_to_the_queue_named_by_queue_base64() {
        // `queue` is the name as text (the byte 0xff as `\xff`), and
        // `queue_base64` the exact name: base64 of b"bad\xff" is "YmFk/w==".
        let raw = r#"{"payload":{"class":"A","args":[]},"queue":"bad\\xff","queue_base64":"YmFk/w=="}"#;
        assert_eq!(prepare_retry(0, raw).unwrap().queue, b"bad\xff");
    }

    #[test]
    fn text_payload_is_pushed_as_its_text() {
        let raw = r#"{"payload":"{nope","queue":"q"}"#;
        assert_eq!(prepare_retry(0, raw).unwrap().payload, b"{nope");
    }

    #[test]
    fn unusable_entries_say_why() {
        for (raw, why) in [
            ("nope", "not a JSON object"),
            (r#"{"payload":{"class":"A","args":[]}}"#, "no queue"),
            (r#"{"queue":"q"}"#, "no payload"),
            (r#"{"queue":"q","payload":[1]}"#, "not a job"),
        ] {
            let err = prepare_retry(7, raw).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(why) && err.contains("index 7"), "{raw}: {err}");
        }
    }
}
