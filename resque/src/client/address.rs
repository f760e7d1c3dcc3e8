//! Where Redis is: Ruby Resque's address strings (`host:port:db/namespace`)
//! and `redis://` URLs, read from arguments, the environment or `resque.yml`.

use std::env;
use std::fmt;
use std::str::FromStr;

use super::cluster::ClusterSpec;
use super::sentinel::SentinelSpec;
use super::Client;
use crate::config::Config;
use crate::error::{Error, Result};

/// Where the default client connects when nothing is configured.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// A Redis address in any form Ruby Resque accepts: a `redis://` or
/// `rediss://` URL, or `host:port`, `host:port:db`, `host:port/namespace`,
/// `host:port:db/namespace`; or the master of a Redis Sentinel service,
/// `redis+sentinel://[:password@]host1:26379,host2:26379/<service>[/db]`
/// (`rediss+sentinel://` for TLS; the password and database are the
/// master's, the sentinels' own password is `?sentinel_password=...`,
/// with `&sentinel_username=...` for an ACL user); or a Redis Cluster, `redis+cluster://host:port,host:port`
/// (any of its nodes; the namespace must then hold a hash tag, as
/// `{resque}`).
///
/// ```
/// use resque::RedisAddress;
/// let a: RedisAddress = "localhost:6380:2/myapp".parse().unwrap();
/// assert_eq!(a.url(), "redis://localhost:6380/2");
/// assert_eq!(a.namespace(), Some("myapp"));
/// let b: RedisAddress = "redis://:secret@cache:6379/1".parse().unwrap();
/// assert_eq!(b.to_string(), "redis://cache:6379/1");
/// assert_eq!(b.namespace(), None);
/// let c: RedisAddress = "redis+sentinel://:secret@s1:26379,s2:26379/mymaster".parse().unwrap();
/// assert_eq!(c.to_string(), "redis+sentinel://s1:26379,s2:26379/mymaster");
/// let d: RedisAddress = "redis+sentinel://s1/mymaster?sentinel_password=hush".parse().unwrap();
/// assert_eq!(d.to_string(), "redis+sentinel://s1/mymaster");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisAddress {
    url: String,
    namespace: Option<String>,
    sentinel: Option<SentinelSpec>,
    cluster: Option<ClusterSpec>,
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

    /// The address the environment names: `RESQUE_REDIS`, else `REDIS_URL`,
    /// else [`DEFAULT_URL`].
    ///
    /// ```
    /// let address = resque::RedisAddress::from_env().unwrap();
    /// assert!(address.url().contains("://"));
    /// ```
    pub fn from_env() -> Result<Self> {
        env_address().parse()
    }

    /// The Sentinel service the address names, if it is a Sentinel address.
    pub(crate) fn sentinel(&self) -> Option<&SentinelSpec> {
        self.sentinel.as_ref()
    }

    /// The cluster the address names, if it is a Cluster address.
    pub(crate) fn cluster(&self) -> Option<&ClusterSpec> {
        self.cluster.as_ref()
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
        if SentinelSpec::is_sentinel_url(trimmed) {
            let spec = SentinelSpec::parse(trimmed).map_err(|why| invalid(&why))?;
            return Ok(RedisAddress {
                url: trimmed.to_string(),
                namespace: None,
                sentinel: Some(spec),
                cluster: None,
            });
        }
        if ClusterSpec::is_cluster_url(trimmed) {
            let spec = ClusterSpec::parse(trimmed).map_err(|why| invalid(&why))?;
            return Ok(RedisAddress {
                url: trimmed.to_string(),
                namespace: None,
                sentinel: None,
                cluster: Some(spec),
            });
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            if !matches!(scheme, "redis" | "rediss" | "unix" | "redis+unix") {
                return Err(invalid("the scheme must be redis://, rediss://, unix:// or redis+sentinel://"));
            }
            redis::parse_redis_url(trimmed).ok_or_else(|| invalid("not a valid Redis URL"))?;
            return Ok(RedisAddress {
                url: trimmed.to_string(),
                namespace: None,
                sentinel: None,
                cluster: None,
            });
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
        Ok(RedisAddress {
            url: format!("redis://{host}:{port}/{db}"),
            namespace,
            sentinel: None,
            cluster: None,
        })
    }
}

impl fmt::Display for RedisAddress {
    /// The URL without its passwords (a Sentinel address's query holds
    /// only the sentinels' credentials, so it is left out whole).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self.sentinel {
            Some(_) => self.url.split_once('?').map_or(self.url.as_str(), |(url, _)| url),
            None => self.url.as_str(),
        };
        match url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => write!(f, "{scheme}://{host}"),
                None => f.write_str(url),
            },
            None => f.write_str(url),
        }
    }
}

impl fmt::Debug for RedisAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisAddress({self})")
    }
}

pub(super) fn env_address() -> String {
    ["RESQUE_REDIS", "REDIS_URL"]
        .iter()
        .find_map(|var| env::var(var).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_URL.to_string())
}

impl Config {
    /// The client for an environment, in the namespace its entry names, else
    /// the one its address names, else `RESQUE_NAMESPACE`, else `resque`.
    pub fn client_for(&self, env: &str) -> Result<Client> {
        let address = self.address_for(env)?;
        match self.namespace_for(env)? {
            Some(ns) => Client::with_namespace(address.parse()?, ns),
            None => Client::new(&address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Result<RedisAddress> {
        s.parse()
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
