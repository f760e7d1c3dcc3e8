//! Whether the worker has its Redis: losing it is said once ("lost Redis at
//! ..., retrying"), not at every retry, and having it back is said too, at
//! the level a quiet log shows (see [`STATUS_TARGET`]). Errors that are not
//! a lost connection are logged as they come.

use std::fmt;

use super::{Worker, STATUS_TARGET};
use crate::client::RedisAddress;
use crate::error::Error;

/// The worker's view of its connection to Redis.
#[derive(Debug, Default)]
pub(super) struct RedisLink {
    lost: bool,
}

impl RedisLink {
    /// Notes a failed Redis call and logs `what` about it: at warn level,
    /// unless the connection is lost, which is said once (then `what` at
    /// debug level until it is back).
    pub(super) fn failed(
        &mut self,
        address: &RedisAddress,
        worker: &str,
        e: &Error,
        what: fmt::Arguments<'_>,
    ) {
        match lost_connection(e) {
            Some(reason) if !self.lost => {
                self.lost = true;
                tracing::warn!(target: STATUS_TARGET, %worker, "lost Redis at {address}: {reason}, retrying");
                tracing::debug!(worker, "{what}");
            }
            Some(_) => tracing::debug!(worker, "{what}"),
            None => tracing::warn!(worker, "{what}"),
        }
    }

    /// Notes a Redis call that was answered: says Redis is back if it was lost.
    pub(super) fn answered(&mut self, address: &RedisAddress, worker: &str) {
        if std::mem::take(&mut self.lost) {
            tracing::info!(target: STATUS_TARGET, %worker, "Redis is back at {address}");
        }
    }
}

impl Worker {
    /// [`RedisLink::failed`] for this worker.
    pub(super) fn redis_failed(&mut self, e: &Error, what: fmt::Arguments<'_>) {
        self.link.failed(self.client.address(), &self.id, e, what);
    }

    /// [`RedisLink::answered`] for this worker.
    pub(super) fn redis_answered(&mut self) {
        self.link.answered(self.client.address(), &self.id);
    }
}

/// Why the connection is lost, if this error says it is: Redis cannot be
/// reached or the connection broke, or the server is not a usable master
/// for the moment ([`Error::is_unavailable`], the one judge of it).
fn lost_connection(e: &Error) -> Option<&redis::RedisError> {
    if !e.is_unavailable() {
        return None;
    }
    match e {
        Error::Connect { source, .. } | Error::Redis { source, .. } => Some(source),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_error(source: redis::RedisError) -> Error {
        Error::Redis { address: "redis://127.0.0.1:1".into(), source }
    }

    #[test]
    fn only_a_lost_connection_counts_as_losing_redis() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let refused = Error::Connect { address: "redis://127.0.0.1:1".into(), source: refused.into() };
        assert!(lost_connection(&refused).is_some());
        let dropped = redis_error(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
        assert!(lost_connection(&dropped).is_some());
        let script = redis_error(redis::RedisError::from((redis::ErrorKind::Client, "a script failed")));
        assert!(lost_connection(&script).is_none());
        assert!(lost_connection(&Error::DuplicateJobs("x".into())).is_none());
    }

    #[test]
    fn losing_redis_is_noted_once_until_it_answers() {
        let address: RedisAddress = "redis://127.0.0.1:1".parse().unwrap();
        let dropped = redis_error(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
        let mut link = RedisLink::default();
        link.failed(&address, "w", &dropped, format_args!("first"));
        assert!(link.lost);
        link.failed(&address, "w", &dropped, format_args!("again"));
        assert!(link.lost);
        link.answered(&address, "w");
        assert!(!link.lost);
    }
}
