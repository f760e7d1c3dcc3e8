//! The leader lock: resque-scheduler's master lock key and value
//! (`<hostname>:<pid>`), held with a short TTL renewed often, so that a
//! killed leader is replaced within seconds rather than Ruby's 180 s, while
//! a Ruby scheduler holding its lock still excludes ours and ours excludes
//! it (both take the key only when it is free: SET NX).

use std::time::Duration;

use crate::client::Client;
use crate::error::Result;
use crate::script::Lua;

/// Takes the lock when free, renews it when ours (`hold.lua`).
static HOLD: Lua = Lua::new("scheduler_hold", &["lock"], &["value", "ttl_ms"], include_str!("hold.lua"));

/// Deletes the lock when ours (`release.lua`).
static RELEASE: Lua = Lua::new("scheduler_release", &["lock"], &["value"], include_str!("release.lua"));

/// The master lock as one scheduler holds it.
#[derive(Debug, Clone)]
pub(crate) struct MasterLock {
    /// The physical key (`resque:resque:resque_scheduler_master_lock`).
    pub(crate) key: String,
    /// This scheduler's value, `<hostname>:<pid>` as Ruby's.
    pub(crate) value: String,
    ttl: Duration,
}

impl MasterLock {
    /// The lock of `client`'s namespace under `prefix`, for this process.
    pub(crate) fn new(client: &Client, prefix: Option<&str>, ttl: Duration) -> Result<Self> {
        let value = format!("{}:{}", crate::roster::hostname()?, std::process::id());
        Ok(MasterLock { key: client.keys().scheduler_master_lock(prefix), value, ttl })
    }

    /// Takes or renews the lock: whether this scheduler leads now.
    pub(crate) fn hold(&self, client: &Client) -> Result<bool> {
        let ttl_ms = self.ttl.as_millis().max(1) as u64;
        let held: i64 = client.with_conn(|conn| {
            HOLD.call().key("lock", &self.key).arg("value", &self.value).arg("ttl_ms", ttl_ms).invoke(conn)
        })?;
        Ok(held == 1)
    }

    /// Gives the lock up if it is ours: whether it was.
    pub(crate) fn release(&self, client: &Client) -> Result<bool> {
        let released: i64 = client
            .with_conn(|conn| RELEASE.call().key("lock", &self.key).arg("value", &self.value).invoke(conn))?;
        Ok(released == 1)
    }
}

/// Who leads: the value of the master lock under `prefix` (`<host>:<pid>`
/// of the scheduler holding it, resque-rs's or Ruby's), or `None` when no
/// scheduler leads.
pub fn leader(client: &Client, prefix: Option<&str>) -> Result<Option<String>> {
    let key = client.keys().scheduler_master_lock(prefix);
    let raw: Option<Vec<u8>> = client.with_conn(|conn| redis::cmd("GET").arg(&key).query(conn))?;
    Ok(raw.map(crate::payload::into_text))
}

/// A lock taken for this process, for the scripts' tests.
#[cfg(test)]
pub(crate) fn test_leader(client: &Client) -> MasterLock {
    let lock = MasterLock::new(client, None, Duration::from_secs(3)).expect("a lock");
    assert!(lock.hold(client).expect("the lock script runs"), "the lock is free");
    lock
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_redis::*;

    const KEY: &str = "resque:resque:resque_scheduler_master_lock";

    fn lock(client: &Client, value: &str) -> MasterLock {
        let mut lock = MasterLock::new(client, None, Duration::from_secs(3)).unwrap();
        lock.value = value.into();
        lock
    }

    #[test]
    fn a_free_lock_is_taken_with_a_short_ttl_and_renewed_while_ours() {
        let (mut r, client) = TestRedis::start_with_client();
        let ours = MasterLock::new(&client, None, Duration::from_secs(3)).unwrap();
        assert_eq!(ours.key, KEY);
        assert!(ours.value.ends_with(&format!(":{}", std::process::id())), "{}", ours.value);
        assert!(ours.hold(&client).unwrap());
        assert_eq!(r.text(KEY).as_deref(), Some(ours.value.as_str()));
        let ttl: i64 = r.query(redis::cmd("PTTL").arg(KEY));
        assert!((2000..=3000).contains(&ttl), "{ttl}");
        r.exec(&["PEXPIRE", KEY, "100"]);
        assert!(ours.hold(&client).unwrap(), "renewed");
        let ttl: i64 = r.query(redis::cmd("PTTL").arg(KEY));
        assert!(ttl > 2000, "{ttl}");
    }

    #[test]
    fn a_lock_held_by_another_scheduler_is_left_alone() {
        let (mut r, client) = TestRedis::start_with_client();
        // A Ruby scheduler's lock: SETNX + EXPIRE 180.
        r.exec(&["SET", KEY, "rubyhost:77", "EX", "180"]);
        let ours = lock(&client, "host:1");
        assert!(!ours.hold(&client).unwrap());
        assert!(!ours.release(&client).unwrap());
        assert_eq!(r.text(KEY).as_deref(), Some("rubyhost:77"));
        let ttl: i64 = r.query(redis::cmd("TTL").arg(KEY));
        assert!(ttl > 170, "Ruby's TTL untouched: {ttl}");
        // Once it is gone, ours takes it, and a second of ours is excluded.
        r.exec(&["DEL", KEY]);
        assert!(ours.hold(&client).unwrap());
        assert!(!lock(&client, "host:2").hold(&client).unwrap());
    }

    #[test]
    fn release_deletes_only_our_own_lock() {
        let (mut r, client) = TestRedis::start_with_client();
        let ours = lock(&client, "host:1");
        assert!(ours.hold(&client).unwrap());
        assert!(!lock(&client, "host:2").release(&client).unwrap());
        assert_eq!(r.text(KEY).as_deref(), Some("host:1"));
        assert!(ours.release(&client).unwrap());
        assert_eq!(r.text(KEY), None);
    }

    #[test]
    fn the_leader_is_the_lock_s_value() {
        let (mut r, client) = TestRedis::start_with_client();
        assert_eq!(leader(&client, None).unwrap(), None);
        r.exec(&["SET", KEY, "rubyhost:77"]);
        assert_eq!(leader(&client, None).unwrap().as_deref(), Some("rubyhost:77"));
        assert_eq!(leader(&client, Some("p")).unwrap(), None);
    }

    #[test]
    fn the_prefix_is_placed_as_ruby_places_it() {
        let (_r, client) = TestRedis::start_with_client();
        let lock = MasterLock::new(&client, Some("p"), Duration::from_secs(3)).unwrap();
        assert_eq!(lock.key, "resque:resque:p:resque_scheduler_master_lock");
    }
}
