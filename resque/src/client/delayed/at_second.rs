//! The delayed jobs of one second, and of a class, as resque-web's Delayed
//! tab handles them: move every job due at a second to its queue now
//! (`queue_now.lua`, one job at a time), drop them all, and find delayed
//! jobs by class.

use redis::Commands;
use serde_json::Value;

use super::super::{parse_or_text, Client};
use crate::error::Result;
use crate::keys::Keys;
use crate::payload::{self, DueJob};
use crate::script::Lua;

/// Moves one delayed item to its queue if it is still in its bucket
/// (`LREM` of one copy): pushes `payload` to `queue`, adds `queue_name` to
/// `queues` and wakes the workers; then removes `bucket_name` from the
/// item's `timestamps` set when no other copy is left in the bucket, and
/// `at` from the `schedule` when the bucket is empty. Returns 1 if moved,
/// 0 when the item was gone (a scheduler, or another admin, moved it).
pub(crate) static QUEUE_NOW: Lua = Lua::new(
    "queue_now",
    &["bucket", "timestamps", "schedule", "queues", "queue"],
    &["item", "bucket_name", "at", "payload", "queue_name", "wake_channel"],
    include_str!("queue_now.lua"),
);

/// How many seconds' buckets [`Client::find_delayed`] reads at once.
pub(super) const FIND_PAGE: usize = 100;

/// What [`Client::enqueue_delayed_at_now`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuedNow {
    /// How many jobs went to their queue.
    pub queued: usize,
    /// The items that are not jobs (not a JSON object with a string
    /// `queue`), as text: left where they are, for someone to look at.
    pub unreadable: Vec<String>,
}

impl Client {
    /// Moves every job due at the second `at` to its queue now, in their
    /// order (Ruby's `Resque::Scheduler.enqueue_delayed_items_for_timestamp`),
    /// tidying `timestamps:<item>`, the bucket and the schedule. Each job
    /// moves in one step, so a scheduler promoting the same second at the
    /// same time neither loses nor doubles any: a job it took first is
    /// skipped here.
    pub fn enqueue_delayed_at_now(&self, at: i64) -> Result<QueuedNow> {
        let keys = self.keys();
        let bucket = keys.delayed_at(at);
        let items: Vec<Vec<u8>> = self.with_conn(|c| c.lrange(&bucket, 0, -1))?;
        let mut done = QueuedNow::default();
        for item in items {
            let Some(due) = DueJob::from_item(&item) else {
                let text = payload::into_text(item);
                tracing::warn!(at, item = %text, "delayed item is not a job with a queue: left in place");
                done.unreadable.push(text);
                continue;
            };
            let mut call = QUEUE_NOW.call();
            call.key("bucket", &bucket)
                .key("timestamps", keys.timestamps_of(&item))
                .key("schedule", keys.delayed_schedule())
                .key("queues", keys.queues())
                .key("queue", keys.queue(&due.queue))
                .arg("item", item.as_slice())
                .arg("bucket_name", Keys::delayed_bucket(at))
                .arg("at", at)
                .arg("payload", &due.payload)
                .arg("queue_name", &due.queue)
                .arg("wake_channel", keys.wake_channel());
            let moved: u8 = self.with_conn(|c| call.invoke(c))?;
            done.queued += usize::from(moved);
        }
        if done.unreadable.is_empty() {
            self.tidy_empty_second(at)?;
        }
        Ok(done)
    }

    /// Removes every delayed job due at the second `at`, with their
    /// `timestamps:` entries and the second in the schedule; returns how
    /// many. Done in one transaction that starts again if a job is added
    /// or moved meanwhile.
    pub fn remove_delayed_at(&self, at: i64) -> Result<usize> {
        let keys = self.keys();
        let bucket = keys.delayed_at(at);
        let name = Keys::delayed_bucket(at);
        self.with_conn(|c| {
            redis::transaction(c, &[&bucket], |c, pipe| {
                let items: Vec<Vec<u8>> = c.lrange(&bucket, 0, -1)?;
                for item in &items {
                    pipe.srem(keys.timestamps_of(item), &name).ignore();
                }
                pipe.del(&bucket).ignore().zrem(keys.delayed_schedule(), at);
                Ok(pipe.query::<Option<(u64,)>>(c)?.map(|_| items.len()))
            })
        })
    }

    /// The delayed items of `count` seconds from position `start` of
    /// `delayed_queue_schedule`, earliest first: each second with its items'
    /// bytes, in one round trip for the items.
    pub(crate) fn delayed_page(&self, start: usize, count: usize) -> Result<Vec<(i64, Vec<Vec<u8>>)>> {
        let seconds = self.delayed_timestamps(start, count)?;
        if seconds.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for at in &seconds {
            pipe.lrange(self.keys().delayed_at(*at), 0, -1);
        }
        let buckets: Vec<Vec<Vec<u8>>> = self.with_conn(|c| pipe.query(c))?;
        Ok(seconds.into_iter().zip(buckets).collect())
    }

    /// Up to `limit` delayed jobs of `class` (every class with `None`),
    /// earliest first, each with the second it is due at (Ruby's
    /// `find_delayed_selection`). An item that is not JSON comes back as a
    /// JSON string of its text, and matches no class.
    pub fn find_delayed(&self, class: Option<&str>, limit: usize) -> Result<Vec<(i64, Value)>> {
        let mut found = Vec::new();
        let mut start = 0;
        while found.len() < limit {
            let page = self.delayed_page(start, FIND_PAGE)?;
            if page.is_empty() {
                break;
            }
            start += page.len();
            for (at, items) in page {
                let matching = items.into_iter().map(parse_or_text).filter(|job| match class {
                    Some(class) => job.get("class").and_then(Value::as_str) == Some(class),
                    None => true,
                });
                found.extend(matching.map(|job| (at, job)));
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    /// Removes `at` from the schedule when its bucket is empty (as Ruby's
    /// `clean_up_timestamp`, watching the bucket so that a job added
    /// meanwhile keeps its second).
    fn tidy_empty_second(&self, at: i64) -> Result<()> {
        let keys = self.keys();
        let bucket = keys.delayed_at(at);
        self.with_conn(|c| {
            redis::transaction(c, &[&bucket], |c, pipe| {
                if c.llen::<_, u64>(&bucket)? > 0 {
                    return Ok(Some(()));
                }
                pipe.zrem(keys.delayed_schedule(), at);
                Ok(pipe.query::<Option<(u64,)>>(c)?.map(|_| ()))
            })
        })
    }
}
