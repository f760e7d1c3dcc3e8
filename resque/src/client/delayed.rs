//! Delayed jobs, on resque-scheduler's keys: pushing a job to run at a
//! second or after a delay, and finding, counting, moving and removing
//! delayed jobs as Ruby's `Resque.enqueue_at` family does (see
//! `docs/PROTOCOL.md`). A scheduler (`resque-cli scheduler`, or Ruby's)
//! moves them to their queue when they are due.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Commands;
use serde::Serialize;
use serde_json::Value;

use super::{range_bounds, Client};
use crate::error::{Error, Result};
use crate::job::Job;
use crate::keys::Keys;
use crate::payload::{self, DueJob};

mod at_second;

pub use at_second::QueuedNow;
pub(crate) use at_second::QUEUE_NOW;

/// A moment a delayed job is due: a [`jiff::Timestamp`], a [`SystemTime`],
/// or a Unix second. Delayed jobs are due at whole seconds, as
/// resque-scheduler keeps them: a moment within a second is that second.
pub trait DueAt {
    /// The Unix second (rounded down).
    fn unix_second(&self) -> i64;
}

impl DueAt for jiff::Timestamp {
    fn unix_second(&self) -> i64 {
        self.as_second() - i64::from(self.subsec_nanosecond() < 0)
    }
}

impl DueAt for SystemTime {
    fn unix_second(&self) -> i64 {
        match self.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                let d = before.duration();
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                -whole - i64::from(d.subsec_nanos() > 0)
            }
        }
    }
}

impl DueAt for i64 {
    fn unix_second(&self) -> i64 {
        *self
    }
}

/// Now plus `delay`, as a Unix second (Ruby: `Time.now + delay`, truncated).
fn after(delay: Duration) -> i64 {
    (SystemTime::now() + delay).unix_second()
}

fn now_second() -> i64 {
    SystemTime::now().unix_second()
}

impl Client {
    /// Enqueues a typed job on its queue at `when` (Ruby's
    /// `Resque.enqueue_at`): a moment already past, or inline mode,
    /// enqueues it now, as Ruby does.
    ///
    /// ```no_run
    /// #[resque::job(queue = "file_serve")]
    /// fn archive(repo_id: u64, branch: String) {}
    ///
    /// # fn main() -> resque::Result<()> {
    /// let client = resque::Client::from_env()?;
    /// let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
    /// client.enqueue_at(at, &archive::Args { repo_id: 44, branch: "masterbrew".into() })?;
    /// // Pushed {"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}
    /// // to resque:delayed:<that second>.
    /// # Ok(()) }
    /// ```
    pub fn enqueue_at<J: Job>(&self, when: impl DueAt, job: &J) -> Result<()> {
        self.enqueue_class_at(when, J::QUEUE, J::CLASS, job)
    }

    /// Enqueues a typed job on its queue after `delay` (Ruby's `Resque.enqueue_in`).
    pub fn enqueue_in<J: Job>(&self, delay: Duration, job: &J) -> Result<()> {
        self.enqueue_class_at(after(delay), J::QUEUE, J::CLASS, job)
    }

    /// Enqueues a job by class name on `queue` at `when` (Ruby's
    /// `enqueue_at_with_queue`), its args anything that serializes to a JSON
    /// array. The delayed item is byte for byte what Ruby writes.
    pub fn enqueue_class_at<A: Serialize + ?Sized>(
        &self,
        when: impl DueAt,
        queue: &str,
        class: &str,
        args: &A,
    ) -> Result<()> {
        let at = when.unix_second();
        if crate::inline::inline() || at < now_second() {
            return self.enqueue_class(queue, class, args);
        }
        let item = delayed_item(queue, class, args)?;
        self.push_delayed_raw(at, &item)
    }

    /// [`Client::enqueue_class_at`] after `delay`.
    pub fn enqueue_class_in<A: Serialize + ?Sized>(
        &self,
        delay: Duration,
        queue: &str,
        class: &str,
        args: &A,
    ) -> Result<()> {
        self.enqueue_class_at(after(delay), queue, class, args)
    }

    /// Adds an encoded delayed item at the Unix second `at`, as
    /// resque-scheduler's `delayed_push` does (`RPUSH delayed:<at>`, `SADD
    /// timestamps:<item> delayed:<at>`, `ZADD delayed_queue_schedule at at`,
    /// in one transaction), and publishes `at` on `delayed_wake` so that an
    /// idle resque-rs scheduler wakes for it.
    pub fn push_delayed_raw(&self, at: i64, item: &str) -> Result<()> {
        let keys = self.keys();
        self.with_conn(|c| {
            redis::pipe()
                .atomic()
                .rpush(keys.delayed_at(at), item)
                .ignore()
                .sadd(keys.timestamps_of(item.as_bytes()), Keys::delayed_bucket(at))
                .ignore()
                .zadd(keys.delayed_schedule(), at, at)
                .ignore()
                .publish(keys.delayed_wake_channel(), at)
                .ignore()
                .query::<()>(c)
        })
    }

    /// How many delayed jobs wait, in every second (Ruby's
    /// `count_all_scheduled_jobs`).
    pub fn delayed_count(&self) -> Result<u64> {
        let seconds = self.delayed_timestamps(0, usize::MAX)?;
        Ok(self.delayed_sizes(&seconds)?.into_iter().sum())
    }

    /// How many delayed jobs are due at each of `seconds`, in one round
    /// trip (a pipeline of `LLEN delayed:<s>`).
    pub fn delayed_sizes(&self, seconds: &[i64]) -> Result<Vec<u64>> {
        if seconds.is_empty() {
            return Ok(Vec::new());
        }
        let mut sizes = redis::pipe();
        for at in seconds {
            sizes.llen(self.keys().delayed_at(*at));
        }
        self.with_conn(|c| sizes.query(c))
    }

