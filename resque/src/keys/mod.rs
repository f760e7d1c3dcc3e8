//! Every Redis key name resque-rs reads or writes, in one place.
//!
//! All keys live under a namespace (`resque` by default) joined with `:`, as
//! Ruby Resque writes them. See `docs/PROTOCOL.md` for the type and value of
//! each key.

mod retry;
mod scheduler;

/// The namespace used when none is configured.
pub const DEFAULT_NAMESPACE: &str = "resque";

/// Builds namespaced key names.
///
/// ```
/// let keys = resque::keys::Keys::new("resque");
/// assert_eq!(keys.queue("file_serve"), "resque:queue:file_serve");
/// assert_eq!(keys.queues(), "resque:queues");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    namespace: String,
    prefix: String,
}

impl Keys {
    /// Keys under `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        let prefix = format!("{namespace}:");
        Keys { namespace, prefix }
    }

    /// The namespace, without the trailing `:`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `<ns>:<name>` for any name.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// `<ns>:<name>` for a name of any bytes (one read from Redis).
    pub fn key_of_bytes(&self, name: &[u8]) -> Vec<u8> {
        self.join(&[name])
    }

    /// The namespace prefix, then `parts`: every key whose name holds
    /// bytes read from Redis.
    fn join(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>());
        key.extend_from_slice(self.prefix.as_bytes());
        for part in parts {
            key.extend_from_slice(part);
        }
        key
    }

    /// Strips the namespace from a full key name, if it carries it.
    pub fn strip<'a>(&self, full: &'a str) -> Option<&'a str> {
        full.strip_prefix(self.prefix.as_str())
    }

    /// A `SCAN MATCH` pattern for every key under the namespace.
    pub fn pattern_all(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 1);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }

    /// `queues`: set of every queue name.
    pub fn queues(&self) -> String {
        self.key("queues")
    }

    /// `queue:<name>`: list of job payloads.
    pub fn queue(&self, name: &str) -> String {
        format!("{}queue:{name}", self.prefix)
    }

    /// `queue:<name>` for a name read from Redis, which may be any bytes
    /// (another producer may name a queue with bytes that are not UTF-8).
    ///
    /// ```
    /// let keys = resque::keys::Keys::new("resque");
    /// assert_eq!(keys.queue_of_bytes(b"bad\xff"), b"resque:queue:bad\xff");
    /// ```
    pub fn queue_of_bytes(&self, name: &[u8]) -> Vec<u8> {
        self.join(&[b"queue:", name])
    }

    /// `workers`: set of registered worker ids.
    pub fn workers(&self) -> String {
        self.key("workers")
    }

    /// `worker:<id>`: the job a worker is processing.
    pub fn worker(&self, id: &str) -> String {
        format!("{}worker:{id}", self.prefix)
    }

    /// `worker:<id>` for an id read from Redis, which may be any bytes.
    pub fn worker_of_bytes(&self, id: &[u8]) -> Vec<u8> {
        self.join(&[b"worker:", id])
    }

    /// `worker:<id>:started`: when a worker started.
    pub fn worker_started(&self, id: &str) -> String {
        format!("{}worker:{id}:started", self.prefix)
    }

    /// `workers:heartbeat`: hash of worker id to last heartbeat.
    pub fn heartbeat(&self) -> String {
        self.key("workers:heartbeat")
    }

    /// `stat:<name>`: a global counter (`processed`, `failed`).
    pub fn stat(&self, name: &str) -> String {
        format!("{}stat:{name}", self.prefix)
    }

    /// `stat:<name>:<id>`: a per-worker counter.
    pub fn worker_stat(&self, name: &str, id: &str) -> String {
        format!("{}stat:{name}:{id}", self.prefix)
    }

    /// `failed`: list of failure entries.
    pub fn failed(&self) -> String {
        self.key("failed")
    }

    /// `<queue>_failed`: the failed list of one queue, written by Ruby's
    /// `Resque::Failure::RedisMultiQueue` backend instead of `failed`.
    ///
    /// ```
    /// let keys = resque::keys::Keys::new("resque");
    /// assert_eq!(keys.failed_queue("file_serve"), "resque:file_serve_failed");
    /// ```
    pub fn failed_queue(&self, queue: &str) -> String {
        self.key(&Self::failed_queue_name(queue))
    }

    /// `<queue>_failed` without the namespace: the name Ruby's
    /// `Resque::Failure.failure_queue_name` gives, as stored in
    /// [`failed_queues`](Self::failed_queues).
    pub fn failed_queue_name(queue: &str) -> String {
        format!("{queue}_failed")
    }

    /// [`failed_queue`](Self::failed_queue) for a queue name of any bytes.
    ///
    /// ```
    /// let keys = resque::keys::Keys::new("resque");
    /// assert_eq!(keys.failed_queue_of_bytes(b"bad\xff"), b"resque:bad\xff_failed");
    /// ```
    pub fn failed_queue_of_bytes(&self, queue: &[u8]) -> Vec<u8> {
        self.join(&[queue, b"_failed"])
    }

    /// [`failed_queue_name`](Self::failed_queue_name) for a queue name of
    /// any bytes.
    pub fn failed_queue_name_of_bytes(queue: &[u8]) -> Vec<u8> {
        [queue, b"_failed"].concat()
    }

    /// `failed_queues`: set of the names (`<queue>_failed`, without the
    /// namespace) of every failed list Ruby's `RedisMultiQueue` backend wrote.
    ///
    /// ```
    /// use resque::keys::Keys;
    /// assert_eq!(Keys::new("resque").failed_queues(), "resque:failed_queues");
    /// assert_eq!(Keys::failed_queue_name("file_serve"), "file_serve_failed");
    /// ```
    pub fn failed_queues(&self) -> String {
        self.key("failed_queues")
    }

    /// `pause-all-workers`: `true` pauses every worker.
    pub fn pause_all(&self) -> String {
        self.key("pause-all-workers")
    }

    /// `pruning_dead_workers_in_progress`: the pruning lock.
    pub fn prune_lock(&self) -> String {
        self.key("pruning_dead_workers_in_progress")
    }
    /// `inflight:<id>`: jobs a resque-rs worker has taken and not finished
    /// (added by resque-rs; see docs/PROTOCOL.md).
    pub fn inflight(&self, id: &str) -> String {
        format!("{}inflight:{id}", self.prefix)
    }

    /// A `SCAN MATCH` pattern for every `inflight:<id>` key.
    pub fn inflight_pattern(&self) -> String {
        let all = self.pattern_all();
        format!("{}inflight:*", &all[..all.len() - 1])
    }

    /// The worker id in an `inflight:<id>` key name.
    pub fn inflight_owner<'a>(&self, full: &'a str) -> Option<&'a str> {
        self.strip(full)?.strip_prefix("inflight:")
    }

    /// The keys of one worker, for an id as stored in `workers`: any
    /// bytes, since a peer may write an id that is not UTF-8.
    ///
    /// ```
    /// let keys = resque::keys::Keys::new("resque");
    /// let w = keys.worker_keys(b"web1:4211:caf\xe9");
    /// assert_eq!(w.record, b"resque:worker:web1:4211:caf\xe9");
    /// assert_eq!(w.started, b"resque:worker:web1:4211:caf\xe9:started");
    /// assert_eq!(w.inflight, b"resque:inflight:web1:4211:caf\xe9");
    /// ```
    pub fn worker_keys(&self, id: &[u8]) -> WorkerKeys {
        WorkerKeys {
            record: self.join(&[b"worker:", id]),
            started: self.join(&[b"worker:", id, b":started"]),
            inflight: self.join(&[b"inflight:", id]),
            processed: self.join(&[b"stat:", stat::PROCESSED.as_bytes(), b":", id]),
            failed: self.join(&[b"stat:", stat::FAILED.as_bytes(), b":", id]),
        }
    }

    /// The worker id in an `inflight:<id>` key name, as bytes.
    pub fn inflight_owner_bytes<'a>(&self, full: &'a [u8]) -> Option<&'a [u8]> {
        full.strip_prefix(self.prefix.as_bytes())?.strip_prefix(b"inflight:".as_slice())
    }

    /// `wake`: the Pub/Sub channel resque-rs publishes a queue's name on
    /// when it pushes a job, so idle workers take it at once (added by
    /// resque-rs; a channel, not a key).
    pub fn wake_channel(&self) -> String {
        self.key("wake")
    }

    /// `recoveries`: how often each job was put back from a dead worker
    /// (added by resque-rs; see docs/PROTOCOL.md).
    pub fn recoveries(&self) -> String {
        self.key("recoveries")
    }

    /// A job's field in [`Keys::recoveries`]: the SHA-1 of its payload's
    /// exact bytes, in lowercase hex (what `redis.sha1hex` gives in a script).
    ///
    /// ```
    /// assert_eq!(
    ///     resque::keys::Keys::recovery_field(b"abc"),
    ///     "a9993e364706816aba3e25717850c26c9cd0d89d"
    /// );
    /// ```
    pub fn recovery_field(payload: &[u8]) -> String {
        sha1_smol::Sha1::from(payload).digest().to_string()
    }
}

