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

use std::time::Duration;

use redis::{Connection, ConnectionInfo, ErrorKind, RedisError, RedisResult};

use super::nodes::{self, Access, Asked, Node};

/// Port of a sentinel address that names none (Sentinel's own default).
const SENTINEL_PORT: u16 = 26379;

/// A parsed `redis+sentinel://` (or `rediss+sentinel://`) address:
/// `redis+sentinel://[user:password@]host1:26379,host2:26379/<service>[/db]`.
/// The credentials and the database are the master's; sentinels are asked
/// without credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentinelSpec {
    pub(crate) sentinels: Vec<Node>,
    pub(crate) service: String,
    pub(crate) db: i64,
    access: Access,
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
        let access = Access::parse(userinfo, tls)?;
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
        let sentinels = nodes::parse_nodes(hosts, Some(SENTINEL_PORT), "sentinel")?;
        Ok(SentinelSpec { sentinels, service: service.to_string(), db, access })
    }
}

/// The sentinels of one service.
pub(super) struct Sentinels {
    spec: SentinelSpec,
    asked: Asked,
}

impl Sentinels {
    pub(super) fn new(spec: SentinelSpec) -> Self {
        let asked = Asked::new(spec.sentinels.clone(), false);
        Sentinels { spec, asked }
    }

    pub(super) fn spec(&self) -> &SentinelSpec {
        &self.spec
    }

    /// The master's address as the sentinels name it now.
    pub(super) fn master_addr(&self) -> RedisResult<Node> {
        let service = &self.spec.service;
        self.asked.ask(&self.spec.access, |conn, (host, port)| {
            let named: Option<Node> =
                redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(service).query(conn)?;
            named.ok_or_else(|| {
                RedisError::from((
                    ErrorKind::Server(redis::ServerErrorKind::MasterDown),
                    "no master",
                    format!("sentinel {host}:{port} knows no service {service:?}"),
                ))
            })
        })
    }

    /// A connection to the master the sentinels name, checked with `ROLE`.
    pub(super) fn connect_master(&self, timeout: Duration) -> RedisResult<(Node, Connection)> {
        let master = self.master_addr()?;
        let info = self.info_for(&master)?;
        nodes::connect_master(master, info, timeout, |(host, port)| {
            format!("the sentinels name {host}:{port} as master of {:?}", self.spec.service)
        })
    }

    /// How to reach the master at `addr` (for connections the client does
    /// not manage itself).
    pub(super) fn info_for(&self, addr: &Node) -> RedisResult<ConnectionInfo> {
        self.spec.access.info(addr.clone(), self.spec.db, true)
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
        assert_eq!(spec.access.credentials(), (None, Some("s@cret")));
        assert!(!spec.access.tls());
        let tls = SentinelSpec::parse("rediss+sentinel://app:pw@h:1/svc").unwrap();
        assert!(tls.access.tls());
        assert_eq!((tls.access.credentials().0, tls.db), (Some("app"), 0));
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