    /// How many seconds have delayed jobs (Ruby's `delayed_queue_schedule_size`).
    pub fn delayed_timestamp_count(&self) -> Result<u64> {
        self.with_conn(|c| c.zcard(self.keys().delayed_schedule()))
    }

    /// Up to `count` seconds that have delayed jobs, earliest first, from
    /// position `start` (Ruby's `delayed_queue_peek`).
    pub fn delayed_timestamps(&self, start: usize, count: usize) -> Result<Vec<i64>> {
        let Some((start, stop)) = range_bounds(start, count) else { return Ok(Vec::new()) };
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.zrange(self.keys().delayed_schedule(), start, stop))?;
        Ok(raw.iter().filter_map(|m| std::str::from_utf8(m).ok()?.parse().ok()).collect())
    }

    /// How many delayed jobs are due at the second `at` (Ruby's `delayed_timestamp_size`).
    pub fn delayed_size_at(&self, at: i64) -> Result<u64> {
        self.with_conn(|c| c.llen(self.keys().delayed_at(at)))
    }

    /// Up to `count` delayed items due at the second `at`, from position
    /// `start` (Ruby's `delayed_timestamp_peek`). An item that is not JSON
    /// comes back as a JSON string of its text.
    pub fn delayed_at(&self, at: i64, start: usize, count: usize) -> Result<Vec<Value>> {
        let Some((start, stop)) = range_bounds(start, count) else { return Ok(Vec::new()) };
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.lrange(self.keys().delayed_at(at), start, stop))?;
        Ok(raw.into_iter().map(super::parse_or_text).collect())
    }

    /// The seconds at which this job (queue, class and args, matched by
    /// their bytes as Ruby encodes them) is delayed (Ruby's `scheduled_at`).
    pub fn scheduled_at<A: Serialize + ?Sized>(
        &self,
        queue: &str,
        class: &str,
        args: &A,
    ) -> Result<Vec<i64>> {
        let item = delayed_item(queue, class, args)?;
        let mut seconds: Vec<i64> =
            self.delayed_buckets_of(&item)?.iter().filter_map(|b| Keys::second_of_bucket(b)).collect();
        seconds.sort_unstable();
        Ok(seconds)
    }

    /// Removes every delayed instance of this job, whoever delayed it (Ruby
    /// or resque-rs: items match by their bytes); returns how many (Ruby's
    /// `remove_delayed`). The seconds left empty are tidied by the scheduler.
    pub fn remove_delayed<A: Serialize + ?Sized>(&self, queue: &str, class: &str, args: &A) -> Result<usize> {
        let item = delayed_item(queue, class, args)?;
        self.remove_delayed_raw(&item)
    }

    /// [`Client::remove_delayed`] for a typed job on its queue.
    pub fn remove_delayed_job<J: Job>(&self, job: &J) -> Result<usize> {
        self.remove_delayed(J::QUEUE, J::CLASS, job)
    }

    /// Removes every instance of an encoded delayed item; returns how many.
    pub fn remove_delayed_raw(&self, item: &str) -> Result<usize> {
        let keys = self.keys();
        let buckets = self.delayed_buckets_of(item)?;
        if buckets.is_empty() {
            return Ok(0);
        }
        let index = keys.timestamps_of(item.as_bytes());
        let mut pipe = redis::pipe();
        for bucket in &buckets {
            pipe.lrem(keys.key_of_bytes(bucket), 0, item).srem(&index, bucket).ignore();
        }
        let removed: Vec<usize> = self.with_conn(|c| pipe.query(c))?;
        Ok(removed.into_iter().sum())
    }

    /// Moves every delayed instance of this job to its queue now; returns
    /// how many (Ruby's `enqueue_delayed`).
    pub fn enqueue_delayed_now<A: Serialize + ?Sized>(
        &self,
        queue: &str,
        class: &str,
        args: &A,
    ) -> Result<usize> {
        let item = delayed_item(queue, class, args)?;
        let removed = self.remove_delayed_raw(&item)?;
        let due = DueJob::from_item(item.as_bytes())
            .ok_or_else(|| Error::Encode { class: class.to_string(), reason: "not a delayed item".into() })?;
        for _ in 0..removed {
            self.push_raw(&due.queue, &due.payload)?;
        }
        Ok(removed)
    }

    /// Removes every delayed job (Ruby's `reset_delayed_queue`); returns how
    /// many there were.
    pub fn clear_delayed(&self) -> Result<u64> {
        let keys = self.keys();
        let total = self.delayed_count()?;
        for at in self.delayed_timestamps(0, usize::MAX)? {
            let bucket = keys.delayed_at(at);
            let items: Vec<Vec<u8>> = self.with_conn(|c| c.lrange(&bucket, 0, -1))?;
            let mut pipe = redis::pipe();
            for item in &items {
                pipe.del(keys.timestamps_of(item)).ignore();
            }
            pipe.del(&bucket).ignore();
            self.with_conn(|c| pipe.query::<()>(c))?;
        }
        self.with_conn(|c| c.del::<_, ()>(keys.delayed_schedule()))?;
        Ok(total)
    }

    /// The `delayed:<s>` buckets an exact item is in, from its `timestamps:` set.
    fn delayed_buckets_of(&self, item: &str) -> Result<Vec<Vec<u8>>> {
        self.with_conn(|c| c.smembers(self.keys().timestamps_of(item.as_bytes())))
    }
}

/// A delayed item as Ruby encodes it, or the encoding error naming the class.
fn delayed_item<A: Serialize + ?Sized>(queue: &str, class: &str, args: &A) -> Result<String> {
    payload::encode_delayed(class, args, queue)
        .map_err(|e| Error::Encode { class: class.to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests;
