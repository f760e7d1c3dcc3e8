//! Redis Cluster: a namespace whose name holds a hash tag (`{resque}`) keeps
//! every key in one slot, so one master serves all of it and every script
//! stays valid there. The client asks the cluster which slot the tag is
//! (`CLUSTER KEYSLOT`) and which master serves it (`CLUSTER SLOTS`), and
//! talks to that master alone; a reply that says the slot moved (`MOVED`,
//! `READONLY` after a failover, `CLUSTERDOWN`, `TRYAGAIN`) makes the next
//! connection ask again. Several namespaces spread over the masters.

use std::time::Duration;

use redis::{Connection, ConnectionInfo, ErrorKind, RedisError, RedisResult};

use super::nodes::{self, Access, Asked, Node};

/// A parsed `redis+cluster://` (or `rediss+cluster://`) address:
/// `redis+cluster://[user:password@]host:port,host:port`, any nodes of the
/// cluster to start from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClusterSpec {
    pub(crate) seeds: Vec<Node>,
    access: Access,
}

impl ClusterSpec {
    /// Whether `input` is meant as a Cluster address.
    pub(crate) fn is_cluster_url(input: &str) -> bool {
        input.starts_with("redis+cluster://") || input.starts_with("rediss+cluster://")
    }

    /// Parses a Cluster address; the error says what is wrong with it.
    pub(crate) fn parse(input: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = input.strip_prefix("redis+cluster://") {
            (false, rest)
        } else if let Some(rest) = input.strip_prefix("rediss+cluster://") {
            (true, rest)
        } else {
            return Err("a Cluster address starts with redis+cluster:// or rediss+cluster://".into());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, hosts) = match rest.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, rest),
        };
        let access = Access::parse(userinfo, tls)?;
        if hosts.contains('/') {
            return Err(
                "a Cluster address has no database or path: redis+cluster://host:port,host:port (the \
                        namespace comes from -N, RESQUE_NAMESPACE or resque.yml)"
                    .into(),
            );
        }
        let seeds = nodes::parse_nodes(hosts, None, "node")?;
        Ok(ClusterSpec { seeds, access })
    }
}

/// The hash tag of a namespace, as Redis Cluster reads one from a key that
/// starts with it: what lies between the first `{` and the first `}` after
/// it, when that is not empty and closes within the namespace.
///
/// ```text
/// {resque}      -> resque
/// app:{t1}      -> t1
/// resque        -> none: its keys would spread over the cluster
/// {}x / {open   -> none
/// ```
pub(crate) fn hash_tag(namespace: &str) -> Option<&str> {
    let open = namespace.find('{')?;
    let close = namespace[open + 1..].find('}')? + open + 1;
    let tag = &namespace[open + 1..close];
    (!tag.is_empty()).then_some(tag)
}

/// The master serving one namespace's slot.
pub(super) struct ClusterSlot {
    spec: ClusterSpec,
    /// A key of the namespace (any: they share the slot).
    probe_key: String,
    asked: Asked,
}

impl ClusterSlot {
    pub(super) fn new(spec: ClusterSpec, probe_key: String) -> Self {
        let asked = Asked::new(spec.seeds.clone(), spec.access.clone());
        ClusterSlot { spec, probe_key, asked }
    }

    /// The address of the master serving the namespace's slot, as the
    /// first seed node that answers says.
    pub(super) fn master_addr(&self) -> RedisResult<Node> {
        self.asked.ask(|conn, (seed_host, _)| self.lookup(conn, seed_host))
    }

    /// `CLUSTER KEYSLOT` of the namespace, then the master `CLUSTER SLOTS`
    /// names for it (an empty IP is the node asked, as Redis means it).
    fn lookup(&self, conn: &mut Connection, seed_host: &str) -> RedisResult<Node> {
        let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(&self.probe_key).query(conn)?;
        let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER").arg("SLOTS").query(conn)?;
        for range in ranges {
            let (Some(start), Some(end), Some(master)) = (range.first(), range.get(1), range.get(2)) else {
                continue;
            };
            let (Ok(start), Ok(end)) =
                (redis::from_redis_value_ref::<i64>(start), redis::from_redis_value_ref::<i64>(end))
            else {
                continue;
            };
            if slot < start || slot > end {
                continue;
            }
            let node: Vec<redis::Value> = redis::from_redis_value_ref(master)?;
            let (Some(ip), Some(port)) = (node.first(), node.get(1)) else { break };
            let ip: String = redis::from_redis_value_ref(ip)?;
            let port: u16 = redis::from_redis_value_ref(port)?;
            let host = if ip.is_empty() { seed_host.to_string() } else { ip };
            return Ok((host, port));
        }
        Err(RedisError::from((
            ErrorKind::Server(redis::ServerErrorKind::ClusterDown),
            "slot not served",
            format!("no master serves slot {slot} (of {:?}) now", self.probe_key),
        )))
    }

    /// A connection to the master serving the slot, checked with `ROLE`.
    pub(super) fn connect_master(&self, timeout: Duration) -> RedisResult<(Node, Connection)> {
        let master = self.master_addr()?;
        let info = self.info_for(&master)?;
        let (master, conn, _) = nodes::connect_master(master, info, timeout, |(host, port)| {
            format!("the cluster names {host}:{port} as master of the namespace's slot")
        })?;
        Ok((master, conn))
    }

    /// How to reach the master at `addr`.
    pub(super) fn info_for(&self, addr: &Node) -> RedisResult<ConnectionInfo> {
        self.spec.access.info(addr.clone(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_addresses_parse() {
        let spec = ClusterSpec::parse("redis+cluster://:pw@h1:7000,h2:7001/").unwrap();
        assert_eq!(spec.seeds, vec![("h1".to_string(), 7000), ("h2".to_string(), 7001)]);
        assert_eq!(spec.access.credentials(), (None, Some("pw")));
        for (input, why) in [
            ("redis+cluster://h1", "no port"),
            ("redis+cluster://h1:x", "port"),
            ("redis+cluster://:1", "no host"),
            ("redis+cluster://h1:1/2", "no database"),
        ] {
            let err = ClusterSpec::parse(input).unwrap_err();
            assert!(err.contains(why), "{input:?}: {err}");
        }
    }

    #[test]
    fn hash_tags_as_redis_cluster_reads_them() {
        assert_eq!(hash_tag("{resque}"), Some("resque"));
        assert_eq!(hash_tag("app:{t1}"), Some("t1"));
        assert_eq!(hash_tag("{a}{b}"), Some("a"));
        assert_eq!(hash_tag("resque"), None);
        assert_eq!(hash_tag("{}x"), None);
        assert_eq!(hash_tag("{open"), None);
        assert_eq!(hash_tag("close}{"), None);
    }
}
