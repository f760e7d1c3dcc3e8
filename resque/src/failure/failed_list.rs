//! One failed list by name, as a page or a command names it: the default
//! `failed` list, or one `<queue>_failed` list of the multi-queue backend.

use crate::client::Client;
use crate::error::Result;
use crate::payload::Failure;

use super::list::{act_on_id, Act, List};
use super::FailureRef;
#[cfg(doc)]
use super::{RedisFailures, RedisMultiQueueFailures};

/// A failed list, by name: [`RedisFailures`]' `failed`, or one list of
/// [`RedisMultiQueueFailures`] (e.g. `file_serve_failed`). Each operation
/// does what the backend owning the list does there.
///
/// ```no_run
/// use resque::failure::{FailedList, FailureRef};
/// # fn main() -> resque::Result<()> {
/// let client = resque::Client::new("localhost:6379")?;
/// let list = FailedList::from_param(Some("file_serve_failed"));
/// assert_eq!(list.name(), Some("file_serve_failed"));
/// println!("{} failed", list.count(&client)?);
/// for (index, failure) in list.select(&client, Some("Archive"), None)? {
///     println!("{index}: {:?}", failure.error);
/// }
/// list.requeue(&client, FailureRef::Index(0))?;
/// list.remove(&client, "3db87e6340c9".parse().unwrap_or(FailureRef::Index(0)))?;
/// assert_eq!(FailedList::from_param(None), FailedList::Default);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailedList {
    /// `failed`, where the default backend writes.
    Default,
    /// One `<queue>_failed` list (e.g. `file_serve_failed`).
    Named(String),
}

impl FailedList {
    /// The list a `list` parameter names; none, or a blank one, is `failed`.
    pub fn from_param(list: Option<&str>) -> Self {
        match list.map(str::trim).filter(|l| !l.is_empty()) {
            Some(name) => FailedList::Named(name.to_string()),
            None => FailedList::Default,
        }
    }

    /// The `list` parameter that names it again, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            FailedList::Default => None,
            FailedList::Named(name) => Some(name),
        }
    }

    /// The list itself, its name resolved now.
    fn list<'a>(&self, client: &'a Client) -> List<'a> {
        match self {
            FailedList::Default => List::failed(client),
            FailedList::Named(name) => List::named(client, name),
        }
    }

    /// How many entries it holds.
    pub fn count(&self, client: &Client) -> Result<u64> {
        self.list(client).len()
    }

    /// Up to `count` entries from index `start`, oldest first.
    pub fn entries(&self, client: &Client, start: usize, count: usize) -> Result<Vec<Failure>> {
        self.list(client).all(start, count)
    }

    /// The entries whose class and queue match (`None` matches anything),
    /// with their indexes.
    pub fn select(
        &self,
        client: &Client,
        class: Option<&str>,
        queue: Option<&str>,
    ) -> Result<Vec<(usize, Failure)>> {
        let mut found = Vec::new();
        self.list(client).select(0, class, queue, &mut found)?;
        Ok(found)
    }

    /// Retries the entry with an id (wherever it is now), or at an index.
    pub fn requeue(&self, client: &Client, entry: FailureRef) -> Result<()> {
        self.act(client, entry, Act::Requeue)
    }

    /// Removes the entry with an id (wherever it is now), or at an index.
    pub fn remove(&self, client: &Client, entry: FailureRef) -> Result<()> {
        self.act(client, entry, Act::Remove)
    }

    /// Does `act` to the entry `entry` names, as the backend owning the
    /// list does by index (`requeue`/`remove`) or by id (`*_id`).
    fn act(&self, client: &Client, entry: FailureRef, act: Act) -> Result<()> {
        match (entry, act) {
            (FailureRef::Index(index), Act::Requeue) => self.list(client).requeue_at(index),
            (FailureRef::Index(index), Act::Remove) => self.list(client).remove_at(index),
            (FailureRef::Id(id), act) => act_on_id(|| Ok(vec![self.list(client)]), id, act).map(drop),
        }
    }

    /// Retries every entry not retried yet; returns how many.
    pub fn requeue_not_retried(&self, client: &Client) -> Result<usize> {
        self.list(client).requeue_matching(|e| !e.is_retried(), true)
    }

    /// Retries every entry, those retried before included; returns how many.
    pub fn requeue_all(&self, client: &Client) -> Result<usize> {
        self.list(client).requeue_matching(|_| true, true)
    }

    /// Deletes every entry. A `<queue>_failed` list's name stays in
    /// `failed_queues`, as in Ruby.
    pub fn clear(&self, client: &Client) -> Result<()> {
        self.list(client).clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_list_parameter_is_the_default_list() {
        assert_eq!(FailedList::from_param(None), FailedList::Default);
        assert_eq!(FailedList::from_param(Some("  ")), FailedList::Default);
        let named = FailedList::from_param(Some(" mail_failed "));
        assert_eq!(named, FailedList::Named("mail_failed".into()));
        assert_eq!(named.name(), Some("mail_failed"));
    }
}
