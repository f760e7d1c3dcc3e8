//! What a Sentinel address and a Cluster address share: a list of nodes to
//! ask where the master is (a service's sentinels, a cluster's seed
//! nodes), asked in turn over one cached connection each process opens for
//! itself, with time limits; the credentials and TLS of the address; and
//! the connection to the master they name, checked with `ROLE`.

use std::sync::Mutex;
use std::time::Duration;

use redis::{
    Connection, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, RedisResult,
};

/// Time limit for reaching one node asked and for its answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// A node: host and port.
pub(crate) type Node = (String, u16);

/// How an address reaches its servers: credentials and TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    username: Option<String>,
    password: Option<String>,
    tls: bool,
}

impl Access {
    /// The access of an address's `user:password@` part (`%XX` escapes
    /// decoded; an empty one is none), over TLS or not.
    pub(crate) fn parse(userinfo: Option<&str>, tls: bool) -> Result<Self, String> {
        let Some(info) = userinfo else { return Ok(Access { username: None, password: None, tls }) };
        let (user, password) = info.split_once(':').unwrap_or((info, ""));
        Access::from_parts(Some(user), Some(password), tls)
    }

    /// The access of a user name and a password, each still `%XX`-escaped
    /// (an empty one is none), over TLS or not.
    pub(crate) fn from_parts(user: Option<&str>, password: Option<&str>, tls: bool) -> Result<Self, String> {
        let decode = |s: Option<&str>| -> Result<Option<String>, String> {
            match s {
                None | Some("") => Ok(None),
                Some(s) => percent_decode(s).map(Some),
            }
        };
        Ok(Access { username: decode(user)?, password: decode(password)?, tls })
    }

    /// How to connect to `host:port`, in database `db`, with these credentials.
    pub(crate) fn info(&self, (host, port): Node, db: i64) -> RedisResult<ConnectionInfo> {
        let addr = if self.tls {
            ConnectionAddr::TcpTls { host, port, insecure: false, tls_params: None }
        } else {
            ConnectionAddr::Tcp(host, port)
        };
        let mut redis = redis::RedisConnectionInfo::default().set_db(db);
        if let Some(user) = &self.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &self.password {
            redis = redis.set_password(password);
        }
        Ok(addr.into_connection_info()?.set_redis_settings(redis))
    }

    #[cfg(test)]
    pub(crate) fn credentials(&self) -> (Option<&str>, Option<&str>) {
        (self.username.as_deref(), self.password.as_deref())
    }

    #[cfg(test)]
    pub(crate) fn tls(&self) -> bool {
        self.tls
    }
}

/// `%XX` escapes in a URL's user or password.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a bad %-escape in the credentials")?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the credentials are not UTF-8".to_string())
}

/// `host:port,host:port` (`kind` names a node in messages); a node without a
/// port gets `default_port`, or is refused when there is none.
pub(crate) fn parse_nodes(hosts: &str, default_port: Option<u16>, kind: &str) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    for host in hosts.split(',') {
        let (name, port) = match (host.rsplit_once(':'), default_port) {
            (Some((name, port)), _) => (
                name,
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("the port in {host:?} is not a number from 1 to 65535"))?,
            ),
            (None, Some(port)) => (host, port),
            (None, None) => return Err(format!("the {kind} {host:?} has no port")),
        };
        if name.is_empty() {
            return Err(format!("a {kind} has no host ({hosts:?})"));
        }
        nodes.push((name.to_string(), port));
    }
    Ok(nodes)
}

/// Nodes to ask, with a connection to the one that answered last (in the
/// process that opened it).
pub(super) struct Asked {
    nodes: Vec<Node>,
    /// How the nodes are reached: a cluster's nodes are its servers, with
    /// the address's credentials; sentinels have their own.
    access: Access,
    last: Mutex<Option<Last>>,
}

struct Last {
    pid: u32,
    index: usize,
    conn: Connection,
}

impl Asked {
    pub(super) fn new(nodes: Vec<Node>, access: Access) -> Self {
        Asked { nodes, access, last: Mutex::new(None) }
    }

    /// `query` answered by the first node that answers it: the one that
    /// answered last first, then the others in the address's order. A node
    /// that fails is dropped, and the next tried; the last error is returned
    /// when none answers.
    pub(super) fn ask<T>(
        &self,
        mut query: impl FnMut(&mut Connection, &Node) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let pid = std::process::id();
        if last.as_ref().is_some_and(|l| l.pid != pid) {
            // Inherited across fork: the parent's, not to be read or closed here.
            if let Some(inherited) = last.take() {
                std::mem::forget(inherited);
            }
        }
        let count = self.nodes.len();
        let first = last.as_ref().map_or(0, |l| l.index);
        let mut last_error = None;
        for step in 0..count {
            let index = (first + step) % count;
            let node = &self.nodes[index];
            if last.as_ref().is_none_or(|l| l.index != index) {
                *last = None;
                match self.connect(node) {
                    Ok(conn) => *last = Some(Last { pid, index, conn }),
                    Err(e) => {
                        last_error = Some(e);
                        continue;
                    }
                }
            }
            let Some(current) = last.as_mut() else { continue };
            match query(&mut current.conn, node) {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    *last = None;
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| RedisError::from((ErrorKind::Io, "no node in the address"))))
    }

    fn connect(&self, node: &Node) -> RedisResult<Connection> {
        let info = self.access.info(node.clone(), 0)?;
        let conn = redis::Client::open(info)?.get_connection_with_timeout(ASK_TIMEOUT)?;
        conn.set_read_timeout(Some(ASK_TIMEOUT))?;
        conn.set_write_timeout(Some(ASK_TIMEOUT))?;
        Ok(conn)
    }
}

/// A connection to `master` (as `info` says to reach it), checked with
/// `ROLE` to be a master, and how many replicas that master has connected
/// now (its `ROLE` lists them); `named` says who named it, for the error
/// when it is not one.
pub(super) fn connect_master(
    master: Node,
    info: ConnectionInfo,
    timeout: Duration,
    named: impl FnOnce(&Node) -> String,
) -> RedisResult<(Node, Connection, usize)> {
    let mut conn = redis::Client::open(info)?.get_connection_with_timeout(timeout)?;
    // A master's ROLE: "master", its replication offset, its replicas.
    let reply: Vec<redis::Value> = redis::cmd("ROLE").query(&mut conn)?;
    match reply.first() {
        Some(redis::Value::BulkString(role)) if role == b"master" => {
            let replicas = match reply.get(2) {
                Some(redis::Value::Array(replicas)) => replicas.len(),
                _ => 0,
            };
            Ok((master, conn, replicas))
        }
        _ => Err(RedisError::from((
            ErrorKind::Server(redis::ServerErrorKind::MasterDown),
            "not a master",
            format!("{}, but it is not one (yet)", named(&master)),
        ))),
    }
}
