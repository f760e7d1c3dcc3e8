//! One failed list per queue, Ruby's `Resque::Failure::RedisMultiQueue`:
//! `<queue>_failed` lists named in the `failed_queues` set.

use redis::Commands;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::keys::Keys;
use crate::payload::{self, Failure, FailureId, NewFailure, RawFailure};

use super::list::{self, act_on_id, find_in, Act, List};
use super::{FailedList, FailureBackend, FailureDestination, FailureTargets};

/// One failed list per queue (Ruby's `Resque::Failure::RedisMultiQueue`): a
/// job from `file_serve` fails into `file_serve_failed`, and the set
/// `failed_queues` holds the names of those lists (`file_serve_failed`).
///
/// Through [`FailureBackend`] the lists are seen as one, in the order of
/// their names sorted, each oldest first; `count` sums them. The `*_in`
/// methods take one list's name, as Ruby's methods with a queue argument do.
///
/// ```no_run
/// use resque::failure::{FailureBackend, RedisMultiQueueFailures};
/// # fn main() -> resque::Result<()> {
/// let failures = RedisMultiQueueFailures::new(resque::Client::new("localhost:6379")?);
/// for list in failures.failed_lists()? {
///     println!("{list}: {}", failures.count_in(&list)?);
/// }
/// failures.requeue_in("file_serve_failed", 0)?;
/// failures.clear_in("mail_failed")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisMultiQueueFailures {
    client: Client,
}

impl RedisMultiQueueFailures {
    /// The per-queue failed lists of `client`'s namespace.
    pub fn new(client: Client) -> Self {
        RedisMultiQueueFailures { client }
    }

    /// The list named `name` as [`failed_lists`](Self::failed_lists)
    /// shows it (see [`List::named`]).
    fn list(&self, name: &str) -> List<'_> {
        List::named(&self.client, name)
    }

    /// The members of `failed_queues`, as bytes.
    fn raw_lists(&self) -> Result<Vec<Vec<u8>>> {
        list::failed_queues(&self.client)
    }

    /// The names of the failed lists (`<queue>_failed`), from `failed_queues`, sorted;
    /// a name that is not UTF-8 shown with `\xNN` for each such byte.
    pub fn failed_lists(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.raw_lists()?.into_iter().map(payload::into_text).collect();
        names.sort();
        Ok(names)
    }

    /// Every failed list (see [`RedisMultiQueueFailures::failed_lists`]) with
    /// its length, the lengths read in one pipeline.
    pub fn lengths(&self) -> Result<Vec<(String, u64)>> {
        let mut names = self.raw_lists()?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        names.sort_by(|a, b| payload::escape_bytes(a).cmp(&payload::escape_bytes(b)));
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.llen(self.client.keys().key_of_bytes(name));
        }
        let lengths: Vec<u64> = self.client.with_conn(|c| pipe.query(c))?;
        Ok(names.into_iter().map(payload::into_text).zip(lengths).collect())
    }

    /// The list holding overall `index`, and the index in it; else the total.
    fn locate(&self, index: usize) -> Result<std::result::Result<(String, usize, usize, u64), u64>> {
        let lengths = self.lengths()?;
        let total: u64 = lengths.iter().map(|(_, n)| n).sum();
        let mut offset = 0usize;
        for (name, len) in lengths {
            let len = len as usize;
            if index < offset + len {
                return Ok(Ok((name, index - offset, offset, total)));
            }
            offset += len;
        }
        Ok(Err(total))
    }

    /// How many failures the list `list` (e.g. `file_serve_failed`) holds.
    pub fn count_in(&self, list: &str) -> Result<u64> {
        self.list(list).len()
    }

    /// Up to `count` failures of the list `list` from index `start`.
    pub fn all_in(&self, list: &str, start: usize, count: usize) -> Result<Vec<Failure>> {
        self.list(list).all(start, count)
    }

    /// Retries the failure at `index` of the list `list`.
    pub fn requeue_in(&self, list: &str, index: usize) -> Result<()> {
        self.list(list).requeue_at(index)
    }

    /// Removes the failure at `index` of the list `list`.
    pub fn remove_in(&self, list: &str, index: usize) -> Result<()> {
        self.list(list).remove_at(index)
    }

    /// The failures of the list `list` whose class and queue match (`None`
    /// matches anything), with their index in it.
    pub fn select_in(
        &self,
        list: &str,
        class: Option<&str>,
        queue: Option<&str>,
    ) -> Result<Vec<(usize, Failure)>> {
        FailedList::Named(list.to_string()).select(&self.client, class, queue)
    }

    /// Retries every failure of the list `list`; returns how many.
    pub fn requeue_all_in(&self, list: &str) -> Result<usize> {
        self.list(list).requeue_matching(|_| true, true)
    }

    /// Retries every failure of the list `list` not retried yet; returns how many.
    pub fn requeue_not_retried_in(&self, list: &str) -> Result<usize> {
        self.list(list).requeue_matching(|e| !e.is_retried(), true)
    }

    /// The failure of the list `list` whose id is `id`, with its index there.
    pub fn find_in(&self, list: &str, id: FailureId) -> Result<(usize, Failure)> {
        find_in(vec![self.list(list)], id)
    }

    /// Retries the failure of the list `list` whose id is `id`, wherever it is now.
    pub fn requeue_id_in(&self, list: &str, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| Ok(vec![self.list(list)]), id, Act::Requeue)
    }

    /// Removes the failure of the list `list` whose id is `id`, wherever it is now.
    pub fn remove_id_in(&self, list: &str, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| Ok(vec![self.list(list)]), id, Act::Remove)
    }

    /// Every failed list, in [`failed_lists`](Self::failed_lists) order.
    fn lists(&self) -> Result<Vec<List<'_>>> {
        Ok(self.failed_lists()?.iter().map(|name| self.list(name)).collect())
    }

    /// Deletes the list `list`. Its name stays in `failed_queues`, as in Ruby.
    pub fn clear_in(&self, list: &str) -> Result<()> {
        self.list(list).clear()
    }
}

