//! The Redis client: one connection per process to one namespace, shared
//! by clones. Each concern is a file of its own: the address, the
//! connection, enqueueing, queues, workers, stats, and inspecting keys.

mod address;
mod cluster;
mod connection;
mod delayed;
mod enqueue;
pub mod inspect;
mod nodes;
mod queues;
mod sentinel;
mod stats;
mod workers;

use std::env;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::keys::{Keys, DEFAULT_NAMESPACE};
use crate::payload;

use address::env_address;
pub use address::{RedisAddress, DEFAULT_URL};
pub(crate) use connection::IO_TIMEOUT;
use connection::{OwnedConnection, Target};
pub(crate) use delayed::QUEUE_NOW;
pub use delayed::{DueAt, QueuedNow};
pub use stats::{Info, WorkerStats};
pub use workers::Working;

/// A connection to Resque's data in one Redis namespace.
///
/// Cheap to clone (clones share one connection). The connection is opened on
/// first use, reopened after a network error, and never shared across
/// `fork`: a forked child that uses a client inherited from its parent opens
/// its own connection.
///
/// ```no_run
/// # fn main() -> resque::Result<()> {
/// let client = resque::Client::new("localhost:6379")?;
/// client.enqueue_class("file_serve", "Archive", &(44, "masterbrew"))?;
/// assert_eq!(client.size("file_serve")?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    address: RedisAddress,
    /// Shared by the clients [`Client::with_timeouts`] makes.
    target: Arc<Target>,
    keys: Keys,
    conn: Mutex<Option<OwnedConnection>>,
    timeouts: connection::Timeouts,
}

impl Client {
    /// A client for `address`, in the namespace the address names, else
    /// `RESQUE_NAMESPACE`, else `resque`. Does not connect yet.
    pub fn new(address: &str) -> Result<Self> {
        let address: RedisAddress = address.parse()?;
        let namespace = address
            .namespace()
            .map(str::to_string)
            .or_else(|| env::var("RESQUE_NAMESPACE").ok().filter(|ns| !ns.is_empty()))
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        Self::with_namespace(address, &namespace)
    }

    /// A client for `address` in an explicit namespace.
    pub fn with_namespace(address: RedisAddress, namespace: &str) -> Result<Self> {
        if namespace.is_empty() {
            return Err(Error::InvalidAddress {
                input: address.to_string(),
                reason: "the namespace is empty".into(),
            });
        }
        let target =
            match (address.sentinel(), address.cluster()) {
                (Some(spec), _) => Target::Sentinel(sentinel::Sentinels::new(spec.clone())),
                (None, Some(spec)) => {
                    if cluster::hash_tag(namespace).is_none() {
                        return Err(Error::InvalidAddress {
                            input: address.to_string(),
                            reason: format!(
                                "on Redis Cluster the namespace must hold a hash tag, as `{{{namespace}}}` \
                             (-N, RESQUE_NAMESPACE or resque.yml): a namespace's keys must share one slot, \
                             since every script touches several of them at once; {namespace:?} has none"
                            ),
                        });
                    }
                    Target::Cluster(cluster::ClusterSlot::new(spec.clone(), Keys::new(namespace).queues()))
                }
                (None, None) => Target::Direct(redis::Client::open(address.url()).map_err(|e| {
                    Error::InvalidAddress { input: address.to_string(), reason: e.to_string() }
                })?),
            };
        Ok(Client {
            inner: Arc::new(Inner {
                address,
                target: Arc::new(target),
                keys: Keys::new(namespace),
                conn: Mutex::new(None),
                timeouts: connection::Timeouts::default(),
            }),
        })
    }

    /// The client the environment describes: `RESQUE_REDIS`, else
    /// `REDIS_URL`, else `redis://127.0.0.1:6379`; namespace from the
    /// address, else `RESQUE_NAMESPACE`, else `resque`.
    pub fn from_env() -> Result<Self> {
        Self::new(&env_address())
    }

    /// The client a `resque.yml` names for the environment `RESQUE_ENV`
    /// (else `development`). See [`crate::config`].
    pub fn from_config(path: impl AsRef<std::path::Path>) -> Result<Self> {
        crate::config::Config::load(path.as_ref())?.client_for(&crate::config::environment())
    }

    /// The server's address, without any password.
    pub fn address(&self) -> &RedisAddress {
        &self.inner.address
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.inner.keys.namespace()
    }

    /// Key names in this client's namespace.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.inner.address)
            .field("namespace", &self.namespace())
            .finish()
    }
}

/// A payload as JSON, or, when it is not JSON, as a JSON string of its text
/// (see [`payload::escape_bytes`]).
pub(crate) fn parse_or_text(raw: Vec<u8>) -> Value {
    serde_json::from_slice(&raw).unwrap_or_else(|_| Value::String(payload::into_text(raw)))
}

/// Values read from Redis as text (see [`payload::into_text`]).
fn texts(raw: Vec<Vec<u8>>) -> Vec<String> {
    raw.into_iter().map(payload::into_text).collect()
}

static DEFAULT_CLIENT: RwLock<Option<Client>> = RwLock::new(None);

/// The client `archive::enqueue` uses: the one set with
/// [`set_default_client`], else [`Client::from_env`].
pub fn default_client() -> Result<Client> {
    if let Some(c) = DEFAULT_CLIENT.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
        return Ok(c.clone());
    }
    let mut slot = DEFAULT_CLIENT.write().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = slot.as_ref() {
        return Ok(c.clone());
    }
    let client = Client::from_env()?;
    *slot = Some(client.clone());
    Ok(client)
}

/// Makes `client` the one generated `enqueue` functions use.
///
/// ```
/// let client = resque::Client::new("redis://127.0.0.1:6379/0").unwrap();
/// resque::set_default_client(client);
/// assert_eq!(resque::default_client().unwrap().address().url(), "redis://127.0.0.1:6379/0");
/// ```
pub fn set_default_client(client: Client) {
    *DEFAULT_CLIENT.write().unwrap_or_else(|p| p.into_inner()) = Some(client);
}

/// The `LRANGE`/`ZRANGE` bounds of `count` elements from `start`, clamped so
/// that a large count never wraps to a negative (from the end) index; `None`
/// for no elements.
pub(crate) fn range_bounds(start: usize, count: usize) -> Option<(isize, isize)> {
    if count == 0 {
        return None;
    }
    let clamp = |i: usize| isize::try_from(i).unwrap_or(isize::MAX);
    Some((clamp(start), clamp(start.saturating_add(count - 1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds_never_wrap_to_the_end_of_the_list() {
        assert_eq!(range_bounds(0, 0), None);
        assert_eq!(range_bounds(2, 3), Some((2, 4)));
        assert_eq!(range_bounds(0, usize::MAX), Some((0, isize::MAX)));
        assert_eq!(range_bounds(usize::MAX, 2), Some((isize::MAX, isize::MAX)));
    }
}
