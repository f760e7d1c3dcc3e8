//! Redis Sentinel: the master of a named service, found through its
//! sentinels the way Redis documents for clients ("Sentinel client
//! guidelines"): ask each sentinel in turn `SENTINEL get-master-addr-by-name
//! <service>`, connect to the address the first one gives, and check with
//! `ROLE` that it is a master; after a failover the sentinels name the new
//! master, and a connection that finds its server demoted (or gone) asks
//! again.
//!
//! The lookup is written with the `redis` crate's own connections and
//! commands rather than its `Sentinel` client, which connects without time
//! limits (one unreachable sentinel would hang a worker) and cannot be asked
//! for the address alone, which the once-a-second check for a switch needs.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use redis::{
    Connection, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, RedisResult,
};

/// Port of a sentinel address that names none (Sentinel's own default).
const SENTINEL_PORT: u16 = 26379;
/// Time limit for reaching one sentinel and for its answer.
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(1);

/// A parsed `redis+sentinel://` (or `rediss+sentinel://`) address:
/// `redis+sentinel://[user:password@]host1:26379,host2:26379/<service>[/db]`.
/// The credentials and the database are the master's; sentinels are asked
/// without credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentinelSpec {
    pub(crate) sentinels: Vec<(String, u16)>,
    pub(crate) service: String,
    pub(crate) db: i64,
    username: Option<String>,
    password: Option<String>,
    tls: bool,
}

impl SentinelSpec {
    /// Whether `input` is meant as a Sentinel address.
    pub(crate) fn is_sentinel_url(input: &str) -> bool {
        input.starts_with("redis+sentinel://") || input.starts_with("rediss+sentinel://")
    }

    /// Parses a Sentinel address; the error says what is wrong with it.
    pub(crate) fn parse(input: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = input.strip_prefix("redis+sentinel://") {
            (false, rest)
        } else if let Some(rest) = input.strip_prefix("rediss+sentinel://") {
            (true, rest)
        } else {
            return Err("a Sentinel address starts with redis+sentinel:// or rediss+sentinel://".into());
        };
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((userinfo, rest)) => (Some(userinfo), rest),
            None => (None, rest),
        };
        let (username, password) = credentials(userinfo)?;
        let mut parts = rest.split('/');
        let hosts = parts.next().unwrap_or("");
        let service = parts.next().unwrap_or("");
        let db = match parts.next() {
            None | Some("") => 0,
            Some(db) => db.parse::<i64>().ok().filter(|d| *d >= 0).ok_or("the database is not a number")?,
        };
        if parts.next().is_some() {
            return Err("expected redis+sentinel://host:port[,host:port...]/service[/db]".into());
        }
        if service.is_empty() {
            return Err("no service name after the sentinels (redis+sentinel://host:26379/mymaster)".into());
        }
        let mut sentinels = Vec::new();
        for host in hosts.split(',') {
            let (name, port) = match host.rsplit_once(':') {
                Some((name, port)) => (
                    name,
                    port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                        format!("the sentinel port in {host:?} is not a number from 1 to 65535")
                    })?,
                ),
                None => (host, SENTINEL_PORT),
            };
            if name.is_empty() {
                return Err(format!("a sentinel has no host ({hosts:?})"));
            }
            sentinels.push((name.to_string(), port));
        }
        Ok(SentinelSpec { sentinels, service: service.to_string(), db, username, password, tls })
    }

    /// How to connect to the master at `host:port`.
    fn master_info(&self, host: String, port: u16) -> RedisResult<ConnectionInfo> {
        let addr = if self.tls {
            ConnectionAddr::TcpTls { host, port, insecure: false, tls_params: None }
        } else {
            ConnectionAddr::Tcp(host, port)
        };
        let mut redis = redis::RedisConnectionInfo::default().set_db(self.db);
        if let Some(user) = &self.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &self.password {
            redis = redis.set_password(password);
        }
        Ok(addr.into_connection_info()?.set_redis_settings(redis))
    }
}

/// The user and password of an address's `user:password@` part, with their
/// `%XX` escapes decoded; an empty one is none.
pub(super) fn credentials(userinfo: Option<&str>) -> Result<(Option<String>, Option<String>), String> {
    let Some(info) = userinfo else { return Ok((None, None)) };
    let (user, password) = info.split_once(':').unwrap_or((info, ""));
    let decode = |s: &str| -> Result<Option<String>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        percent_decode(s).map(Some)
    };
    Ok((decode(user)?, decode(password)?))
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

/// The sentinels of one service, with a connection to the one that answered
/// last (in the process that opened it).
pub(super) struct Sentinels {
    spec: SentinelSpec,
    asked: Mutex<Option<Asked>>,
}

struct Asked {
    pid: u32,
    index: usize,
    conn: Connection,
}

impl Sentinels {
    pub(super) fn new(spec: SentinelSpec) -> Self {
        Sentinels { spec, asked: Mutex::new(None) }
    }

    pub(super) fn spec(&self) -> &SentinelSpec {
        &self.spec
    }

