//! The library's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the client and the worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Redis address that is neither a URL nor Ruby Resque's `host:port[:db][/namespace]`.
    #[error("invalid Redis address {input:?}: {reason}")]
    InvalidAddress {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Redis did not answer the connection.
    #[error(
        "cannot connect to Redis at {address}: {}",
        reason(source, "timed out: no answer from the server")
    )]
    Connect {
        /// The address tried, without any password.
        address: String,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// Something answered at the address, but not in the Redis protocol (an
    /// HTTP server, say): the address names the wrong port or host.
    #[error(
        "cannot connect to Redis at {address}: {server} answered but is not a Redis server ({})",
        match reply {
            Some(reply) => format!("it answered {reply:?}"),
            None => "its answer is not in the Redis protocol".to_string(),
        }
    )]
    NotRedis {
        /// The address tried, without any password.
        address: String,
        /// `host:port`.
        server: String,
        /// The first line it sent, when it answered a plain `PING` (control
        /// characters replaced, cut short).
        reply: Option<String>,
    },
    /// A Redis command failed.
    #[error("Redis at {address}: {}", reason(source, &format!("timed out: no reply within {} s", crate::client::IO_TIMEOUT.as_secs())))]
    Redis {
        /// The server's address, without any password.
        address: String,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// Job arguments that do not serialize to a JSON array.
    #[error("cannot encode the arguments of job {class}: {reason}")]
    Encode {
        /// The job class.
        class: String,
        /// What went wrong.
        reason: String,
    },
    /// A `resque.yml` that cannot be used.
    #[error("config {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A recurring schedule that cannot be used.
    #[error("schedule {name}: {reason}")]
    Schedule {
        /// The schedule's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two jobs registered under one class name.
    #[error("{0}")]
    DuplicateJobs(String),
    /// A queue list that selects nothing, or is malformed.
    #[error("invalid queue list {input:?}: {reason}")]
    InvalidQueues {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A failure index past the end of the failed list(s).
    #[error("no failure at index {index}: the failed list holds {count} entries")]
    NoSuchFailure {
        /// The index asked for, from 0.
        index: usize,
        /// How many entries the list holds.
        count: u64,
    },
    /// No entry of the failed list(s) has this id: it was removed, or its
    /// bytes changed, since the id was read.
    #[error("no failure entry with id {id} (it was removed or changed)")]
    NoSuchFailureId {
        /// The id asked for.
        id: crate::payload::FailureId,
    },
    /// Different entries share this id (12 hex digits of a hash can
    /// collide): nothing was done; act on one by its index instead.
    #[error("{count} different failure entries have the id {id}: nothing was done; act on one by its index")]
    AmbiguousFailureId {
        /// The id asked for.
        id: crate::payload::FailureId,
        /// How many different entries have it.
        count: usize,
    },
    /// A failure entry that cannot be requeued: not JSON, or without a
    /// `queue` or a `payload`.
    #[error("the failure at index {index} cannot be requeued: {reason}")]
    BadFailure {
        /// The entry's index, from 0.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Inline mode: no job is linked under this class.
    #[error("no job is registered for class {class:?} in this program (inline mode runs jobs in-process)")]
    UnknownJob {
        /// The payload's class.
        class: String,
    },
    /// Inline mode: the job ran and failed.
    #[error("the job failed: {0}")]
    JobFailed(#[source] crate::job_failure::JobFailure),
    /// An operating system call the worker needs failed.
    #[error("{what}: {source}")]
    Os {
        /// What the worker was doing.
        what: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether Redis could not be reached or the connection to it broke
    /// (worth trying again later), as opposed to a refused command or bad
    /// data.
    ///
    /// ```
    /// let refused = resque::Client::new("127.0.0.1:1").unwrap().ping().unwrap_err();
    /// assert!(refused.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::NotRedis { .. } => true,
            Error::Redis { source, .. } => connection_broken(source),
            _ => false,
        }
    }

    pub(crate) fn os(what: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        Error::Os { what: what.into(), source: source.into() }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A Redis client error in words: "timed out" rather than the system's
/// "Resource temporarily unavailable" (a socket timeout is `EAGAIN`), a
/// refusal that says what it means, and one line where the client writes
/// several. The client's errors never hold a password.
fn reason(source: &redis::RedisError, timed_out: &str) -> String {
    if source.is_connection_refusal() {
        return "connection refused (is redis-server running there?)".to_string();
    }
    if source.is_timeout() {
        return timed_out.to_string();
    }
    let text = source.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.join("; ")
}

/// Whether a Redis error means the connection is unusable: a network error,
/// a dropped or refused connection, a timeout, or a reply stream that
/// cannot be trusted any more.
pub(crate) fn connection_broken(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || server_moved_on(e)
}

/// A server that answers but is no longer (or not yet) a usable master: a
/// replica refusing writes (`READONLY`: the master was failed over), one
/// cut off from its master (`MASTERDOWN`), one still loading its data
/// (`LOADING`), a master refusing writes for want of replicas
/// (`NOREPLICAS`, with `min-replicas-to-write`: as when its replica was
/// just promoted), or a blocked command released because the server
/// changed role (`UNBLOCKED`); on Redis Cluster, a slot served elsewhere
/// now (`MOVED`, `ASK`), or a cluster not serving it for the moment
/// (`CLUSTERDOWN`, `TRYAGAIN`). Nothing was done; a new connection (behind
/// Sentinel, to the master the sentinels name now; on a cluster, to the
/// master serving the slot now) can try again.
fn server_moved_on(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::ReadOnly
                | ServerErrorKind::MasterDown
                | ServerErrorKind::BusyLoading
                | ServerErrorKind::Moved
                | ServerErrorKind::Ask
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::TryAgain
        )
    ) || matches!(e.code(), Some("UNBLOCKED" | "NOREPLICAS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: std::io::ErrorKind) -> redis::RedisError {
        redis::RedisError::from(std::io::Error::from(kind))
    }

    #[test]
    fn connection_errors_read_in_words() {
        let address = "redis://127.0.0.1:8080/0".to_string();
        let timed_out =
            Error::Connect { address: address.clone(), source: io(std::io::ErrorKind::WouldBlock) };
        assert_eq!(
            timed_out.to_string(),
            "cannot connect to Redis at redis://127.0.0.1:8080/0: timed out: no answer from the server"
        );
        let waited = Error::Redis { address: address.clone(), source: io(std::io::ErrorKind::WouldBlock) };
        assert_eq!(waited.to_string(), "Redis at redis://127.0.0.1:8080/0: timed out: no reply within 30 s");
        let refused =
            Error::Connect { address: address.clone(), source: io(std::io::ErrorKind::ConnectionRefused) };
        assert!(refused.to_string().ends_with(": connection refused (is redis-server running there?)"));
        let not_redis = Error::NotRedis {
            address: address.clone(),
            server: "127.0.0.1:8080".into(),
            reply: Some("HTTP/1.1 400 Bad Request".into()),
        };
        assert_eq!(
            not_redis.to_string(),
            "cannot connect to Redis at redis://127.0.0.1:8080/0: 127.0.0.1:8080 answered but is not a Redis \
             server (it answered \"HTTP/1.1 400 Bad Request\")"
        );
        assert!(not_redis.is_unavailable());
        let silent = Error::NotRedis { address, server: "127.0.0.1:8080".into(), reply: None };
        assert!(silent.to_string().ends_with("(its answer is not in the Redis protocol)"), "{silent}");
    }

    /// The error a server reply (RESP bytes, as a server sends them) makes.
    fn reply(resp: &[u8]) -> redis::RedisError {
        match redis::parse_redis_value(resp).and_then(|v| v.extract_error()) {
            Err(e) => e,
            Ok(v) => panic!("{v:?} is not an error"),
        }
    }

    #[test]
    fn a_server_that_moved_on_is_left_for_a_new_connection() {
        for resp in [
            &b"-MOVED 3999 127.0.0.1:6381\r\n"[..],
            b"-ASK 3999 127.0.0.1:6381\r\n",
            b"-CLUSTERDOWN The cluster is down\r\n",
            b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
            b"-READONLY You can't write against a read only replica.\r\n",
            b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n",
            b"-LOADING Redis is loading the dataset in memory\r\n",
            b"-NOREPLICAS Not enough good replicas to write.\r\n",
            b"-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n",
        ] {
            let e = reply(resp);
            assert!(connection_broken(&e), "{e:?}");
            let error = Error::Redis { address: "redis://h:1/0".into(), source: e };
            assert!(error.is_unavailable(), "{error}");
        }
        for resp in [&b"-ERR unknown command 'X'\r\n"[..], b"-WRONGTYPE Operation against a key\r\n"] {
            let e = reply(resp);
            assert!(!connection_broken(&e), "{e:?}");
        }
    }
}
