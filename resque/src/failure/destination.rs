//! Where a failure goes: the failure backends a worker records to, and the
//! Redis keys a failure of a job from a queue is written to under them.

use crate::client::Client;
use crate::error::Result;
use crate::keys::Keys;

/// Where a worker records failures: Ruby's failure backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureDestination {
    /// The `failed` list (Ruby's `Resque::Failure::Redis`, the default).
    Redis,
    /// `<queue>_failed` lists named in the `failed_queues` set (Ruby's
    /// `Resque::Failure::RedisMultiQueue`).
    RedisMultiQueue,
    /// A log line through `tracing`, nothing stored.
    Log,
}

impl std::str::FromStr for FailureDestination {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "redis" => Ok(FailureDestination::Redis),
            "redis_multi_queue" => Ok(FailureDestination::RedisMultiQueue),
            "log" => Ok(FailureDestination::Log),
            other => {
                Err(format!("unknown failure backend {other:?}: expected redis, redis_multi_queue or log"))
            }
        }
    }
}

/// The log backend's part of recording a failure entry (the other
/// destinations store it): one `tracing` error naming the worker, when
/// `destinations` name the log.
pub(crate) fn log_failure(destinations: &[FailureDestination], worker: &str, entry: &str) {
    if destinations.contains(&FailureDestination::Log) {
        tracing::error!(worker, failure = entry, "job failed");
    }
}

/// The Redis keys one failure goes to: the rule, written once, that the
/// backends' `save` and the worker's scripts both follow.
#[derive(Debug, Default)]
pub(crate) struct FailureTargets {
    lists: Vec<Vec<u8>>,
    /// `failed_queues` and the member to add, for the multi-queue backend.
    set: Option<(Vec<u8>, Vec<u8>)>,
}

impl FailureTargets {
    /// For a job of `queue`, its exact name (any bytes).
    pub(crate) fn for_queue(keys: &Keys, destinations: &[FailureDestination], queue: &[u8]) -> Self {
        let mut targets = FailureTargets::default();
        for d in destinations {
            match d {
                FailureDestination::Redis => targets.lists.push(keys.failed().into_bytes()),
                FailureDestination::RedisMultiQueue => {
                    targets.lists.push(keys.failed_queue_of_bytes(queue));
                    targets.set =
                        Some((keys.failed_queues().into_bytes(), Keys::failed_queue_name_of_bytes(queue)));
                }
                FailureDestination::Log => {}
            }
        }
        targets
    }

    /// For a job of `queue` failing into one backend's keys, as that
    /// backend's `save` writes it.
    pub(crate) fn for_backend(client: &Client, destination: FailureDestination, queue: &[u8]) -> Self {
        FailureTargets::for_queue(client.keys(), &[destination], queue)
    }

    /// Writes `entry`: adds the set's member, then appends it to every
    /// list, as one transaction when that is more than one command (as the
    /// worker's scripts do in one step).
    pub(crate) fn save(&self, client: &Client, entry: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        if self.lists.len() + usize::from(self.set.is_some()) > 1 {
            pipe.atomic();
        }
        if let Some((set, member)) = &self.set {
            pipe.sadd(set, member).ignore();
        }
        for list in &self.lists {
            pipe.rpush(list, entry).ignore();
        }
        client.with_conn(|c| pipe.query::<()>(c))
    }

    /// The keys the scripts name: the lists, then the set.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.lists.iter().chain(self.set.as_ref().map(|(set, _)| set))
    }

    /// The scripts' arguments: how many lists, and the set's member or `""`.
    pub(crate) fn args(&self) -> (usize, &[u8]) {
        (self.lists.len(), self.set.as_ref().map_or(&b""[..], |(_, member)| member.as_slice()))
    }
}
