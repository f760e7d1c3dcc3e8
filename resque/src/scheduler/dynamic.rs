//! Dynamic schedules set and removed by a program, as Ruby's
//! `Resque.set_schedule(name, config)` (always persisted),
//! `Resque.remove_schedule(name)` and `Resque.fetch_schedule(name)` do:
//! `persistent_schedules` holds name → config JSON, and `schedules_changed`
//! names each change for the leading scheduler to reload.

use redis::Commands;
use serde_json::Value;

use super::entry::ScheduleEntry;
use crate::client::Client;
use crate::error::{Error, Result};

impl Client {
    /// Sets the dynamic schedule `name` (Ruby's `Resque.set_schedule` with
    /// `persist: true`): `HSET persistent_schedules <name> <config JSON>`
    /// (key order kept, `persist` removed, Ruby's number spelling) and
    /// `SADD schedules_changed <name>`, in one transaction. The config is
    /// checked first ([`ScheduleEntry::from_config`]): a bad one is an
    /// [`Error::Schedule`] saying what is wrong, and nothing is written.
    ///
    /// ```no_run
    /// # fn main() -> resque::Result<()> {
    /// let client = resque::Client::from_env()?;
    /// let config = serde_json::json!({"every": "30s", "class": "Archive", "queue": "file_serve", "args": [44]});
    /// client.set_schedule("archive", &config)?;
    /// # Ok(()) }
    /// ```
    pub fn set_schedule(&self, name: &str, config: &Value) -> Result<ScheduleEntry> {
        if name.trim().is_empty() {
            return Err(Error::Schedule { name: name.to_string(), reason: "a schedule needs a name".into() });
        }
        let mut config = config.clone();
        if let Some(object) = config.as_object_mut() {
            object.shift_remove("persist");
        }
        let entry = ScheduleEntry::from_config(name, &config)?;
        let json = crate::payload::to_ruby_json(&config)
            .map_err(|e| Error::Schedule { name: name.to_string(), reason: e.to_string() })?;
        let keys = self.keys();
        self.with_conn(|c| {
            redis::pipe()
                .atomic()
                .hset(keys.persistent_schedules(), name, &json)
                .ignore()
                .sadd(keys.schedules_changed(), name)
                .ignore()
                .query::<()>(c)
        })?;
        Ok(entry)
    }

    /// Removes the dynamic schedule `name` (Ruby's `Resque.remove_schedule`):
    /// `HDEL persistent_schedules <name>` and `SADD schedules_changed <name>`;
    /// whether there was one. Static schedules (the schedule file, jobs'
    /// declarations) are not in Redis and stay.
    pub fn remove_schedule(&self, name: &str) -> Result<bool> {
        let keys = self.keys();
        let (removed,): (u64,) = self.with_conn(|c| {
            redis::pipe()
                .atomic()
                .hdel(keys.persistent_schedules(), name)
                .sadd(keys.schedules_changed(), name)
                .ignore()
                .query(c)
        })?;
        Ok(removed > 0)
    }

    /// The config of the dynamic schedule `name` as stored (Ruby's
    /// `Resque.fetch_schedule` for a persisted one); a stored text that is
    /// not JSON comes back as a JSON string of it.
    pub fn fetch_schedule(&self, name: &str) -> Result<Option<Value>> {
        let raw: Option<Vec<u8>> = self.with_conn(|c| c.hget(self.keys().persistent_schedules(), name))?;
        Ok(raw.map(crate::client::parse_or_text))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::error::Error;
    use crate::test_redis::*;

    const PERSISTENT: &str = "resque:persistent_schedules";
    const CHANGED: &str = "resque:schedules_changed";

    #[test]
    fn set_writes_the_config_as_ruby_does_and_names_the_change() {
        let (mut r, client) = TestRedis::start_with_client();
        let config: serde_json::Value = serde_json::from_str(
            r#"{"every":["3s",{"first_in":"1s"}],"persist":true,"class":"Archive","args":[2,1e20]}"#,
        )
        .unwrap();
        let entry = client.set_schedule("dyn", &config).unwrap();
        assert_eq!(entry.class, "Archive");
        assert_eq!(
            r.hash(PERSISTENT)["dyn"],
            r#"{"every":["3s",{"first_in":"1s"}],"class":"Archive","args":[2,1.0e+20]}"#
        );
        assert_eq!(r.members(CHANGED), [b"dyn".to_vec()].into_iter().collect());
        assert_eq!(
            client.fetch_schedule("dyn").unwrap(),
            Some(json!({"every":["3s",{"first_in":"1s"}],"class":"Archive","args":[2,1e20]}))
        );
        assert_eq!(client.fetch_schedule("none").unwrap(), None);
        // Setting again replaces it.
        client.set_schedule("dyn", &json!({"cron": "* * * * *", "class": "B"})).unwrap();
        assert_eq!(r.hash(PERSISTENT)["dyn"], r#"{"cron":"* * * * *","class":"B"}"#);
    }

    #[test]
    fn a_bad_config_says_what_is_wrong_and_writes_nothing() {
        let (mut r, client) = TestRedis::start_with_client();
        for (name, config, says) in [
            ("x", json!({"class": "A"}), "no cron or every"),
            ("x", json!({"cron": "61 * * * *"}), "invalid cron"),
            ("x", json!([1]), "mapping"),
            (" ", json!({"every": "1s"}), "needs a name"),
        ] {
            match client.set_schedule(name, &config) {
                Err(Error::Schedule { reason, .. }) => assert!(reason.contains(says), "{reason}"),
                other => panic!("{config}: {other:?}"),
            }
        }
        assert!(client.set_schedule("x", &json!({"every": "soon"})).is_err());
        assert!(r.keys().is_empty(), "{:?}", r.keys());
    }

    #[test]
    fn remove_deletes_the_config_and_names_the_change() {
        let (mut r, client) = TestRedis::start_with_client();
        r.exec(&["HSET", PERSISTENT, "dyn", r#"{"cron":"* * * * *","class":"A"}"#, "other", "{}"]);
        assert!(client.remove_schedule("dyn").unwrap());
        assert_eq!(r.hash(PERSISTENT).keys().collect::<Vec<_>>(), ["other"]);
        assert!(r.members(CHANGED).contains(b"dyn".as_slice()));
        assert!(!client.remove_schedule("dyn").unwrap());
    }
}
