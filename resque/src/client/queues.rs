//! The queues: which exist, their sizes and jobs, removing one, and
//! pausing every worker (`pause-all-workers`).

use redis::Commands;
use serde_json::Value;

use super::{parse_or_text, range_bounds, texts, Client};
use crate::error::Result;

impl Client {
    /// Every known queue, sorted. A name that is not UTF-8 is shown as
    /// [`payload::escape_bytes`] does (`bad\xff`); workers take such a
    /// queue's jobs by its exact name.
    pub fn queues(&self) -> Result<Vec<String>> {
        let mut queues = texts(self.workable_queues()?);
        queues.sort();
        Ok(queues)
    }

    /// The known queues a worker can take jobs from, sorted: every name in
    /// `queues`, as its exact bytes (another producer may name a queue with
    /// bytes that are not UTF-8; its jobs are worked like any other's).
    pub(crate) fn workable_queues(&self) -> Result<Vec<Vec<u8>>> {
        let mut queues: Vec<Vec<u8>> = self.with_conn(|c| c.smembers(self.keys().queues()))?;
        queues.sort();
        Ok(queues)
    }

    /// How many jobs wait in `queue`.
    pub fn size(&self, queue: &str) -> Result<u64> {
        self.with_conn(|c| c.llen(self.keys().queue(queue)))
    }

    /// Up to `count` payloads of `queue` from position `start`, without
    /// removing them. A payload that is not JSON comes back as a JSON string.
    pub fn peek(&self, queue: &str, start: usize, count: usize) -> Result<Vec<Value>> {
        let Some((start, stop)) = range_bounds(start, count) else { return Ok(Vec::new()) };
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.lrange(self.keys().queue(queue), start, stop))?;
        Ok(raw.into_iter().map(parse_or_text).collect())
    }

    /// Every known queue, sorted, with how many jobs wait in it: `SMEMBERS
    /// queues`, then every `LLEN` in one pipeline.
    pub fn queue_sizes(&self) -> Result<Vec<(String, u64)>> {
        let queues = self.queues()?;
        // An empty pipeline is an error to Redis: no queues, no sizes.
        if queues.is_empty() {
            return Ok(Vec::new());
        }
        let mut sizes = redis::pipe();
        for q in &queues {
            sizes.llen(self.keys().queue(q));
        }
        let sizes: Vec<u64> = self.with_conn(|c| sizes.query(c))?;
        Ok(queues.into_iter().zip(sizes).collect())
    }

    /// Deletes a queue and its jobs: `SREM queues` + `DEL queue:<q>`.
    pub fn remove_queue(&self, queue: &str) -> Result<()> {
        let keys = self.keys();
        self.with_conn(|c| {
            redis::pipe().srem(keys.queues(), queue).ignore().del(keys.queue(queue)).ignore().query::<()>(c)
        })
    }

    /// Pauses every worker, Ruby's included: `SET pause-all-workers true`.
    pub fn pause_all_workers(&self) -> Result<()> {
        self.with_conn(|c| c.set(self.keys().pause_all(), "true"))
    }

    /// Lets paused workers go on: `DEL pause-all-workers`.
    pub fn resume_all_workers(&self) -> Result<()> {
        self.with_conn(|c| c.del(self.keys().pause_all()))
    }

    /// Whether `pause-all-workers` pauses the workers, by Ruby's rule:
    /// its value, stripped, is `true` in any case (`' true'`, `"True\n"`).
    pub fn all_workers_paused(&self) -> Result<bool> {
        let v: Option<Vec<u8>> = self.with_conn(|c| c.get(self.keys().pause_all()))?;
        Ok(v.is_some_and(|v| pauses(&v)))
    }
}

/// Whether a `pause-all-workers` value pauses, as Ruby 3.0's
/// `Worker#paused?` reads it: `value.to_s.strip.downcase == 'true'`.
/// `String#strip` removes NUL and ASCII whitespace (tab, line feed, vertical
/// tab, form feed, carriage return, space) from both ends and nothing else;
/// of `downcase` only the ASCII letters matter, as no other letter lowers to
/// one of `true`. The worker's step script (`worker/step.lua`) spells the
/// same rule in Lua.
pub(crate) fn pauses(value: &[u8]) -> bool {
    let strippable = |b: &u8| matches!(b, b'\0' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let start = value.iter().position(|b| !strippable(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !strippable(b)).map_or(start, |i| i + 1);
    value[start..end].eq_ignore_ascii_case(b"true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_values_as_ruby_reads_them() {
        // Ruby: redis.get('pause-all-workers').to_s.strip.downcase == 'true'
        for value in [
            "true",
            "TRUE",
            "True",
            " true",
            "true\n",
            "True\n",
            "\ttrue ",
            "\0true\0",
            "\r\n\x0b\x0ctrue \t",
        ] {
            assert!(pauses(value.as_bytes()), "{value:?} pauses");
        }
        for value in ["", "truex", "t rue", "yes", "1", "false", "\u{a0}true", "true\u{a0}", "tru"] {
            assert!(!pauses(value.as_bytes()), "{value:?} does not pause");
        }
        assert!(!pauses(b"\xfftrue"));
    }
}