    /// The master's address as the sentinels name it now: the one asked
    /// last first, then the others in the address's order.
    pub(super) fn master_addr(&self) -> RedisResult<(String, u16)> {
        let mut asked = self.lock();
        let pid = std::process::id();
        if asked.as_ref().is_some_and(|a| a.pid != pid) {
            // Inherited across fork: the parent's, not to be read or closed here.
            if let Some(inherited) = asked.take() {
                std::mem::forget(inherited);
            }
        }
        let count = self.spec.sentinels.len();
        let first = asked.as_ref().map_or(0, |a| a.index);
        let mut last_error = None;
        for step in 0..count {
            let index = (first + step) % count;
            if asked.as_ref().is_none_or(|a| a.index != index) {
                *asked = None;
                match self.connect(index) {
                    Ok(conn) => *asked = Some(Asked { pid, index, conn }),
                    Err(e) => {
                        last_error = Some(e);
                        continue;
                    }
                }
            }
            let Some(current) = asked.as_mut() else { continue };
            let reply: RedisResult<Option<(String, u16)>> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(&self.spec.service)
                .query(&mut current.conn);
            match reply {
                Ok(Some(addr)) => return Ok(addr),
                Ok(None) => {
                    last_error = Some(RedisError::from((
                        ErrorKind::Server(redis::ServerErrorKind::MasterDown),
                        "no master",
                        format!(
                            "sentinel {}:{} knows no service {:?}",
                            self.spec.sentinels[index].0, self.spec.sentinels[index].1, self.spec.service
                        ),
                    )));
                }
                Err(e) => {
                    *asked = None;
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| RedisError::from((ErrorKind::Io, "no sentinel in the address"))))
    }

    /// A connection to the master the sentinels name, checked with `ROLE`.
    pub(super) fn connect_master(&self, timeout: Duration) -> RedisResult<((String, u16), Connection)> {
        let (host, port) = self.master_addr()?;
        let info = self.spec.master_info(host.clone(), port)?;
        let mut conn = redis::Client::open(info)?.get_connection_with_timeout(timeout)?;
        let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut conn)?;
        match role.first() {
            Some(redis::Value::BulkString(role)) if role == b"master" => Ok(((host, port), conn)),
            _ => Err(RedisError::from((
                ErrorKind::Server(redis::ServerErrorKind::MasterDown),
                "not a master",
                format!(
                    "the sentinels name {host}:{port} as master of {:?}, but it is not one (yet)",
                    self.spec.service
                ),
            ))),
        }
    }

    /// How to reach the master at `addr` (for connections the client does
    /// not manage itself).
    pub(super) fn info_for(&self, addr: &(String, u16)) -> RedisResult<ConnectionInfo> {
        self.spec.master_info(addr.0.clone(), addr.1)
    }

    fn connect(&self, index: usize) -> RedisResult<Connection> {
        let (host, port) = &self.spec.sentinels[index];
        let addr = if self.spec.tls {
            ConnectionAddr::TcpTls { host: host.clone(), port: *port, insecure: false, tls_params: None }
        } else {
            ConnectionAddr::Tcp(host.clone(), *port)
        };
        let conn = redis::Client::open(addr.into_connection_info()?)?
            .get_connection_with_timeout(SENTINEL_TIMEOUT)?;
        conn.set_read_timeout(Some(SENTINEL_TIMEOUT))?;
        conn.set_write_timeout(Some(SENTINEL_TIMEOUT))?;
        Ok(conn)
    }

    fn lock(&self) -> MutexGuard<'_, Option<Asked>> {
        self.asked.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_addresses_parse() {
        let spec = SentinelSpec::parse("redis+sentinel://:s%40cret@h1:26380,h2/mymaster/3").unwrap();
        assert_eq!(spec.sentinels, vec![("h1".to_string(), 26380), ("h2".to_string(), 26379)]);
        assert_eq!((spec.service.as_str(), spec.db), ("mymaster", 3));
        assert_eq!((spec.username.as_deref(), spec.password.as_deref()), (None, Some("s@cret")));
        assert!(!spec.tls);
        let tls = SentinelSpec::parse("rediss+sentinel://app:pw@h:1/svc").unwrap();
        assert!(tls.tls);
        assert_eq!((tls.username.as_deref(), tls.db), (Some("app"), 0));
    }

    #[test]
    fn bad_sentinel_addresses_say_why() {
        for (input, why) in [
            ("redis+sentinel://h1:26379", "service"),
            ("redis+sentinel://h1:26379/", "service"),
            ("redis+sentinel://h1:x/svc", "port"),
            ("redis+sentinel://h1:0/svc", "port"),
            ("redis+sentinel://h1,,h2/svc", "no host"),
            ("redis+sentinel://h1/svc/db", "database"),
            ("redis+sentinel://h1/svc/1/2", "expected"),
            ("redis+sentinel://:%zz@h1/svc", "escape"),
        ] {
            let err = SentinelSpec::parse(input).unwrap_err();
            assert!(err.contains(why), "{input:?}: {err}");
        }
    }
}
