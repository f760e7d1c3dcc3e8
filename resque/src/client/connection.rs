//! The client's connection: opened on first use, reopened after a
//! connection-level error, never shared across `fork`, and used with
//! signals deferred (see `signal_mask`). Behind a Sentinel address it goes
//! to the master the sentinels name, and follows a failover: once a second
//! while in use it asks them again, and moves when they name another; a
//! worker's steps there wait for a replica's copy (`WAIT`), so that none
//! is lost with a master that is failed over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use redis::{Connection, ConnectionInfo, RedisResult};

use super::cluster::ClusterSlot;
use super::sentinel::Sentinels;
use super::Client;
use crate::error::{Error, Result};

/// How long a connection may take to open and answer its first commands.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a command may wait for its reply.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the look at a server that is not Redis may take (see [`first_line`]).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a connection behind Sentinel checks that its server is still
/// the master the sentinels name (only while it is used).
const SWITCH_CHECK: Duration = Duration::from_secs(1);
/// How long a worker's step behind Sentinel waits for a replica to confirm
/// it has a copy (`WAIT 1 <ms>`).
const REPLICA_WAIT_MS: u64 = 1000;

/// Where the client's connections go.
pub(super) enum Target {
    /// One server.
    Direct(redis::Client),
    /// The master of a Sentinel service.
    Sentinel(Sentinels),
    /// The Redis Cluster master serving the namespace's slot.
    Cluster(ClusterSlot),
}

/// How long a client waits to connect, and for a reply.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    connect: Duration,
    io: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: CONNECT_TIMEOUT, io: IO_TIMEOUT }
    }
}

pub(super) struct OwnedConnection {
    pid: u32,
    /// Which connection this is (see [`Client::send_packed`]).
    generation: u64,
    conn: Connection,
    /// Replies to commands sent with [`Client::send_packed`] not yet read.
    unread: usize,
    /// Behind Sentinel: the master this connection went to, and when the
    /// sentinels last named it.
    master: Option<((String, u16), Instant)>,
    /// Behind Sentinel, with replicas: a worker's steps wait for a replica
    /// to copy them (see [`Client::with_conn_copied`]).
    copied: bool,
}

/// A connection just opened: behind Sentinel or on a cluster, the master
/// it went to; behind Sentinel, whether a worker's steps there wait for a
/// replica's copy.
struct Opened {
    conn: Connection,
    master: Option<(String, u16)>,
    copied: bool,
}

/// Counts the masters a Sentinel client moved to, so that connections the
/// client does not manage (the worker's wake-up sockets) move too.
static SWITCHES: AtomicU64 = AtomicU64::new(0);

/// Numbers every connection opened in this process, so a reply awaited on
/// one is never read from the next.
static GENERATION: AtomicU64 = AtomicU64::new(0);

impl Client {
    /// How to reach the server (host, port, credentials), for connections
    /// the client does not manage itself: behind Sentinel, the master the
    /// sentinels name now.
    pub(crate) fn connection_info(&self) -> Result<ConnectionInfo> {
        match &*self.inner.target {
            Target::Direct(redis) => return Ok(redis.get_connection_info().clone()),
            Target::Sentinel(sentinels) => sentinels.master_addr().and_then(|addr| sentinels.info_for(&addr)),
            Target::Cluster(slot) => slot.master_addr().and_then(|addr| slot.info_for(&addr)),
        }
        .map_err(|source| Error::Connect { address: self.inner.address.to_string(), source })
    }

    /// How many times a Sentinel client of this process moved to another
    /// master: connections opened from [`Client::connection_info`] before
    /// it changed go to a server that may no longer be the master.
    pub(crate) fn master_switches() -> u64 {
        SWITCHES.load(Ordering::Relaxed)
    }

    /// A client for the same server and namespace, with a connection of its
    /// own, that gives up connecting after `connect` (5 s unless set) and
    /// waiting for a reply, or to send, after `io` (30 s unless set): for a
    /// program that must answer quickly when Redis does not (a web page).
    /// A zero duration counts as a millisecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = resque::Client::new("127.0.0.1:1").unwrap();
    /// let quick = client.with_timeouts(Duration::from_millis(500), Duration::from_secs(2));
    /// assert!(quick.ping().unwrap_err().is_unavailable());
    /// ```
    pub fn with_timeouts(&self, connect: Duration, io: Duration) -> Client {
        let least = Duration::from_millis(1);
        Client {
            inner: std::sync::Arc::new(super::Inner {
                address: self.inner.address.clone(),
                target: self.inner.target.clone(),
                keys: self.inner.keys.clone(),
                conn: std::sync::Mutex::new(None),
                timeouts: Timeouts { connect: connect.max(least), io: io.max(least) },
            }),
        }
    }

