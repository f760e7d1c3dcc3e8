//! Counters and summaries: `stat:*`, each worker's own counters, the
//! failed count, and Ruby's `Resque.info`.

use redis::Commands;
use serde::Serialize;

use super::Client;
use crate::error::Result;
use crate::keys::stat;
use crate::payload;

impl Client {
    /// Each of `ids`' start time and own counters, in the order given: one
    /// `MGET` of every `worker:<id>:started`, `stat:processed:<id>` and
    /// `stat:failed:<id>`. A counter that is missing (or not a number) is 0.
    pub fn worker_stats(&self, ids: &[String]) -> Result<Vec<WorkerStats>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys();
        let names: Vec<String> = ids
            .iter()
            .flat_map(|id| {
                [
                    keys.worker_started(id),
                    keys.worker_stat(stat::PROCESSED, id),
                    keys.worker_stat(stat::FAILED, id),
                ]
            })
            .collect();
        let values: Vec<Option<Vec<u8>>> = self.with_conn(|c| redis::cmd("MGET").arg(&names).query(c))?;
        let count = |v: &Option<Vec<u8>>| {
            v.as_deref()
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        Ok(values
            .chunks(3)
            .map(|v| WorkerStats {
                started: v.first().cloned().flatten().map(payload::into_text),
                processed: v.get(1).map_or(0, count),
                failed: v.get(2).map_or(0, count),
            })
            .collect())
    }

    /// A global counter (`processed`, `failed`).
    pub fn stat(&self, name: &str) -> Result<u64> {
        let v: Option<u64> = self.with_conn(|c| c.get(self.keys().stat(name)))?;
        Ok(v.unwrap_or(0))
    }

    /// A worker's own counter.
    pub fn worker_stat(&self, name: &str, worker_id: &str) -> Result<u64> {
        let v: Option<u64> = self.with_conn(|c| c.get(self.keys().worker_stat(name, worker_id)))?;
        Ok(v.unwrap_or(0))
    }

    /// How many entries the `failed` list holds.
    pub fn failed_count(&self) -> Result<u64> {
        self.with_conn(|c| c.llen(self.keys().failed()))
    }

    /// An overview, as Ruby's `Resque.info`.
    pub fn info(&self) -> Result<Info> {
        let queues = self.queue_sizes()?;
        let (workers, working) = self.workers_and_working()?;
        self.info_from(&queues, workers.len(), working.len())
    }

    /// [`Info`] from parts the caller already read ([`Client::queue_sizes`],
    /// how many [`Client::workers`] and how many of them are
    /// [`Client::working`]), reading only the processed counter and the
    /// failed list's length, in one round trip.
    pub fn info_from(&self, queue_sizes: &[(String, u64)], workers: usize, working: usize) -> Result<Info> {
        let keys = self.keys();
        let (processed, failed): (Option<u64>, u64) =
            self.with_conn(|c| redis::pipe().get(keys.stat(stat::PROCESSED)).llen(keys.failed()).query(c))?;
        Ok(Info {
            pending: queue_sizes.iter().map(|(_, size)| size).sum(),
            processed: processed.unwrap_or(0),
            queues: queue_sizes.len(),
            workers,
            working,
            failed,
            servers: vec![self.address().to_string()],
            environment: crate::config::environment(),
        })
    }
}

/// The counts Ruby's `Resque.info` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Info {
    /// Jobs waiting in all queues.
    pub pending: u64,
    /// Jobs finished, failed ones included.
    pub processed: u64,
    /// Known queues.
    pub queues: usize,
    /// Registered workers.
    pub workers: usize,
    /// Workers processing a job now.
    pub working: usize,
    /// Entries in the failed list.
    pub failed: u64,
    /// The Redis server.
    pub servers: Vec<String>,
    /// `RESQUE_ENV`, else `RAILS_ENV`, else `RACK_ENV`, else `development`.
    pub environment: String,
}

/// A worker's start time and own counters, from [`Client::worker_stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// When it started, as written (Ruby `Time#to_s`).
    pub started: Option<String>,
    /// Jobs it finished, failed ones included.
    pub processed: u64,
    /// Jobs it failed.
    pub failed: u64,
}