/// The keys of one worker (see [`Keys::worker_keys`]), each as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerKeys {
    /// `worker:<id>`: the job it is processing.
    pub record: Vec<u8>,
    /// `worker:<id>:started`.
    pub started: Vec<u8>,
    /// `inflight:<id>`: the jobs it has taken and not finished.
    pub inflight: Vec<u8>,
    /// `stat:processed:<id>`.
    pub processed: Vec<u8>,
    /// `stat:failed:<id>`.
    pub failed: Vec<u8>,
}

/// The parts of a worker id `<host>:<pid>:<queues>` as bytes, by
/// [`WorkerId`](crate::WorkerId)'s rule (see
/// [`WorkerId::split_bytes`](crate::WorkerId::split_bytes)): an id a peer
/// wrote need not be UTF-8. A part that is missing is empty.
///
/// ```
/// use resque::keys::split_worker_id;
/// assert_eq!(split_worker_id(b"web1:4211:critical,*"), (&b"web1"[..], &b"4211"[..], &b"critical,*"[..]));
/// assert_eq!(split_worker_id(b"web1:4211"), (&b"web1"[..], &b"4211"[..], &b""[..]));
/// ```
pub fn split_worker_id(id: &[u8]) -> (&[u8], &[u8], &[u8]) {
    crate::worker_id::WorkerId::split_bytes(id)
}

/// Counter names under `stat:`.
pub mod stat {
    /// Jobs finished, failed ones included.
    pub const PROCESSED: &str = "processed";
    /// Jobs failed.
    pub const FAILED: &str = "failed";
    /// Failed runs that were retried rather than recorded as failed (added
    /// by resque-rs).
    pub const RETRIED: &str = "retried";
}

#[cfg(test)]
mod tests;