/// Rewrites an error about index `local` of one list as one about the
/// overall index.
fn overall(e: Error, offset: usize, total: u64) -> Error {
    match e {
        Error::NoSuchFailure { index, .. } => Error::NoSuchFailure { index: offset + index, count: total },
        Error::BadFailure { index, reason } => Error::BadFailure { index: offset + index, reason },
        e => e,
    }
}

impl FailureBackend for RedisMultiQueueFailures {
    /// `SADD failed_queues <queue>_failed` and `RPUSH <queue>_failed <entry>`.
    fn save(&self, failure: &NewFailure<'_>) -> Result<()> {
        FailureTargets::for_backend(&self.client, FailureDestination::RedisMultiQueue, failure.queue_bytes())
            .save(&self.client, &failure.to_json())
    }

    fn count(&self) -> Result<u64> {
        Ok(self.lengths()?.iter().map(|(_, n)| n).sum())
    }

    fn all(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        let mut found = Vec::new();
        let mut offset = 0usize;
        let end = start.saturating_add(count);
        for (name, len) in self.lengths()? {
            let len = len as usize;
            let (from, to) = (start.max(offset), end.min(offset + len));
            if from < to {
                found.extend(self.list(&name).all(from - offset, to - from)?);
            }
            offset += len;
        }
        Ok(found)
    }

    fn select(&self, class: Option<&str>, queue: Option<&str>) -> Result<Vec<(usize, Failure)>> {
        let mut found = Vec::new();
        let mut offset = 0usize;
        for (name, len) in self.lengths()? {
            self.list(&name).select(offset, class, queue, &mut found)?;
            offset += len as usize;
        }
        Ok(found)
    }

    fn requeue(&self, index: usize) -> Result<()> {
        match self.locate(index)? {
            Ok((name, local, offset, total)) => {
                self.list(&name).requeue_at(local).map_err(|e| overall(e, offset, total))
            }
            Err(count) => Err(Error::NoSuchFailure { index, count }),
        }
    }

    fn requeue_all(&self) -> Result<usize> {
        let mut requeued = 0;
        for name in self.failed_lists()? {
            requeued += self.requeue_all_in(&name)?;
        }
        Ok(requeued)
    }

    fn requeue_not_retried(&self) -> Result<usize> {
        let mut requeued = 0;
        for name in self.failed_lists()? {
            requeued += self.requeue_not_retried_in(&name)?;
        }
        Ok(requeued)
    }

    /// Retries every failure in `<queue>_failed`, as Ruby does.
    fn requeue_queue(&self, queue: &str) -> Result<usize> {
        self.requeue_all_in(&Keys::failed_queue_name(queue))
    }

    /// Looks in every list, in [`failed_lists`](Self::failed_lists) order.
    fn find(&self, id: FailureId) -> Result<(usize, Failure)> {
        find_in(self.lists()?, id)
    }

    fn requeue_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| self.lists(), id, Act::Requeue)
    }

    fn remove_id(&self, id: FailureId) -> Result<(usize, Failure)> {
        act_on_id(|| self.lists(), id, Act::Remove)
    }

    fn remove(&self, index: usize) -> Result<()> {
        match self.locate(index)? {
            Ok((name, local, offset, total)) => {
                self.list(&name).remove_at(local).map_err(|e| overall(e, offset, total))
            }
            Err(count) => Err(Error::NoSuchFailure { index, count }),
        }
    }

    /// Deletes `<queue>_failed`, as Ruby does; its name stays in `failed_queues`.
    fn remove_queue(&self, queue: &str) -> Result<usize> {
        let key = self.client.keys().failed_queue(queue);
        let (len, _): (u64, u64) =
            self.client.with_conn(|c| redis::pipe().atomic().llen(&key).del(&key).query(c))?;
        Ok(len as usize)
    }

    /// Deletes every list named in `failed_queues`; the names stay, as in Ruby.
    fn clear(&self) -> Result<()> {
        let names = self.raw_lists()?;
        if names.is_empty() {
            return Ok(());
        }
        let keys: Vec<Vec<u8>> = names.iter().map(|n| self.client.keys().key_of_bytes(n)).collect();
        self.client.with_conn(|c| c.del::<_, ()>(&keys))
    }

    fn clear_retried(&self) -> Result<usize> {
        let mut removed = 0;
        for name in self.failed_lists()? {
            removed += self.list(&name).remove_matching(RawFailure::is_retried)?;
        }
        Ok(removed)
    }
}
