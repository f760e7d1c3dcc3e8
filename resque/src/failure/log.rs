//! A backend that logs each failure through `tracing` and stores nothing.

use crate::error::{Error, Result};
use crate::payload::{Failure, FailureId, NewFailure};

use super::FailureBackend;

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
///     attempts: None,
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

    /// A backend that neither logs nor stores: what a [`MultipleFailures`]
    /// of no backend queries.
    ///
    /// [`MultipleFailures`]: super::MultipleFailures
    pub(super) const fn silent() -> Self {
        LogFailures { silent: true }
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
