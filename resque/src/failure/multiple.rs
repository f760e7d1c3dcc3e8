//! Several backends at once, Ruby's `Resque::Failure::Multiple`: saves to
//! each, queries the first.

use crate::error::Result;
use crate::payload::{Failure, FailureId, NewFailure};

use super::{FailureBackend, LogFailures};

/// What a `MultipleFailures` of no backend queries: it finds nothing.
const SILENT: LogFailures = LogFailures::silent();

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
            None => &SILENT,
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
