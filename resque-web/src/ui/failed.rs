//! The failed list a Failed page or action works on: the default `failed`
//! list, or one `<queue>_failed` list of the multi-queue backend.

use resque::failure::{FailureBackend, FailureRef, RedisFailures, RedisMultiQueueFailures};
use resque::payload::Failure;
use resque::Client;

use crate::api::ApiError;

/// A failed list, by the page's `list` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FailedList {
    /// `failed`, where the default backend writes.
    Default,
    /// One `<queue>_failed` list (e.g. `file_serve_failed`).
    Named(String),
}

impl FailedList {
    /// The list a `list` parameter names; none, or a blank one, is `failed`.
    pub(crate) fn from_param(list: Option<&str>) -> Self {
        match list.map(str::trim).filter(|l| !l.is_empty()) {
            Some(name) => FailedList::Named(name.to_string()),
            None => FailedList::Default,
        }
    }

    /// The `list` parameter that names it again, if any.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            FailedList::Default => None,
            FailedList::Named(name) => Some(name),
        }
    }

    /// How many entries it holds.
    pub(crate) fn count(&self, c: &Client) -> Result<u64, ApiError> {
        Ok(match self {
            FailedList::Default => c.failed_count()?,
            FailedList::Named(name) => RedisMultiQueueFailures::new(c.clone()).count_in(name)?,
        })
    }

    /// Up to `count` entries from index `start`, oldest first.
    pub(crate) fn entries(&self, c: &Client, start: usize, count: usize) -> Result<Vec<Failure>, ApiError> {
        Ok(match self {
            FailedList::Default => c.failures(start, count)?,
            FailedList::Named(name) => RedisMultiQueueFailures::new(c.clone()).all_in(name, start, count)?,
        })
    }

    /// The entries whose class and queue match, with their indexes.
    pub(crate) fn select(
        &self,
        c: &Client,
        class: Option<&str>,
        queue: Option<&str>,
    ) -> Result<Vec<(usize, Failure)>, ApiError> {
        Ok(match self {
            FailedList::Default => RedisFailures::new(c.clone()).select(class, queue)?,
            FailedList::Named(name) => {
                RedisMultiQueueFailures::new(c.clone()).select_in(name, class, queue)?
            }
        })
    }

    /// Retries the entry with an id (wherever it is now), or at an index.
    pub(crate) fn requeue(&self, c: &Client, entry: FailureRef) -> Result<(), resque::Error> {
        let (default, multi) = (RedisFailures::new(c.clone()), RedisMultiQueueFailures::new(c.clone()));
        match (self, entry) {
            (FailedList::Default, FailureRef::Index(index)) => default.requeue(index),
            (FailedList::Default, FailureRef::Id(id)) => default.requeue_id(id).map(drop),
            (FailedList::Named(name), FailureRef::Index(index)) => multi.requeue_in(name, index),
            (FailedList::Named(name), FailureRef::Id(id)) => multi.requeue_id_in(name, id).map(drop),
        }
    }

    /// Removes the entry with an id (wherever it is now), or at an index.
    pub(crate) fn remove(&self, c: &Client, entry: FailureRef) -> Result<(), resque::Error> {
        let (default, multi) = (RedisFailures::new(c.clone()), RedisMultiQueueFailures::new(c.clone()));
        match (self, entry) {
            (FailedList::Default, FailureRef::Index(index)) => default.remove(index),
            (FailedList::Default, FailureRef::Id(id)) => default.remove_id(id).map(drop),
            (FailedList::Named(name), FailureRef::Index(index)) => multi.remove_in(name, index),
            (FailedList::Named(name), FailureRef::Id(id)) => multi.remove_id_in(name, id).map(drop),
        }
    }

    /// Retries every entry not retried yet; returns how many.
    pub(crate) fn requeue_not_retried(&self, c: &Client) -> Result<usize, ApiError> {
        Ok(match self {
            FailedList::Default => RedisFailures::new(c.clone()).requeue_not_retried()?,
            FailedList::Named(name) => {
                RedisMultiQueueFailures::new(c.clone()).requeue_not_retried_in(name)?
            }
        })
    }

    /// Retries every entry, those retried before included; returns how many.
    pub(crate) fn requeue_all(&self, c: &Client) -> Result<usize, ApiError> {
        Ok(match self {
            FailedList::Default => RedisFailures::new(c.clone()).requeue_all()?,
            FailedList::Named(name) => RedisMultiQueueFailures::new(c.clone()).requeue_all_in(name)?,
        })
    }

    /// Deletes every entry.
    pub(crate) fn clear(&self, c: &Client) -> Result<(), ApiError> {
        match self {
            FailedList::Default => RedisFailures::new(c.clone()).clear()?,
            FailedList::Named(name) => RedisMultiQueueFailures::new(c.clone()).clear_in(name)?,
        }
        Ok(())
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