    /// Runs `f` on this process's connection, opening it if needed and
    /// dropping it after a connection-level error so the next call reconnects.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T> {
        self.with_owned(|owned| f(&mut owned.conn))
    }

    /// [`Client::with_conn`] with the connection's generation.
    fn with_owned<T>(&self, f: impl FnOnce(&mut OwnedConnection) -> RedisResult<T>) -> Result<T> {
        let _signals_wait = crate::signal_mask::deferred();
        let mut guard = self.lock_conn();
        let pid = std::process::id();
        if guard.as_ref().is_some_and(|c| c.pid != pid) {
            // A connection inherited across fork belongs to the parent: forget
            // it without closing anything the parent still uses.
            if let Some(inherited) = guard.take() {
                std::mem::forget(inherited);
            }
        }
        if let Some(owned) = guard.as_mut() {
            if !self.still_master(owned) {
                *guard = None;
            }
        }
        if guard.is_none() {
            let Opened { conn, master, copied } = self.connect()?;
            let generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
            let master = master.map(|addr| (addr, Instant::now()));
            *guard = Some(OwnedConnection { pid, generation, conn, unread: 0, master, copied });
        }
        let Some(owned) = guard.as_mut() else {
            return Err(self.error(redis::RedisError::from((redis::ErrorKind::Io, "no connection"))));
        };
        match f(owned) {
            Ok(v) => Ok(v),
            Err(e) => {
                if crate::error::connection_broken(&e) {
                    *guard = None;
                }
                Err(self.error(e))
            }
        }
    }

    /// Runs `f` as [`Client::with_conn`] does; behind Sentinel, when the
    /// master has replicas, `f`'s writes must then be copied to one
    /// (`WAIT`), else the call fails as if the server had gone. For a
    /// worker's steps: a write the master takes but no replica copies is
    /// lost when a replica is promoted, and a job taken there would run
    /// twice; a step that fails is recorded again (see the worker's step),
    /// and the jobs it took are not run.
    pub(crate) fn with_conn_copied<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T> {
        self.with_owned(|owned| {
            let value = f(&mut owned.conn)?;
            if owned.copied {
                let acked = wait_for_replica().query::<redis::Value>(&mut owned.conn);
                self.check_copied(owned, acked)?;
            }
            Ok(value)
        })
    }

    /// Sends a command without reading its reply; returns the connection's
    /// generation, for [`Client::recv_reply`]. Nothing else may use the
    /// connection until the reply is read. Its writes are to be copied to
    /// a replica as with [`Client::with_conn_copied`].
    pub(crate) fn send_packed(&self, packed: &[u8]) -> Result<u64> {
        self.with_owned(|owned| {
            owned.conn.send_packed_command(packed)?;
            owned.unread += 1;
            if owned.copied {
                owned.conn.send_packed_command(&wait_for_replica().get_packed_command())?;
                owned.unread += 1;
            }
            Ok(owned.generation)
        })
    }

    /// Whether the reply to a `WAIT` says a replica has the writes before
    /// it; if not, notes that the master may be failing over and fails.
    fn check_copied(&self, owned: &OwnedConnection, acked: RedisResult<redis::Value>) -> RedisResult<()> {
        let copies = acked.and_then(|v| redis::from_redis_value::<i64>(v).map_err(Into::into))?;
        if copies > 0 {
            return Ok(());
        }
        let (Target::Sentinel(sentinels), Some((master, _))) = (&*self.inner.target, owned.master.as_ref())
        else {
            return Ok(());
        };
        sentinels.replicas_lost(master);
        Err(redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::MasterDown),
            "not copied",
            format!(
                "no replica of {}:{} confirmed the write within {REPLICA_WAIT_MS} ms (is one being promoted?)",
                master.0, master.1
            ),
        )))
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
            owned.unread = owned.unread.saturating_sub(1);
            let reply = owned.conn.recv_response()?;
            if owned.copied {
                // Read whatever the command's reply was: the stream stays in step.
                owned.unread = owned.unread.saturating_sub(1);
                let acked = owned.conn.recv_response();
                let reply = reply.extract_error()?;
                self.check_copied(owned, acked)?;
                return Ok(reply);
            }
            reply.extract_error()
        })
    }

    /// Closes this process's connection when no reply is awaited on it, so
    /// that the next command opens a new one: the reply parser keeps a
    /// buffer as large as the largest reply it read, and after a reply of
    /// megabytes (a large job taken) that buffer would stay with the worker,
    /// and with every child it forks. Keeps it while replies are due.
    pub(crate) fn release_read_buffer(&self) {
        let mut guard = self.lock_conn();
        if guard.as_ref().is_some_and(|c| c.pid == std::process::id() && c.unread == 0) {
            *guard = None;
        }
    }

    fn lock_conn(&self) -> MutexGuard<'_, Option<OwnedConnection>> {
        self.inner.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new connection.
    fn connect(&self) -> Result<Opened> {
        let connect_error = |source| self.connect_error(source);
        let Timeouts { connect, io } = self.inner.timeouts;
        let (conn, master, copied) = match &*self.inner.target {
            Target::Direct(redis) => {
                (redis.get_connection_with_timeout(connect).map_err(connect_error)?, None, false)
            }
            Target::Sentinel(sentinels) => {
                let (addr, conn, copied) = sentinels.connect_master(connect).map_err(connect_error)?;
                (conn, Some(addr), copied)
            }
            Target::Cluster(slot) => {
                let (addr, conn) = slot.connect_master(connect).map_err(connect_error)?;
                (conn, Some(addr), false)
            }
        };
        conn.set_read_timeout(Some(io)).map_err(|e| self.error(e))?;
        conn.set_write_timeout(Some(io)).map_err(|e| self.error(e))?;
        Ok(Opened { conn, master, copied })
    }

    /// Behind Sentinel, once a [`SWITCH_CHECK`] while the connection is in
    /// use and no reply is due on it: whether the sentinels still name its
    /// server as the master. A server that was the master before a failover
    /// takes writes until the sentinels demote it, and those writes are lost
    /// with it; moving as soon as the sentinels name another keeps that
    /// window short. When no sentinel answers, the connection stays.
    fn still_master(&self, owned: &mut OwnedConnection) -> bool {
        let (Target::Sentinel(sentinels), Some((addr, checked))) =
            (&*self.inner.target, owned.master.as_mut())
        else {
            return true;
        };
        if owned.unread > 0 || checked.elapsed() < SWITCH_CHECK {
            return true;
        }
        match sentinels.master_addr() {
            Ok(named) if named != *addr => {
                tracing::info!(
                    service = %sentinels.spec().service,
                    from = %format!("{}:{}", addr.0, addr.1),
                    to = %format!("{}:{}", named.0, named.1),
                    "the sentinels name a new master; moving to it"
                );
                SWITCHES.fetch_add(1, Ordering::Relaxed);
                false
            }
            Ok(_) => {
                *checked = Instant::now();
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "no sentinel answered; keeping the connection");
                *checked = Instant::now();
                true
            }
        }
    }

    /// Why the connection did not open: a reply the client cannot parse
    /// means something other than Redis answered, and says so.
    fn connect_error(&self, source: redis::RedisError) -> Error {
        let address = self.inner.address.to_string();
        if source.kind() != redis::ErrorKind::Parse {
            return Error::Connect { address, source };
        }
        let Ok(info) = self.connection_info() else { return Error::Connect { address, source } };
        match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => {
                Error::NotRedis { address, server: format!("{host}:{port}"), reply: first_line(host, *port) }
            }
            redis::ConnectionAddr::TcpTls { host, port, .. } => {
                Error::NotRedis { address, server: format!("{host}:{port}"), reply: None }
            }
            _ => Error::Connect { address, source },
        }
    }

    pub(crate) fn error(&self, source: redis::RedisError) -> Error {
        Error::Redis { address: self.inner.address.to_string(), source }
    }

    /// Checks that Redis answers.
    pub fn ping(&self) -> Result<()> {
        self.with_conn(|c| redis::cmd("PING").query::<String>(c)).map(drop)
    }

    /// The server's clock, in unix seconds (Redis `TIME`).
    pub fn redis_time(&self) -> Result<i64> {
        let (secs, _micros): (i64, i64) = self.with_conn(|c| redis::cmd("TIME").query(c))?;
        Ok(secs)
    }
}

/// The first line a server that is not Redis sends when sent a plain-text
/// `PING` (an HTTP server answers `HTTP/1.1 400 Bad Request`), for the
/// error that says what is there instead; control characters replaced,
/// at most 80 characters. `None` when it sends nothing within a second.
fn first_line(host: &str, port: u16) -> Option<String> {
    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    let addr = (host, port).to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(PROBE_TIMEOUT)).ok()?;
    stream.write_all(b"PING\r\n").ok()?;
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(buf.get(..n)?);
    let line: String =
        text.lines().next()?.trim().chars().map(|c| if c.is_control() { '?' } else { c }).take(80).collect();
    (!line.is_empty()).then_some(line)
}

/// `WAIT 1 <ms>`: how many replicas have every write before it.
fn wait_for_replica() -> redis::Cmd {
    let mut cmd = redis::cmd("WAIT");
    cmd.arg(1).arg(REPLICA_WAIT_MS);
    cmd
}
