//! The Redis client: connection settings, enqueue, queues, and what
//! resque-web shows (workers, stats, failures).

use std::env;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use redis::{Commands, Connection, RedisResult};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::hooks::JobContext;
use crate::job::Job;
use crate::keys::{stat, Keys, DEFAULT_NAMESPACE};
use crate::payload::{self, Failure, WorkingOn};

/// Where the default client connects when nothing is configured.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A Redis address in any form Ruby Resque accepts: a `redis://` or
/// `rediss://` URL, or `host:port`, `host:port:db`, `host:port/namespace`,
/// `host:port:db/namespace`.
///
/// ```
/// use resque::RedisAddress;
/// let a: RedisAddress = "localhost:6380:2/myapp".parse().unwrap();
/// assert_eq!(a.url(), "redis://localhost:6380/2");
/// assert_eq!(a.namespace(), Some("myapp"));
/// let b: RedisAddress = "redis://:secret@cache:6379/1".parse().unwrap();
/// assert_eq!(b.to_string(), "redis://cache:6379/1");
/// assert_eq!(b.namespace(), None);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisAddress {
    url: String,
    namespace: Option<String>,
}

impl RedisAddress {
    /// The connection URL, password included.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The namespace the address names, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
}

impl FromStr for RedisAddress {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let invalid =
            |reason: &str| Error::InvalidAddress { input: input.to_string(), reason: reason.to_string() };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            if !matches!(scheme, "redis" | "rediss" | "unix" | "redis+unix") {
                return Err(invalid("the scheme must be redis://, rediss:// or unix://"));
            }
            redis::parse_redis_url(trimmed).ok_or_else(|| invalid("not a valid Redis URL"))?;
            return Ok(RedisAddress { url: trimmed.to_string(), namespace: None });
        }
        let (server, namespace) = match trimmed.split_once('/') {
            Some((server, "")) => (server, None),
            Some((server, ns)) => (server, Some(ns.to_string())),
            None => (trimmed, None),
        };
        let mut parts = server.split(':');
        let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(|| invalid("no host before ':'"))?;
        let port = match parts.next() {
            Some(p) => p.parse::<u16>().map_err(|_| invalid("the port is not a number from 1 to 65535"))?,
            None => 6379,
        };
        let db = match parts.next() {
            Some(d) => d.parse::<u32>().map_err(|_| invalid("the database is not a number"))?,
            None => 0,
        };
        if parts.next().is_some() {
            return Err(invalid("expected host:port[:db][/namespace]"));
        }
        Ok(RedisAddress { url: format!("redis://{host}:{port}/{db}"), namespace })
    }
}

impl fmt::Display for RedisAddress {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => write!(f, "{scheme}://{host}"),
                None => f.write_str(&self.url),
            },
            None => f.write_str(&self.url),
        }
    }
}

impl fmt::Debug for RedisAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisAddress({self})")
    }
}

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
    redis: redis::Client,
    keys: Keys,
    conn: Mutex<Option<OwnedConnection>>,
}

struct OwnedConnection {
    pid: u32,
    /// Which connection this is (see [`Client::send_packed`]).
    generation: u64,
    conn: Connection,
}

