//! A private `redis-server` for the crate's unit tests: one per test, on a
//! free port of 127.0.0.1, keeping nothing on disk, killed on drop; with
//! readers that give a key's whole content for exact assertions.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::{Connection, FromRedisValue, ToRedisArgs, Value};

use crate::client::Client;

/// A running server and a connection to it.
pub(crate) struct TestRedis {
    server: Child,
    url: String,
    conn: Connection,
    _dir: tempfile::TempDir,
}

impl TestRedis {
    /// Starts a server and waits until it answers `PING`. Panics when
    /// `redis-server` is not installed.
    pub(crate) fn start() -> Self {
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start() {
                Ok(redis) => return redis,
                Err(e) => last = e,
            }
        }
        panic!("these tests need a redis-server binary on PATH (`apt-get install redis-server`): {last}");
    }

    /// [`TestRedis::start`], and a client of it.
    pub(crate) fn start_with_client() -> (Self, Client) {
        let redis = Self::start();
        let client = redis.client();
        (redis, client)
    }

    fn try_start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        // A port nobody listens on now; another process may take it before
        // the server binds it, and then this attempt is retried.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut server = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        let url = format!("redis://127.0.0.1:{port}/0");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = server.try_wait() {
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if let Some(conn) = answering(&url) {
                return Ok(TestRedis { server, url, conn, _dir: dir });
            }
            if Instant::now() > deadline {
                let _ = server.kill();
                let _ = server.wait();
                return Err(format!("redis-server on port {port} did not answer PING"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A client of this server in the namespace `resque`.
    pub(crate) fn client(&self) -> Client {
        client_at(&self.url)
    }

    /// [`TestRedis::client`], logged in as the ACL user `user` (made with
    /// `nopass`, so any password is taken).
    pub(crate) fn client_as(&self, user: &str) -> Client {
        client_at(&self.url.replacen("redis://", &format!("redis://{user}:any@"), 1))
    }

    /// The test's own connection.
    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// A new connection subscribed to `channel`.
    pub(crate) fn subscribe(&self, channel: &str) -> Subscriber {
        let mut conn = answering(&self.url).expect("a connection to the test server");
        conn.set_read_timeout(Some(Duration::from_secs(5))).expect("a read timeout");
        conn.send_packed_command(&redis::cmd("SUBSCRIBE").arg(channel).get_packed_command())
            .and_then(|()| conn.recv_response())
            .expect("SUBSCRIBE");
        Subscriber(conn)
    }

    /// Runs one command on the test's connection.
    pub(crate) fn query<T: FromRedisValue>(&mut self, cmd: &redis::Cmd) -> T {
        cmd.query(&mut self.conn)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&cmd.get_packed_command())))
    }

    /// Runs one command of text words, its reply ignored: to set a test up.
    pub(crate) fn exec(&mut self, words: &[&str]) {
        let mut cmd = redis::Cmd::new();
        for word in words {
            cmd.arg(*word);
        }
        self.query::<Value>(&cmd);
    }

    /// Every key, as text.
    pub(crate) fn keys(&mut self) -> BTreeSet<String> {
        self.query(redis::cmd("KEYS").arg("*"))
    }

    /// The list at `key`, each entry as bytes.
    pub(crate) fn list(&mut self, key: impl ToRedisArgs) -> Vec<Vec<u8>> {
        self.query(redis::cmd("LRANGE").arg(key).arg(0).arg(-1))
    }

    /// The list at `key`, each entry as text.
    pub(crate) fn texts(&mut self, key: impl ToRedisArgs) -> Vec<String> {
        self.query(redis::cmd("LRANGE").arg(key).arg(0).arg(-1))
    }

    /// The string at `key`.
    pub(crate) fn get(&mut self, key: impl ToRedisArgs) -> Option<Vec<u8>> {
        self.query(redis::cmd("GET").arg(key))
    }

    /// The string at `key`, as text (a counter).
    pub(crate) fn text(&mut self, key: impl ToRedisArgs) -> Option<String> {
        self.query(redis::cmd("GET").arg(key))
    }

    /// The members of the set at `key`.
    pub(crate) fn members(&mut self, key: impl ToRedisArgs) -> BTreeSet<Vec<u8>> {
        self.query(redis::cmd("SMEMBERS").arg(key))
    }

    /// The hash at `key`.
    pub(crate) fn hash(&mut self, key: impl ToRedisArgs) -> BTreeMap<String, String> {
        self.query(redis::cmd("HGETALL").arg(key))
    }
}

