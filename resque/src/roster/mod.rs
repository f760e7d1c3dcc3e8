//! The roster of workers in Redis: registering, the heartbeat,
//! unregistering, pruning dead workers and recovering the jobs they held.
//! The worker keeps itself on the roster; the client and the admin
//! commands prune and remove workers through it, with no worker running.

mod prune;
mod recover;

use std::time::Duration;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::failure::FailureDestination;
use crate::keys::stat;
use crate::payload;
use crate::queues::QueueList;
use crate::worker_id::WorkerId;

pub use prune::{heartbeat_expired, Pruned, EXPIRY_INTERVALS};
pub(crate) use prune::{prune_dead_workers, Pruner};
use prune::{prune_worker, Removal};
pub use recover::Recovered;
pub(crate) use recover::{recover_inflight, return_entries, return_own_inflight};

/// `SADD workers <id>` + `SET worker:<id>:started <started>` (kept if set).
pub(crate) fn register(client: &Client, id: &str, started: &str) -> Result<()> {
    let keys = client.keys();
    client.with_conn(|c| {
        redis::pipe()
            .sadd(keys.workers(), id)
            .ignore()
            .cmd("SET")
            .arg(keys.worker_started(id))
            .arg(started)
            .arg("NX")
            .ignore()
            .query::<()>(c)
    })
}

/// `HSET workers:heartbeat <id> <Redis TIME as ISO-8601>`.
pub(crate) fn write_heartbeat(client: &Client, id: &str) -> Result<()> {
    let now = payload::time::heartbeat(client.redis_time()?);
    let key = client.keys().heartbeat();
    client.with_conn(|c| redis::cmd("HSET").arg(&key).arg(id).arg(&now).query::<()>(c))?;
    tracing::debug!(worker = id, at = now, "heartbeat");
    Ok(())
}

/// Removes every key of a worker: `SREM workers`, `DEL worker:<id>`, `DEL
/// worker:<id>:started`, `HDEL workers:heartbeat` and the per-worker stats.
/// Its in-flight list is left for [`recover_inflight`].
pub(crate) fn unregister(client: &Client, worker_id: &str) -> Result<()> {
    let keys = client.keys();
    client.with_conn(|c| {
        redis::pipe()
            .srem(keys.workers(), worker_id)
            .ignore()
            .del(keys.worker(worker_id))
            .ignore()
            .del(keys.worker_started(worker_id))
            .ignore()
            .hdel(keys.heartbeat(), worker_id)
            .ignore()
            .del(keys.worker_stat(stat::PROCESSED, worker_id))
            .ignore()
            .del(keys.worker_stat(stat::FAILED, worker_id))
            .ignore()
            .query::<()>(c)
    })
}
/// Prunes dead workers as a worker listening on every queue of this host
/// would (see `docs/PROTOCOL.md`), and puts their in-flight jobs back.
/// A heartbeat older than [`EXPIRY_INTERVALS`] heartbeat intervals is dead;
/// the pruning lock is held for one interval. `None` when another worker
/// holds the lock.
pub(crate) fn prune_now(client: &Client, heartbeat_interval: Duration) -> Result<Option<Pruned>> {
    let worker_id = WorkerId::for_this_process("resque-cli-prune")?;
    let (id, hostname) = (worker_id.to_string(), worker_id.host().to_string());
    let all = QueueList::parse("*")?;
    let pruner = Pruner {
        id: &id,
        hostname: &hostname,
        queues: &all,
        heartbeat_interval,
        failures: &[FailureDestination::Redis],
        trust_expiry: true,
    };
    prune_dead_workers(client, &pruner)
}

/// Unregisters a worker and puts its in-flight jobs back; a job recorded
/// as running with nothing in flight (a Ruby or node-resque worker's) is
/// failed as `Resque::DirtyExit`, as Ruby's `unregister_worker` does.
pub(crate) fn remove_worker(client: &Client, id: &str) -> Result<Recovered> {
    let removed = prune_worker(client, id.as_bytes(), None, &[FailureDestination::Redis], Removal::Removed)?;
    Ok(removed.unwrap_or_default())
}

/// The roster's operations, on the client.
impl Client {
    /// Unregisters a worker (dead, or one to forget) and puts the jobs it
    /// had in flight back at the head of their queues.
    pub fn remove_worker(&self, id: &str) -> Result<Recovered> {
        remove_worker(self, id)
    }

    /// Prunes dead workers now, by Ruby's rules (an expired heartbeat, or a
    /// worker of this host whose process is gone) and puts their in-flight
    /// jobs back. `Ok(None)` when a worker is pruning at this moment.
    pub fn prune_dead_workers(&self, heartbeat_interval: Duration) -> Result<Option<Pruned>> {
        prune_now(self, heartbeat_interval)
    }

    /// Prunes dead workers now, as [`Client::prune_dead_workers`] does, with
    /// the heartbeat expiry given directly: a worker whose heartbeat is older
    /// than `expire_after` (see [`heartbeat_expired`]) is
    /// dead. The pruning lock is held for `expire_after` divided by
    /// [`EXPIRY_INTERVALS`], the matching heartbeat interval.
    pub fn prune_workers_expired_after(&self, expire_after: Duration) -> Result<Option<Pruned>> {
        self.prune_dead_workers(expire_after / EXPIRY_INTERVALS)
    }
}

impl WorkerId {
    /// The id of this process on this machine, listening on `queues`.
    pub fn for_this_process(queues: &str) -> Result<Self> {
        Ok(WorkerId::new(&hostname()?, std::process::id(), queues))
    }
}

/// This machine's hostname, as Ruby's `Socket.gethostname` reads it.
pub(crate) fn hostname() -> Result<String> {
    let name =
        nix::unistd::gethostname().map_err(|e| Error::os("reading the hostname", std::io::Error::from(e)))?;
    Ok(name.to_string_lossy().into_owned())
}