/// Numbers every connection opened in this process, so a reply awaited on
/// one is never read from the next.
static GENERATION: AtomicU64 = AtomicU64::new(0);

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
        let redis = redis::Client::open(address.url())
            .map_err(|e| Error::InvalidAddress { input: address.to_string(), reason: e.to_string() })?;
        Ok(Client {
            inner: Arc::new(Inner { address, redis, keys: Keys::new(namespace), conn: Mutex::new(None) }),
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

    /// How to reach the server (host, port, credentials), for connections
    /// the client does not manage itself.
    pub(crate) fn connection_info(&self) -> &redis::ConnectionInfo {
        self.inner.redis.get_connection_info()
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

    /// Runs `f` on this process's connection, opening it if needed and
    /// dropping it after a connection-level error so the next call reconnects.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T> {
        self.with_owned(|owned| f(&mut owned.conn))
    }

    /// [`Client::with_conn`] with the connection's generation.
    fn with_owned<T>(&self, f: impl FnOnce(&mut OwnedConnection) -> RedisResult<T>) -> Result<T> {
        let _signals_wait = crate::worker::deferred_signals();
        let mut guard = self.lock_conn();
        let pid = std::process::id();
        if guard.as_ref().is_none_or(|c| c.pid != pid) {
            // A connection inherited across fork belongs to the parent: forget
            // it without closing anything the parent still uses.
            if let Some(inherited) = guard.take() {
                std::mem::forget(inherited);
            }
            let conn = self.connect()?;
            let generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
            *guard = Some(OwnedConnection { pid, generation, conn });
        }
        let Some(owned) = guard.as_mut() else {
            return Err(self.error(redis::RedisError::from((redis::ErrorKind::Io, "no connection"))));
        };
        match f(owned) {
            Ok(v) => Ok(v),
            Err(e) => {
                if e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_unrecoverable_error()
                    || e.is_timeout()
                {
                    *guard = None;
                }
                Err(self.error(e))
            }
        }
    }

    /// Sends a command without reading its reply; returns the connection's
    /// generation, for [`Client::recv_reply`]. Nothing else may use the
    /// connection until the reply is read.
    pub(crate) fn send_packed(&self, packed: &[u8]) -> Result<u64> {
        self.with_owned(|owned| {
            owned.conn.send_packed_command(packed)?;
            Ok(owned.generation)
        })
    }

    /// Reads the reply to a command sent with [`Client::send_packed`] on
    /// connection `generation`; fails, reading nothing, when that connection
    /// was replaced meanwhile. A server error comes back as an error.
    pub(crate) fn recv_reply(&self, generation: u64) -> Result<redis::Value> {
        self.with_owned(|owned| {
            if owned.generation != generation {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Client,
                    "the connection the command was sent on is gone",
                )));
            }
            owned.conn.recv_response()?.extract_error()
        })
    }

    fn lock_conn(&self) -> MutexGuard<'_, Option<OwnedConnection>> {
        self.inner.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn connect(&self) -> Result<Connection> {
        let conn = self
            .inner
            .redis
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(|source| Error::Connect { address: self.inner.address.to_string(), source })?;
        conn.set_read_timeout(Some(IO_TIMEOUT)).map_err(|e| self.error(e))?;
        conn.set_write_timeout(Some(IO_TIMEOUT)).map_err(|e| self.error(e))?;
        Ok(conn)
    }

    pub(crate) fn error(&self, source: redis::RedisError) -> Error {
        Error::Redis { address: self.inner.address.to_string(), source }
    }

    /// Checks that Redis answers.
    pub fn ping(&self) -> Result<()> {
        self.with_conn(|c| redis::cmd("PING").query::<String>(c)).map(drop)
    }

    // ----- enqueue and dequeue -------------------------------------------

    /// Enqueues a typed job on its default queue.
    pub fn enqueue<J: Job>(&self, job: &J) -> Result<()> {
        self.enqueue_class(J::QUEUE, J::CLASS, job)
    }

    /// Enqueues a typed job on another queue (Ruby's `Resque.enqueue_to`).
    pub fn enqueue_to<J: Job>(&self, queue: &str, job: &J) -> Result<()> {
        self.enqueue_class(queue, J::CLASS, job)
    }

    /// Enqueues many jobs of one kind on its queue in a few round trips
    /// (one `RPUSH` of up to 10,000 payloads at a time, with the `SADD` and
    /// the wake-up `PUBLISH`); returns how many were pushed. Jobs with hooks,
    /// and inline mode, go one by one so that their hooks run for each.
    ///
    /// ```no_run
    /// #[resque::job(queue = "warm_cache")]
    /// fn warm(key: String) {}
    ///
    /// # fn main() -> resque::Result<()> {
    /// let client = resque::Client::from_env()?;
    /// let pushed = client.enqueue_many((0..1000).map(|i| warm::Args { key: format!("page:{i}") }))?;
    /// assert_eq!(pushed, 1000);
    /// # Ok(()) }
    /// ```
    pub fn enqueue_many<J: Job>(&self, jobs: impl IntoIterator<Item = J>) -> Result<usize> {
        if crate::inline::inline() || crate::registry::linked(J::CLASS).is_some_and(|e| e.hooks.any) {
            let mut pushed = 0;
            for job in jobs {
                pushed += usize::from(self.enqueue_one(J::QUEUE, J::CLASS, &job)?);
            }
            return Ok(pushed);
        }
        const BATCH: usize = 10_000;
        let keys = self.keys();
        let mut pushed = 0;
        let mut payloads = Vec::with_capacity(BATCH);
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            payloads.clear();
            for job in jobs.by_ref().take(BATCH) {
                payloads.push(
                    payload::encode_job(J::CLASS, &job)
                        .map_err(|e| Error::Encode { class: J::CLASS.to_string(), reason: e.to_string() })?,
                );
            }
            self.with_conn(|c| {
                redis::pipe()
                    .sadd(keys.queues(), J::QUEUE)
                    .ignore()
                    .rpush(keys.queue(J::QUEUE), &payloads)
                    .ignore()
                    .publish(keys.wake_channel(), J::QUEUE)
                    .ignore()
                    .query::<()>(c)
            })?;
            pushed += payloads.len();
        }
        Ok(pushed)
    }

    /// Enqueues a job by class name with any arguments that serialize to a
    /// JSON array, as a Ruby or node producer would. In [inline
    /// mode](mod@crate::inline) the job runs now, in this process, instead.
    ///
    /// When the class is a job linked into this program, its
    /// `before_enqueue` hooks run first (any returning `false` cancels the
    /// enqueue, which then returns `Ok(())` having pushed nothing) and its
    /// `after_enqueue` hooks after.
    pub fn enqueue_class<A: Serialize + ?Sized>(&self, queue: &str, class: &str, args: &A) -> Result<()> {
        self.enqueue_one(queue, class, args).map(drop)
    }

    /// [`Client::enqueue_class`]; `false` when a hook vetoed the enqueue.
    fn enqueue_one<A: Serialize + ?Sized>(&self, queue: &str, class: &str, args: &A) -> Result<bool> {
        let payload = payload::encode_job(class, args)
            .map_err(|e| Error::Encode { class: class.to_string(), reason: e.to_string() })?;
        let hooked = crate::registry::linked(class).filter(|e| e.hooks.any);
        let ctx_args = match hooked {
            Some(_) => hook_args(class, args)?,
            None => Vec::new(),
        };
        let ctx = JobContext { class, queue, args: &ctx_args };
        if let Some(entry) = hooked {
            if !(entry.hooks.before_enqueue)(&ctx) {
                tracing::debug!(class, queue, "a before_enqueue hook vetoed the enqueue");
                return Ok(false);
            }
        }
        if crate::inline::inline() {
            crate::inline::perform(queue, &payload)?;
        } else {
            self.push_raw(queue, &payload)?;
        }
        if let Some(entry) = hooked {
            (entry.hooks.after_enqueue)(&ctx);
        }
        Ok(true)
    }

    /// Pushes an already-encoded payload: `SADD queues` + `RPUSH queue:<q>`
    /// in one round trip, with a `PUBLISH` on the wake channel so that idle
    /// resque-rs workers take it at once.
    pub fn push_raw(&self, queue: &str, payload: &str) -> Result<()> {
        let keys = self.keys();
        self.with_conn(|c| {
            redis::pipe()
                .sadd(keys.queues(), queue)
                .ignore()
                .rpush(keys.queue(queue), payload)
                .ignore()
                .publish(keys.wake_channel(), queue)
                .ignore()
                .query::<()>(c)
        })
    }

    /// Removes every job of `J`'s class from its queue; returns how many.
    pub fn dequeue<J: Job>(&self) -> Result<usize> {
        self.dequeue_class(J::QUEUE, J::CLASS, None)
    }

    /// Removes the jobs of `J`'s class with exactly these args.
    pub fn dequeue_job<J: Job>(&self, job: &J) -> Result<usize> {
        let args = serde_json::to_value(job)
            .map_err(|e| Error::Encode { class: J::CLASS.to_string(), reason: e.to_string() })?;
        let args = match args {
            Value::Array(a) => a,
            _ => {
                return Err(Error::Encode {
                    class: J::CLASS.into(),
                    reason: "args must serialize to a JSON array".into(),
                })
            }
        };
        self.dequeue_class(J::QUEUE, J::CLASS, Some(&args))
    }

    /// Removes the jobs of `class` in `queue`, all of them or those whose
    /// args equal `args`. Each match is removed by its exact payload
    /// (`LREM queue:<q> 0 <payload>`).
    pub fn dequeue_class(&self, queue: &str, class: &str, args: Option<&[Value]>) -> Result<usize> {
        let hooked = crate::registry::linked(class).filter(|e| e.hooks.any);
        let ctx = JobContext { class, queue, args: args.unwrap_or(&[]) };
        if let Some(entry) = hooked {
            if !(entry.hooks.before_dequeue)(&ctx) {
                tracing::debug!(class, queue, "a before_dequeue hook vetoed the dequeue");
                return Ok(0);
            }
        }
        let removed = self.remove_matching(queue, class, args)?;
        if let Some(entry) = hooked {
            (entry.hooks.after_dequeue)(&ctx);
        }
        Ok(removed)
    }

    fn remove_matching(&self, queue: &str, class: &str, args: Option<&[Value]>) -> Result<usize> {
        let key = self.keys().queue(queue);
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.lrange(&key, 0, -1))?;
        let mut matching: Vec<&Vec<u8>> = raw
            .iter()
            .filter(|p| {
                std::str::from_utf8(p)
                    .ok()
                    .and_then(|p| payload::JobPayload::parse(p).ok())
                    .is_some_and(|job| job.class == class && args.is_none_or(|a| job.args == a))
            })
            .collect();
        matching.sort();
        matching.dedup();
        let mut removed = 0usize;
        for p in matching {
            let n: usize = self.with_conn(|c| c.lrem(&key, 0, p))?;
            removed += n;
        }
        Ok(removed)
    }

    // ----- queues ---------------------------------------------------------

    /// Every known queue, sorted. A name that is not UTF-8 is shown as
    /// [`payload::escape_bytes`] does (`bad\xff`); workers take such a
    /// queue's jobs by its exact name.
    pub fn queues(&self) -> Result<Vec<String>> {
        let mut queues = texts(self.workable_queues()?);
        queues.sort();
        Ok(queues)
    }

    /// The known queues a worker can take jobs from, sorted: every name in
    /// `queues`, as its exact bytes (another producer may name a queue with
    /// bytes that are not UTF-8; its jobs are worked like any other's).
    pub(crate) fn workable_queues(&self) -> Result<Vec<Vec<u8>>> {
        let mut queues: Vec<Vec<u8>> = self.with_conn(|c| c.smembers(self.keys().queues()))?;
        queues.sort();
        Ok(queues)
    }

    /// How many jobs wait in `queue`.
    pub fn size(&self, queue: &str) -> Result<u64> {
        self.with_conn(|c| c.llen(self.keys().queue(queue)))
    }

    /// Up to `count` payloads of `queue` from position `start`, without
    /// removing them. A payload that is not JSON comes back as a JSON string.
    pub fn peek(&self, queue: &str, start: usize, count: usize) -> Result<Vec<Value>> {
        let Some((start, stop)) = range_bounds(start, count) else { return Ok(Vec::new()) };
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.lrange(self.keys().queue(queue), start, stop))?;
        Ok(raw.into_iter().map(parse_or_text).collect())
    }

    /// Every known queue, sorted, with how many jobs wait in it: `SMEMBERS
    /// queues`, then every `LLEN` in one pipeline.
    pub fn queue_sizes(&self) -> Result<Vec<(String, u64)>> {
        let queues = self.queues()?;
        // An empty pipeline is an error to Redis: no queues, no sizes.
        if queues.is_empty() {
            return Ok(Vec::new());
        }
        let mut sizes = redis::pipe();
        for q in &queues {
            sizes.llen(self.keys().queue(q));
        }
        let sizes: Vec<u64> = self.with_conn(|c| sizes.query(c))?;
        Ok(queues.into_iter().zip(sizes).collect())
    }

    /// Deletes a queue and its jobs: `SREM queues` + `DEL queue:<q>`.
    pub fn remove_queue(&self, queue: &str) -> Result<()> {
        let keys = self.keys();
        self.with_conn(|c| {
            redis::pipe().srem(keys.queues(), queue).ignore().del(keys.queue(queue)).ignore().query::<()>(c)
        })
    }

    // ----- workers, stats, failures ----------------------------------------

    /// Registered worker ids, sorted; an id that is not UTF-8 as
    /// [`payload::escape_bytes`] shows it.
    pub fn workers(&self) -> Result<Vec<String>> {
        let raw: Vec<Vec<u8>> = self.with_conn(|c| c.smembers(self.keys().workers()))?;
        let mut ids = texts(raw);
        ids.sort();
        Ok(ids)
    }

    /// The workers processing a job now, with what they process; an id that
    /// is not UTF-8 as [`payload::escape_bytes`] shows it.
    pub fn working(&self) -> Result<Working> {
        self.workers_and_working().map(|(_, working)| working)
    }

    /// [`Client::workers`] and [`Client::working`] at once: one `SMEMBERS`
    /// and one `MGET`. Ids that are not UTF-8 are looked up as they are and
    /// shown escaped.
    pub fn workers_and_working(&self) -> Result<(Vec<String>, Working)> {
        let mut ids: Vec<Vec<u8>> = self.with_conn(|c| c.smembers(self.keys().workers()))?;
        ids.sort();
        let working = self.working_of_bytes(&ids)?;
        Ok((texts(ids), working))
    }

    /// Which of `ids` process a job now, with what they process, in the
    /// order given: one `MGET` of their `worker:<id>` keys. For callers that
    /// already read [`Client::workers`], or want a single worker.
    pub fn working_of<S: AsRef<[u8]>>(&self, ids: &[S]) -> Result<Vec<(String, WorkingOn)>> {
        self.working_of_bytes(ids)
    }

    fn working_of_bytes<S: AsRef<[u8]>>(&self, ids: &[S]) -> Result<Vec<(String, WorkingOn)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Vec<u8>> = ids.iter().map(|id| self.keys().worker_of_bytes(id.as_ref())).collect();
        let records: Vec<Option<Vec<u8>>> = self.with_conn(|c| redis::cmd("MGET").arg(&keys).query(c))?;
        Ok(ids
            .iter()
            .zip(records)
            .filter_map(|(id, record)| {
                let record = record?;
                // A record that is not JSON, or not UTF-8, is shown as its text.
                let working = payload::from_json_bytes::<WorkingOn>(&record).unwrap_or_else(|_| WorkingOn {
                    queue: String::new(),
                    run_at: String::new(),
                    payload: Value::String(payload::into_text(record)),
                });
                Some((payload::escape_bytes(id.as_ref()).into_owned(), working))
            })
            .collect())
    }

    /// Each of `ids`' start time and own counters, in the order given: one
    /// `MGET` of every `worker:<id>:started`, `stat:processed:<id>` and
    /// `stat:failed:<id>`. A counter that is missing (or not a number) is 0.
    pub fn worker_stats(&self, ids: &[String]) -> Result<Vec<WorkerStats>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys();
        let names: Vec<String> = ids
            .iter()
            .flat_map(|id| {
                [
                    keys.worker_started(id),
                    keys.worker_stat(stat::PROCESSED, id),
                    keys.worker_stat(stat::FAILED, id),
                ]
            })
            .collect();
        let values: Vec<Option<Vec<u8>>> = self.with_conn(|c| redis::cmd("MGET").arg(&names).query(c))?;
        let count = |v: &Option<Vec<u8>>| {
            v.as_deref()
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        Ok(values
            .chunks(3)
            .map(|v| WorkerStats {
                started: v.first().cloned().flatten().map(payload::into_text),
                processed: v.get(1).map_or(0, count),
                failed: v.get(2).map_or(0, count),
            })
            .collect())
    }

    /// A global counter (`processed`, `failed`).
    pub fn stat(&self, name: &str) -> Result<u64> {
        let v: Option<u64> = self.with_conn(|c| c.get(self.keys().stat(name)))?;
        Ok(v.unwrap_or(0))
    }

    /// A worker's own counter.
    pub fn worker_stat(&self, name: &str, worker_id: &str) -> Result<u64> {
        let v: Option<u64> = self.with_conn(|c| c.get(self.keys().worker_stat(name, worker_id)))?;
        Ok(v.unwrap_or(0))
    }

    /// How many entries the `failed` list holds.
    pub fn failed_count(&self) -> Result<u64> {
        self.with_conn(|c| c.llen(self.keys().failed()))
    }

    /// Up to `count` failure entries from position `start` (oldest first).
    /// An entry that does not parse comes back with its text as `payload`.
    /// Entries are read as bytes: one that is not UTF-8 is listed too.
    pub fn failures(&self, start: usize, count: usize) -> Result<Vec<Failure>> {
        crate::failure::FailureBackend::all(&crate::failure::RedisFailures::new(self.clone()), start, count)
    }

    /// Every key under the namespace, without the namespace, sorted.
    pub fn keys_in_namespace(&self) -> Result<Vec<String>> {
        let pattern = self.keys().pattern_all();
        let full: Vec<Vec<u8>> =
            self.with_conn(|c| c.scan_match::<_, Vec<u8>>(&pattern).and_then(|it| it.collect()))?;
        let full = texts(full);
        let mut names: Vec<String> =
            full.iter().filter_map(|k| self.keys().strip(k)).map(str::to_string).collect();
        names.sort();
        Ok(names)
    }

    /// An overview, as Ruby's `Resque.info`.
    pub fn info(&self) -> Result<Info> {
        let queues = self.queue_sizes()?;
        let (workers, working) = self.workers_and_working()?;
        self.info_from(&queues, workers.len(), working.len())
    }

    /// [`Info`] from parts the caller already read ([`Client::queue_sizes`],
    /// how many [`Client::workers`] and how many of them are
    /// [`Client::working`]), reading only the processed counter and the
    /// failed list's length, in one round trip.
    pub fn info_from(&self, queue_sizes: &[(String, u64)], workers: usize, working: usize) -> Result<Info> {
        let keys = self.keys();
        let (processed, failed): (Option<u64>, u64) =
            self.with_conn(|c| redis::pipe().get(keys.stat(stat::PROCESSED)).llen(keys.failed()).query(c))?;
        Ok(Info {
            pending: queue_sizes.iter().map(|(_, size)| size).sum(),
            processed: processed.unwrap_or(0),
            queues: queue_sizes.len(),
            workers,
            working,
            failed,
            servers: vec![self.address().to_string()],
            environment: crate::config::environment(),
        })
    }

    /// Pauses every worker, Ruby's included: `SET pause-all-workers true`.
    pub fn pause_all_workers(&self) -> Result<()> {
        self.with_conn(|c| c.set(self.keys().pause_all(), "true"))
    }

    /// Lets paused workers go on: `DEL pause-all-workers`.
    pub fn resume_all_workers(&self) -> Result<()> {
        self.with_conn(|c| c.del(self.keys().pause_all()))
    }

    /// Whether `pause-all-workers` pauses the workers, by Ruby's rule:
    /// its value, stripped, is `true` in any case (`' true'`, `"True\n"`).
    pub fn all_workers_paused(&self) -> Result<bool> {
        let v: Option<Vec<u8>> = self.with_conn(|c| c.get(self.keys().pause_all()))?;
        Ok(v.is_some_and(|v| pauses(&v)))
    }

    /// Unregisters a worker (dead, or one to forget) and puts the jobs it
    /// had in flight back at the head of their queues.
    pub fn remove_worker(&self, id: &str) -> Result<crate::worker::Recovered> {
        crate::worker::remove_worker(self, id)
    }

    /// Prunes dead workers now, by Ruby's rules (an expired heartbeat, or a
    /// worker of this host whose process is gone) and puts their in-flight
    /// jobs back. `Ok(None)` when a worker is pruning at this moment.
    pub fn prune_dead_workers(&self, heartbeat_interval: Duration) -> Result<Option<crate::worker::Pruned>> {
        crate::worker::prune_now(self, heartbeat_interval)
    }

    /// Prunes dead workers now, as [`Client::prune_dead_workers`] does, with
    /// the heartbeat expiry given directly: a worker whose heartbeat is older
    /// than `expire_after` (see [`crate::worker::heartbeat_expired`]) is
    /// dead. The pruning lock is held for `expire_after` divided by
    /// [`crate::worker::EXPIRY_INTERVALS`], the matching heartbeat interval.
    pub fn prune_workers_expired_after(
        &self,
        expire_after: Duration,
    ) -> Result<Option<crate::worker::Pruned>> {
        self.prune_dead_workers(expire_after / crate::worker::EXPIRY_INTERVALS)
    }

    /// Every worker's heartbeat, as written (ISO-8601): `HGETALL
    /// workers:heartbeat`.
    pub fn heartbeats(&self) -> Result<std::collections::HashMap<String, String>> {
        let raw: Vec<(Vec<u8>, Vec<u8>)> = self.with_conn(|c| c.hgetall(self.keys().heartbeat()))?;
        Ok(raw.into_iter().map(|(id, beat)| (payload::into_text(id), payload::into_text(beat))).collect())
    }

    /// A worker's heartbeat, as written (ISO-8601).
    pub fn heartbeat_of(&self, id: &str) -> Result<Option<String>> {
        let raw: Option<Vec<u8>> = self.with_conn(|c| c.hget(self.keys().heartbeat(), id))?;
        Ok(raw.map(payload::into_text))
    }

    /// When a worker started, as written (Ruby `Time#to_s`).
    pub fn worker_started(&self, id: &str) -> Result<Option<String>> {
        let raw: Option<Vec<u8>> = self.with_conn(|c| c.get(self.keys().worker_started(id)))?;
        Ok(raw.map(payload::into_text))
    }

    /// The server's clock, in unix seconds (Redis `TIME`).
    pub fn redis_time(&self) -> Result<i64> {
        let (secs, _micros): (i64, i64) = self.with_conn(|c| redis::cmd("TIME").query(c))?;
        Ok(secs)
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

/// A job's args as JSON values, for its hooks.
fn hook_args<A: Serialize + ?Sized>(class: &str, args: &A) -> Result<Vec<Value>> {
    match serde_json::to_value(args) {
        Ok(Value::Array(values)) => Ok(values),
        Ok(_) => Err(Error::Encode {
            class: class.to_string(),
            reason: "args must serialize to a JSON array".into(),
        }),
        Err(e) => Err(Error::Encode { class: class.to_string(), reason: e.to_string() }),
    }
}

/// Busy workers' ids with what each processes (see [`Client::working`]).
pub type Working = Vec<(String, WorkingOn)>;

/// A payload as JSON, or, when it is not JSON, as a JSON string of its text
/// (see [`payload::escape_bytes`]).
fn parse_or_text(raw: Vec<u8>) -> Value {
    serde_json::from_slice(&raw).unwrap_or_else(|_| Value::String(payload::into_text(raw)))
}

/// Values read from Redis as text (see [`payload::into_text`]).
fn texts(raw: Vec<Vec<u8>>) -> Vec<String> {
    raw.into_iter().map(payload::into_text).collect()
}

fn env_address() -> String {
    ["RESQUE_REDIS", "REDIS_URL"]
        .iter()
        .find_map(|var| env::var(var).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_URL.to_string())
}

/// The counts Ruby's `Resque.info` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Info {
    /// Jobs waiting in all queues.
    pub pending: u64,
    /// Jobs finished, failed ones included.
    pub processed: u64,
    /// Known queues.
    pub queues: usize,
    /// Registered workers.
    pub workers: usize,
    /// Workers processing a job now.
    pub working: usize,
    /// Entries in the failed list.
    pub failed: u64,
    /// The Redis server.
    pub servers: Vec<String>,
    /// `RESQUE_ENV`, else `RAILS_ENV`, else `RACK_ENV`, else `development`.
    pub environment: String,
}

