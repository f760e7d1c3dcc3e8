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

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{Connection, ConnectionInfo, ErrorKind, RedisError, RedisResult};

use super::nodes::{self, Access, Asked, Node};

/// Port of a sentinel address that names none (Sentinel's own default).
const SENTINEL_PORT: u16 = 26379;

/// A parsed `redis+sentinel://` (or `rediss+sentinel://`) address:
/// `redis+sentinel://[user:password@]host1:26379,host2:26379/<service>[/db]`
/// `[?sentinel_password=...[&sentinel_username=...]]`. The credentials and
/// the database are the master's (and its replicas'); the sentinels' own
/// (their `requirepass`) come in the query, under the names Sidekiq's
/// redis-client gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentinelSpec {
    pub(crate) sentinels: Vec<Node>,
    pub(crate) service: String,
    pub(crate) db: i64,
    access: Access,
    sentinel_access: Access,
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
        // A `?` or `@` inside a password is written %3F or %40, as in any URL.
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let sentinel_access = Self::sentinel_access(query, tls)?;
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
        Ok(SentinelSpec { sentinels, service: service.to_string(), db, access, sentinel_access })
    }

    /// The sentinels' own credentials, from the address's query.
    fn sentinel_access(query: Option<&str>, tls: bool) -> Result<Access, String> {
        let (mut user, mut password) = (None, None);
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sentinel_password", value)) => password = Some(value),
                Some(("sentinel_username", value)) => user = Some(value),
                _ => {
                    return Err(format!(
                        "unknown parameter {pair:?} (a Sentinel address takes sentinel_password=... and sentinel_username=...)"
                    ))
                }
            }
        }
        Access::from_parts(user, password, tls)
    }
}

/// How long a master that lost its replicas is refused (see
/// [`Sentinels::connect_master`]): Sentinel's own failover of a master that
/// is up takes a few seconds.
const REPLICAS_GONE: Duration = Duration::from_secs(10);

/// The sentinels of one service.
pub(super) struct Sentinels {
    spec: SentinelSpec,
    asked: Asked,
    /// The master whose write no replica confirmed, and since when.
    lost: Mutex<Option<(Node, Instant)>>,
}

impl Sentinels {
    pub(super) fn new(spec: SentinelSpec) -> Self {
        let asked = Asked::new(spec.sentinels.clone(), spec.sentinel_access.clone());
        Sentinels { spec, asked, lost: Mutex::new(None) }
    }

    pub(super) fn spec(&self) -> &SentinelSpec {
        &self.spec
    }

    /// The master's address as the sentinels name it now.
    pub(super) fn master_addr(&self) -> RedisResult<Node> {
        let service = &self.spec.service;
        self.asked.ask(|conn, (host, port)| {
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
        .map_err(|e| {
            // NOAUTH: asked without a password; WRONGPASS (at connect): a wrong one.
            let refused = e.kind() == ErrorKind::AuthenticationFailed || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"));
            if !refused {
                return e;
            }
            RedisError::from((
                ErrorKind::AuthenticationFailed,
                "sentinel refused",
                format!(
                    "the sentinels want their own password ({e}); give it as ?sentinel_password=... in the address"
                ),
            ))
        })
    }

    /// A connection to the master the sentinels name, checked with `ROLE`,
    /// and whether what a worker writes there is to be confirmed copied to
    /// a replica (`WAIT`, see [`Sentinels::replicas_lost`]): when the master
    /// has replicas connected.
    ///
    /// A master that lost the replicas it had (a write was not copied) and
    /// still has none is refused for [`REPLICAS_GONE`]: that is how a
    /// failover looks from the old master while the sentinels still name
    /// it, and what it takes then is lost when its replica is promoted.
    /// Past that the replica is taken to have died, not been promoted, and
    /// the master is used without waiting for one.
    pub(super) fn connect_master(&self, timeout: Duration) -> RedisResult<(Node, Connection, bool)> {
        let master = self.master_addr()?;
        let info = self.info_for(&master)?;
        let (master, conn, replicas) = nodes::connect_master(master, info, timeout, |(host, port)| {
            format!("the sentinels name {host}:{port} as master of {:?}", self.spec.service)
        })?;
        let mut lost = self.lost.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if replicas > 0 {
            *lost = None;
            return Ok((master, conn, true));
        }
        if let Some((node, since)) = lost.as_ref() {
            if *node == master && since.elapsed() < REPLICAS_GONE {
                let (host, port) = &master;
                return Err(RedisError::from((
                    ErrorKind::Server(redis::ServerErrorKind::MasterDown),
                    "no replica",
                    format!(
                        "{host}:{port} lost its replicas, as when one is being promoted; \
                         waiting for the sentinels to name the new master"
                    ),
                )));
            }
        }
        Ok((master, conn, false))
    }

    /// Notes that a write to `master` was not copied to any replica in time:
    /// its replica may have just been promoted.
    pub(super) fn replicas_lost(&self, master: &Node) {
        let mut lost = self.lost.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if lost.as_ref().is_none_or(|(node, _)| node != master) {
            *lost = Some((master.clone(), Instant::now()));
        }
    }

    /// How to reach the master at `addr` (for connections the client does
    /// not manage itself).
    pub(super) fn info_for(&self, addr: &Node) -> RedisResult<ConnectionInfo> {
        self.spec.access.info(addr.clone(), self.spec.db)
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
        assert_eq!(tls.sentinel_access.credentials(), (None, None));

        // The sentinels' own password is theirs alone; the master's is the userinfo's.
        let own = SentinelSpec::parse(
            "redis+sentinel://:m@h:1/svc/2?sentinel_password=s%26p%40ss&sentinel_username=watch",
        )
        .unwrap();
        assert_eq!(own.sentinel_access.credentials(), (Some("watch"), Some("s&p@ss")));
        assert_eq!((own.access.credentials(), own.service.as_str(), own.db), ((None, Some("m")), "svc", 2));
        let only = SentinelSpec::parse("redis+sentinel://h:1/svc?sentinel_password=x").unwrap();
        assert_eq!(
            (only.access.credentials(), only.sentinel_access.credentials()),
            ((None, None), (None, Some("x")))
        );
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
            ("redis+sentinel://h1/svc?password=x", "unknown parameter \"password=x\""),
            ("redis+sentinel://h1/svc?sentinel_password", "unknown parameter"),
            ("redis+sentinel://h1/svc?sentinel_password=%zz", "escape"),
        ] {
            let err = SentinelSpec::parse(input).unwrap_err();
            assert!(err.contains(why), "{input:?}: {err}");
        }
    }
}
