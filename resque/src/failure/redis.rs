//! The default backend, Ruby's `Resque::Failure::Redis`: every failure in
//! the `failed` list.

use crate::client::Client;
use crate::error::Result;
use crate::payload::{Failure, FailureId, NewFailure, RawFailure};

use super::list::{act_on_id, find_in, Act, List};
use super::{FailureBackend, FailureDestination, FailureTargets};

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
        List::failed(&self.client)
    }
}

impl FailureBackend for RedisFailures {
    fn save(&self, failure: &NewFailure<'_>) -> Result<()> {
        FailureTargets::for_backend(&self.client, FailureDestination::Redis, failure.queue_bytes())
            .save(&self.client, &failure.to_json())
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

/// The `failed` list, on the client.
impl Client {
    /// Up to `count` failure entries from position `start` (oldest first).
    /// An entry that does not parse comes back with its text as `payload`.
    /// Entries are read as bytes: one that is not UTF-8 is listed too.
    pub fn failures(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        RedisFailures::new(self.clone()).all(start, count)
    }
}