fn client_at(url: &str) -> Client {
    let address = url.parse().expect("the test server's URL");
    Client::with_namespace(address, "resque").expect("a client of the test server")
}

fn answering(url: &str) -> Option<Connection> {
    let mut conn = redis::Client::open(url).ok()?.get_connection_with_timeout(Duration::from_secs(1)).ok()?;
    redis::cmd("PING").query::<String>(&mut conn).ok()?;
    Some(conn)
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A connection subscribed to a channel (see [`TestRedis::subscribe`]).
pub(crate) struct Subscriber(Connection);

impl Subscriber {
    /// The messages published since the last call, in order.
    pub(crate) fn messages(&mut self) -> Vec<String> {
        // Redis answers a subscriber's PING after every message published
        // before it.
        self.0.send_packed_command(&redis::cmd("PING").get_packed_command()).expect("PING");
        let mut messages = Vec::new();
        loop {
            let reply = self.0.recv_response().expect("a message");
            let reply: Vec<String> = redis::from_redis_value(reply).expect("a message of strings");
            match reply.first().map(String::as_str) {
                Some("message") => messages.extend(reply.get(2).cloned()),
                Some("pong") => return messages,
                _ => panic!("not a message: {reply:?}"),
            }
        }
    }
}

/// The worker the script tests run as.
pub(crate) const ID: &str = "host:1:q";

/// Key names, to compare with [`TestRedis::keys`].
pub(crate) fn keys(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The keys of worker `ID`.
pub(crate) const INFLIGHT: &str = "resque:inflight:host:1:q";
pub(crate) const WORKER: &str = "resque:worker:host:1:q";
pub(crate) const STARTED: &str = "resque:worker:host:1:q:started";
pub(crate) const WORKER_PROCESSED: &str = "resque:stat:processed:host:1:q";
pub(crate) const WORKER_FAILED: &str = "resque:stat:failed:host:1:q";

/// An `inflight:<id>` entry of `payload` from `queue`.
pub(crate) fn inflight_entry(queue: &str, payload: &str) -> String {
    serde_json::json!({ "queue": queue, "payload": payload }).to_string()
}

/// The roster's keys.
pub(crate) const WORKERS: &str = "resque:workers";
pub(crate) const HEARTBEATS: &str = "resque:workers:heartbeat";

/// A hash's fields, to compare with [`TestRedis::hash`].
pub(crate) fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Payloads the script tests take, requeue and fail.
pub(crate) const P1: &str = r#"{"class":"A","args":[1]}"#;
pub(crate) const P2: &str = r#"{"class":"B","args":[2]}"#;
pub(crate) const P3: &str = r#"{"class":"C","args":[3]}"#;

/// The SHA-1 (hex) of `bytes`: a payload's `recoveries` field.
pub(crate) fn sha1_hex(bytes: impl AsRef<[u8]>) -> String {
    sha1_smol::Sha1::from(bytes.as_ref()).digest().to_string()
}

/// The keys of the jobs' queues, counts and failures.
pub(crate) const QUEUES: &str = "resque:queues";
pub(crate) const RECOVERIES: &str = "resque:recoveries";
pub(crate) const PROCESSED: &str = "resque:stat:processed";
pub(crate) const FAILED: &str = "resque:stat:failed";
pub(crate) const FAILED_LIST: &str = "resque:failed";

/// An integer in a script's reply.
pub(crate) fn int(n: i64) -> Value {
    Value::Int(n)
}

/// A string in a script's reply.
pub(crate) fn bulk(bytes: impl AsRef<[u8]>) -> Value {
    Value::BulkString(bytes.as_ref().to_vec())
}
