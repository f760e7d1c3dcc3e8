//! Putting jobs on queues and taking them off again: typed jobs, classes
//! with JSON args, raw payloads, in bulk, with the enqueue hooks, and
//! inline mode.

use redis::Commands;
use serde::Serialize;
use serde_json::Value;

use super::Client;
use crate::error::{Error, Result};
use crate::hooks::JobContext;
use crate::job::Job;
use crate::payload;

impl Client {
    /// Enqueues a typed job on its default queue.
    pub fn enqueue<J: Job>(&self, job: &J) -> Result<()> {
        self.enqueue_class(J::QUEUE, J::CLASS, job)
    }

    /// Enqueues a typed job on another queue (Ruby's `Resque.enqueue_to`).
    pub fn enqueue_to<J: Job>(&self, queue: &str, job: &J) -> Result<()> {
        self.enqueue_class(queue, J::CLASS, job)
    }

    /// Enqueues many jobs of one kind on its queue in a few round trips
    /// (one `RPUSH` of up to 10,000 payloads at a time, with the `SADD` and
    /// the wake-up `PUBLISH`); returns how many were pushed. Jobs with hooks,
    /// and inline mode, go one by one so that their hooks run for each.
    ///
    /// ```no_run
    /// #[resque::job(queue = "warm_cache")]
    /// fn warm(key: String) {}
    ///
    /// # fn main() -> resque::Result<()> {
    /// let client = resque::Client::from_env()?;
    /// let pushed = client.enqueue_many((0..1000).map(|i| warm::Args { key: format!("page:{i}") }))?;
    /// assert_eq!(pushed, 1000);
    /// # Ok(()) }
    /// ```
    pub fn enqueue_many<J: Job>(&self, jobs: impl IntoIterator<Item = J>) -> Result<usize> {
        if crate::inline::inline() || crate::registry::linked(J::CLASS).is_some_and(|e| e.hooks.any) {
            let mut pushed = 0;
            for job in jobs {
                pushed += usize::from(self.enqueue_one(J::QUEUE, J::CLASS, &job)?);
            }
            return Ok(pushed);
        }
        const BATCH: usize = 10_000;
        let keys = self.keys();
        let mut pushed = 0;
        let mut payloads = Vec::with_capacity(BATCH);
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            payloads.clear();
            for job in jobs.by_ref().take(BATCH) {
                payloads.push(
                    payload::encode_job(J::CLASS, &job)
                        .map_err(|e| Error::Encode { class: J::CLASS.to_string(), reason: e.to_string() })?,
                );
            }
            self.with_conn(|c| {
                redis::pipe()
                    .sadd(keys.queues(), J::QUEUE)
                    .ignore()
                    .rpush(keys.queue(J::QUEUE), &payloads)
                    .ignore()
                    .publish(keys.wake_channel(), J::QUEUE)
                    .ignore()
                    .query::<()>(c)
            })?;
            pushed += payloads.len();
        }
        Ok(pushed)
    }

    /// Enqueues a job by class name with any arguments that serialize to a
    /// JSON array, as a Ruby or node producer would. In [inline
    /// mode](mod@crate::inline) the job runs now, in this process, instead.
    ///
    /// When the class is a job linked into this program, its
    /// `before_enqueue` hooks run first (any returning `false` cancels the
    /// enqueue, which then returns `Ok(())` having pushed nothing) and its
    /// `after_enqueue` hooks after.
    pub fn enqueue_class<A: Serialize + ?Sized>(&self, queue: &str, class: &str, args: &A) -> Result<()> {
        self.enqueue_one(queue, class, args).map(drop)
    }

    /// [`Client::enqueue_class`]; `false` when a hook vetoed the enqueue.
    fn enqueue_one<A: Serialize + ?Sized>(&self, queue: &str, class: &str, args: &A) -> Result<bool> {
        let payload = payload::encode_job(class, args)
            .map_err(|e| Error::Encode { class: class.to_string(), reason: e.to_string() })?;
        let hooked = crate::registry::linked(class).filter(|e| e.hooks.any);
        let ctx_args = match hooked {
            Some(_) => hook_args(class, args)?,
            None => Vec::new(),
        };
        let ctx = JobContext { class, queue, args: &ctx_args };
        if let Some(entry) = hooked {
            if !(entry.hooks.before_enqueue)(&ctx) {
                tracing::debug!(class, queue, "a before_enqueue hook vetoed the enqueue");
                return Ok(false);
            }
        }
        if crate::inline::inline() {
            crate::inline::perform(queue, &payload)?;
        } else {
            self.push_raw(queue, &payload)?;
        }
        if let Some(entry) = hooked {
            (entry.hooks.after_enqueue)(&ctx);
        }
        Ok(true)
    }

    /// Pushes an already-encoded payload: `SADD queues` + `RPUSH queue:<q>`
    /// in one round trip, with a `PUBLISH` on the wake channel so that idle
    /// resque-rs workers take it at once.
    pub fn push_raw(&self, queue: &str, payload: &str) -> Result<()> {
        let keys = self.keys();
        self.with_conn(|c| {
            redis::pipe()
                .sadd(keys.queues(), queue)
                .ignore()
                .rpush(keys.queue(queue), payload)
                .ignore()
                .publish(keys.wake_channel(), queue)
                .ignore()
                .query::<()>(c)
        })
    }

    /// Removes every job of `J`'s class from its queue; returns how many.
    pub fn dequeue<J: Job>(&self) -> Result<usize> {
        self.dequeue_class(J::QUEUE, J::CLASS, None)
    }

    /// Removes the jobs of `J`'s class with exactly these args.
    pub fn dequeue_job<J: Job>(&self, job: &J) -> Result<usize> {
        let args = serde_json::to_value(job)
            .map_err(|e| Error::Encode { class: J::CLASS.to_string(), reason: e.to_string() })?;
        let args = match args {
            Value::Array(a) => a,
            _ => {
                return Err(Error::Encode {
                    class: J::CLASS.into(),
                    reason: "args must serialize to a JSON array".into(),
                })
            }
        };
        self.dequeue_class(J::QUEUE, J::CLASS, Some(&args))
    }

    /// Removes the jobs of `class` in `queue`, all of them or those whose
    /// args equal `args`. Each match is removed by its exact payload
    /// (`LREM queue:<q> 0 <payload>`).
    pub fn dequeue_class(&self, queue: &str, class: &str, args: Option<&[Value]>) -> Result<usize> {
        let hooked = crate::registry::linked(class).filter(|e| e.hooks.any);
        let ctx = JobContext { class, queue, args: args.unwrap_or(&[]) };
        if let Some(entry) = hooked {
            if !(entry.hooks.before_dequeue)(&ctx) {
                tracing::debug!(class, queue, "a before_dequeue hook vetoed the dequeue");
                return Ok(0);
            }
        }
        let removed = self.remove_matching(queue, class, args)?;
        if let Some(entry) = hooked {
            (entry.hooks.after_dequeue)(&ctx);
        }
        Ok(removed)
    }

    fn remove_matching(&self, queue: &str, class: &str, args: Option<&[Value]>) -> Result<usize> {
        let key = self.keys().queue(queue);
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.lrange(&key, 0, -1))?;
        let mut matching: Vec<&Vec<u8>> = raw
            .iter()
            .filter(|p| {
                std::str::from_utf8(p)
                    .ok()
                    .and_then(|p| payload::JobPayload::parse(p).ok())
                    .is_some_and(|job| job.class == class && args.is_none_or(|a| job.args == a))
            })
            .collect();
        matching.sort();
        matching.dedup();
        let mut removed = 0usize;
        for p in matching {
            let n: usize = self.with_conn(|c| c.lrem(&key, 0, p))?;
            removed += n;
        }
        Ok(removed)
    }
}

/// A job's args as JSON values, for its hooks.
fn hook_args<A: Serialize + ?Sized>(class: &str, args: &A) -> Result<Vec<Value>> {
    match serde_json::to_value(args) {
        Ok(Value::Array(values)) => Ok(values),
        Ok(_) => Err(Error::Encode {
            class: class.to_string(),
            reason: "args must serialize to a JSON array".into(),
        }),
        Err(e) => Err(Error::Encode { class: class.to_string(), reason: e.to_string() }),
    }
}
