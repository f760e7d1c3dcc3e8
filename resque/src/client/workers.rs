//! The workers as Redis lists them: who is registered, what each is
//! working on, heartbeats. Removing and pruning workers are the roster's
//! (`Client::remove_worker` and `Client::prune_dead_workers` are defined
//! there).

use redis::Commands;
use serde_json::Value;

use super::{texts, Client};
use crate::error::Result;
use crate::payload::{self, WorkingOn};

/// Busy workers' ids with what each processes (see [`Client::working`]).
pub type Working = Vec<(String, WorkingOn)>;

impl Client {
    /// Registered worker ids, sorted; an id that is not UTF-8 as
    /// [`payload::escape_bytes`] shows it.
    pub fn workers(&self) -> Result<Vec<String>> {
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.smembers(self.keys().workers()))?;
        let mut ids = texts(raw);
        ids.sort();
        Ok(ids)
    }

    /// The workers processing a job now, with what they process; an id that
    /// is not UTF-8 as [`payload::escape_bytes`] shows it.
    pub fn working(&self) -> Result<Working> {
        self.workers_and_working().map(|(_, working)| working)
    }

    /// [`Client::workers`] and [`Client::working`] at once: one `SMEMBERS`
    /// and one `MGET`. Ids that are not UTF-8 are looked up as they are and
    /// shown escaped.
    pub fn workers_and_working(&self) -> Result<(Vec<String>, Working)> {
        let mut ids: Vec<Vec<u8>> = self.with_conn(|c| c.smembers(self.keys().workers()))?;
        ids.sort();
        let working = self.working_of_bytes(&ids)?;
        Ok((texts(ids), working))
    }

    /// Which of `ids` process a job now, with what they process, in the
    /// order given: one `MGET` of their `worker:<id>` keys. For callers that
    /// already read [`Client::workers`], or want a single worker.
    pub fn working_of<S: AsRef<[u8]>>(&self, ids: &[S]) -> Result<Vec<(String, WorkingOn)>> {
        self.working_of_bytes(ids)
    }

    fn working_of_bytes<S: AsRef<[u8]>>(&self, ids: &[S]) -> Result<Vec<(String, WorkingOn)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Vec<u8>> = ids.iter().map(|id| self.keys().worker_of_bytes(id.as_ref())).collect();
        let records: Vec<Option<Vec<u8>>> = self.with_conn(|c| redis::cmd("MGET").arg(&keys).query(c))?;
        Ok(ids
            .iter()
            .zip(records)
            .filter_map(|(id, record)| {
                let record = record?;
                // A record that is not JSON, or not UTF-8, is shown as its text.
                let working = payload::from_json_bytes::<WorkingOn>(&record).unwrap_or_else(|_| WorkingOn {
                    queue: String::new(),
                    run_at: String::new(),
                    payload: Value::String(payload::into_text(record)),
                });
                Some((payload::escape_bytes(id.as_ref()).into_owned(), working))
            })
            .collect())
    }

    /// Every worker's heartbeat, as written (ISO-8601): `HGETALL
    /// workers:heartbeat`.
    pub fn heartbeats(&self) -> Result<std::collections::HashMap<String, String>> {
        let raw: Vec<(Vec<u8>, Vec<u8>)> = self.with_conn(|c| c.hgetall(self.keys().heartbeat()))?;
        Ok(raw.into_iter().map(|(id, beat)| (payload::into_text(id), payload::into_text(beat))).collect())
    }

    /// A worker's heartbeat, as written (ISO-8601).
    pub fn heartbeat_of(&self, id: &str) -> Result<Option<String>> {
        let raw: Option<Vec<u8>> = self.with_conn(|c| c.hget(self.keys().heartbeat(), id))?;
        Ok(raw.map(payload::into_text))
    }

    /// When a worker started, as written (Ruby `Time#to_s`).
    pub fn worker_started(&self, id: &str) -> Result<Option<String>> {
        let raw: Option<Vec<u8>> = self.with_conn(|c| c.get(self.keys().worker_started(id)))?;
        Ok(raw.map(payload::into_text))
    }
}