/// A worker's start time and own counters, from [`Client::worker_stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// When it started, as written (Ruby `Time#to_s`).
    pub started: Option<String>,
    /// Jobs it finished, failed ones included.
    pub processed: u64,
    /// Jobs it failed.
    pub failed: u64,
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

/// Whether a `pause-all-workers` value pauses, as Ruby 3.0's
/// `Worker#paused?` reads it: `value.to_s.strip.downcase == 'true'`.
/// `String#strip` removes NUL and ASCII whitespace (tab, line feed, vertical
/// tab, form feed, carriage return, space) from both ends and nothing else;
/// of `downcase` only the ASCII letters matter, as no other letter lowers to
/// one of `true`. The worker's step script (`worker/store.rs`) spells the
/// same rule in Lua.
pub(crate) fn pauses(value: &[u8]) -> bool {
    let strippable = |b: &u8| matches!(b, b'\0' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let start = value.iter().position(|b| !strippable(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !strippable(b)).map_or(start, |i| i + 1);
    value[start..end].eq_ignore_ascii_case(b"true")
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

    fn addr(s: &str) -> Result<RedisAddress> {
        s.parse()
    }

    #[test]
    fn pause_values_as_ruby_reads_them() {
        // Ruby: redis.get('pause-all-workers').to_s.strip.downcase == 'true'
        for value in [
            "true",
            "TRUE",
            "True",
            " true",
            "true\n",
            "True\n",
            "\ttrue ",
            "\0true\0",
            "\r\n\x0b\x0ctrue \t",
        ] {
            assert!(pauses(value.as_bytes()), "{value:?} pauses");
        }
        for value in ["", "truex", "t rue", "yes", "1", "false", "\u{a0}true", "true\u{a0}", "tru"] {
            assert!(!pauses(value.as_bytes()), "{value:?} does not pause");
        }
        assert!(!pauses(b"\xfftrue"));
    }

    #[test]
    fn range_bounds_never_wrap_to_the_end_of_the_list() {
        assert_eq!(range_bounds(0, 0), None);
        assert_eq!(range_bounds(2, 3), Some((2, 4)));
        assert_eq!(range_bounds(0, usize::MAX), Some((0, isize::MAX)));
        assert_eq!(range_bounds(usize::MAX, 2), Some((isize::MAX, isize::MAX)));
    }

    #[test]
    fn ruby_address_strings() {
        assert_eq!(addr("localhost:6379").unwrap().url(), "redis://localhost:6379/0");
        assert_eq!(addr("localhost").unwrap().url(), "redis://localhost:6379/0");
        assert_eq!(addr("h:6380:3").unwrap().url(), "redis://h:6380/3");
        let a = addr("h:6380/ns").unwrap();
        assert_eq!((a.url(), a.namespace()), ("redis://h:6380/0", Some("ns")));
        let b = addr("h:6380:4/ns").unwrap();
        assert_eq!((b.url(), b.namespace()), ("redis://h:6380/4", Some("ns")));
    }

    #[test]
    fn urls_pass_through() {
        assert_eq!(addr("redis://h:1/2").unwrap().url(), "redis://h:1/2");
        assert_eq!(addr("rediss://u:pw@h:1").unwrap().to_string(), "rediss://h:1");
    }

    #[test]
    fn bad_addresses_say_why() {
        for (input, why) in [
            ("", "empty"),
            ("h:port", "port"),
            ("h:1:x", "database"),
            ("h:1:2:3", "host:port"),
            ("http://h", "scheme"),
            (":6379", "host"),
        ] {
            let err = addr(input).unwrap_err().to_string();
            assert!(err.contains(why), "{input:?}: {err}");
        }
    }
}
