//! One failed list (`failed`, or a `<queue>_failed`) and what is done to
//! its entries: read, select, requeue and remove, by index or by id.

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use redis::Commands;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::payload::{self, Failure, FailureId, RawFailure};
use crate::script::Lua;

/// Marks a failure entry retried and pushes its payload, in one step
/// (`requeue.lua`): the entry is looked for at `index` and, when another
/// change moved it, anywhere in the list (`LPOS`); `entry` is it as read,
/// `retried` it with `retried_at`. `queue` and `queues` are where the
/// payload goes. Returns the index the entry was found at, or -1 when it is
/// gone.
pub(crate) static REQUEUE: Lua = Lua::new(
    "requeue",
    &["failed", "queues", "queue"],
    &["index", "entry", "retried", "payload", "queue_name", "wake_channel"],
    include_str!("requeue.lua"),
);

/// Removes the entry at `index`, as Ruby does (`LSET` to `marker`, then
/// `LREM` of the marker), after checking that the index exists
/// (`remove.lua`). Returns {1 if removed else 0, length before}.
pub(crate) static REMOVE: Lua =
    Lua::new("remove", &["failed"], &["index", "marker"], include_str!("remove.lua"));

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
pub(super) struct List<'a> {
    pub(super) client: &'a Client,
    /// Its key: any bytes, as a `<queue>_failed` list is named after the
    /// queue's exact name.
    pub(super) key: Vec<u8>,
}

impl<'a> List<'a> {
    /// The `failed` list, where the default backend writes.
    pub(super) fn failed(client: &'a Client) -> Self {
        List { client, key: client.keys().failed().into_bytes() }
    }

    /// The `<queue>_failed` list named `name` as
    /// [`RedisMultiQueueFailures::failed_lists`] shows it: a name shown
    /// with `\xNN` may stand for a member of `failed_queues` that is not
    /// UTF-8 (a queue named so), whose exact bytes name the key.
    ///
    /// [`RedisMultiQueueFailures::failed_lists`]: super::RedisMultiQueueFailures::failed_lists
    pub(super) fn named(client: &'a Client, name: &str) -> Self {
        let exact = if name.contains("\\x") {
            failed_queues(client)
                .ok()
                .and_then(|raw| raw.into_iter().find(|r| payload::escape_bytes(r) == name))
        } else {
            None
        };
        let name = exact.unwrap_or_else(|| name.as_bytes().to_vec());
        List { client, key: client.keys().key_of_bytes(&name) }
    }
}

/// The members of `failed_queues` (the names of the `<queue>_failed`
/// lists), as bytes.
pub(super) fn failed_queues(client: &Client) -> Result<Vec<Vec<u8>>> {
    client.with_conn(|c| c.smembers(client.keys().failed_queues()))
}

impl List<'_> {
    pub(super) fn len(&self) -> Result<u64> {
        self.client.with_conn(|c| c.llen(&self.key))
    }

    /// Entries as bytes: one that is not UTF-8 is still an entry.
    pub(super) fn range(&self, start: usize, count: usize) -> Result<Vec<Vec<u8>>> {
        let Some((start, stop)) = crate::client::range_bounds(start, count) else { return Ok(Vec::new()) };
        self.client.with_conn(|c| c.lrange(&self.key, start, stop))
    }

    pub(super) fn entries(&self) -> Result<Vec<Vec<u8>>> {
        self.client.with_conn(|c| c.lrange(&self.key, 0, -1))
    }

    pub(super) fn all(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        Ok(self.range(start, count)?.iter().map(|raw| Failure::from_bytes(raw)).collect())
    }

    pub(super) fn select(
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
    pub(super) fn requeue_entry(&self, index: usize, raw: &[u8]) -> Result<bool> {
        Ok(self.requeue_found(index, raw)? >= 0)
    }

    /// [`REQUEUE`] of `raw`, read at `index`: the index it was rewritten
    /// at, or -1 when it is no longer in the list.
    fn requeue_found(&self, index: usize, raw: &[u8]) -> Result<i64> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| Error::BadFailure { index, reason: "the entry is not valid UTF-8".into() })?;
        let retry = prepare_retry(index, text)?;
        let keys = self.client.keys();
        let mut call = REQUEUE.call();
        call.key("failed", &self.key)
            .key("queues", keys.queues())
            .key("queue", keys.queue_of_bytes(&retry.queue))
            .arg("index", index)
            .arg("entry", raw)
            .arg("retried", &retry.entry)
            .arg("payload", &retry.payload)
            .arg("queue_name", &retry.queue)
            .arg("wake_channel", keys.wake_channel());
        self.client.with_conn(|c| call.invoke(c))
    }

    pub(super) fn requeue_at(&self, index: usize) -> Result<()> {
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
    pub(super) fn requeue_matching(
        &self,
        pick: impl Fn(&RawFailure) -> bool,
        warn_unparsable: bool,
    ) -> Result<usize> {
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

    pub(super) fn remove_at(&self, index: usize) -> Result<()> {
        let (removed, count) = self.remove_marked(index, &removal_marker())?;
        if removed == 1 {
            Ok(())
        } else {
            Err(Error::NoSuchFailure { index, count })
        }
    }

    /// [`REMOVE`] of the entry at `index`, by way of `marker`: {1 if
    /// removed else 0, length before}.
    fn remove_marked(&self, index: usize, marker: &str) -> Result<(i64, u64)> {
        let mut call = REMOVE.call();
        call.key("failed", &self.key).arg("index", index).arg("marker", marker);
        self.client.with_conn(|c| call.invoke(c))
    }

    /// Removes every entry `pick` chooses, each by its exact bytes; returns how many.
    pub(super) fn remove_matching(&self, pick: impl Fn(&RawFailure) -> bool) -> Result<usize> {
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

    pub(super) fn clear(&self) -> Result<()> {
        self.client.with_conn(|c| c.del::<_, ()>(&self.key))
    }

    /// Does `act` to `raw`, read at `index`; `false` when those bytes are
    /// no longer in the list.
    pub(super) fn act(&self, act: Act, index: usize, raw: &[u8]) -> Result<bool> {
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
pub(super) enum Act {
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
pub(super) fn act_on_id<'a>(
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

pub(super) fn find_in(lists: Vec<List<'_>>, id: FailureId) -> Result<(usize, Failure)> {
    let found = find_id(lists, id)?;
    Ok((found.index, Failure::from_bytes(&found.raw)))
}

#[cfg(test)]
mod tests;
