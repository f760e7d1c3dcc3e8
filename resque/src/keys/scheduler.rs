//! The keys of delayed and recurring jobs: resque-scheduler 5.0's layout,
//! shared with Ruby's scheduler (see `docs/PROTOCOL.md`).

use super::Keys;

/// resque-scheduler's master lock name, before any prefix
/// (`RESQUE_SCHEDULER_MASTER_LOCK_PREFIX`).
const MASTER_LOCK: &str = "resque_scheduler_master_lock";

/// The prefix of a second's list of delayed items.
const DELAYED: &str = "delayed:";

impl Keys {
    /// `delayed_queue_schedule`: sorted set of the Unix seconds at which a
    /// batch of delayed jobs is due (member = score = the second).
    pub fn delayed_schedule(&self) -> String {
        self.key("delayed_queue_schedule")
    }

    /// `delayed:<unix s>`: the list of delayed items due at that second.
    pub fn delayed_at(&self, timestamp: i64) -> String {
        self.key(&Keys::delayed_bucket(timestamp))
    }

    /// `delayed:<unix s>` without the namespace: the member
    /// `timestamps:<item>` holds.
    pub fn delayed_bucket(timestamp: i64) -> String {
        format!("{DELAYED}{timestamp}")
    }

    /// The Unix second a `delayed:<unix s>` member of `timestamps:<item>`
    /// names ([`Keys::delayed_bucket`] read back); `None` for anything else.
    ///
    /// ```
    /// use resque::keys::Keys;
    /// assert_eq!(Keys::second_of_bucket(b"delayed:1796186087"), Some(1796186087));
    /// assert_eq!(Keys::second_of_bucket(b"queue:x"), None);
    /// ```
    pub fn second_of_bucket(bucket: &[u8]) -> Option<i64> {
        std::str::from_utf8(bucket).ok()?.strip_prefix(DELAYED)?.parse().ok()
    }

    /// `delayed:<member>` for a member of `delayed_queue_schedule` as read
    /// (its text, whatever it holds), with and without the namespace.
    pub fn delayed_of_member(&self, member: &str) -> (String, String) {
        let bucket = format!("{DELAYED}{member}");
        (self.key(&bucket), bucket)
    }

    /// `delayed:unreadable`: delayed items the scheduler could not read a
    /// queue from, moved here as they were (added by resque-rs).
    pub fn delayed_unreadable(&self) -> String {
        self.key("delayed:unreadable")
    }

    /// `timestamps:<item>`: the `delayed:<unix s>` buckets that exact item
    /// (any bytes) is queued in.
    pub fn timestamps_of(&self, item: &[u8]) -> Vec<u8> {
        let mut name = b"timestamps:".to_vec();
        name.extend_from_slice(item);
        self.key_of_bytes(&name)
    }

    /// `delayed:last_enqueued_at`: hash of schedule name → when it last
    /// enqueued (Ruby `Time#to_s`).
    pub fn last_enqueued_at(&self) -> String {
        self.key("delayed:last_enqueued_at")
    }

    /// `persistent_schedules`: hash of dynamic schedule name → its JSON config.
    pub fn persistent_schedules(&self) -> String {
        self.key("persistent_schedules")
    }

    /// `schedules_changed`: set of dynamic schedule names changed since the
    /// leader last loaded them.
    pub fn schedules_changed(&self) -> String {
        self.key("schedules_changed")
    }

    /// The master lock that elects the one scheduler that promotes and
    /// enqueues. resque-scheduler builds `<namespace>:[<prefix>:]resque_scheduler_master_lock`
    /// and sends it through its namespaced client, so the namespace appears
    /// twice: `resque:resque:resque_scheduler_master_lock`.
    pub fn scheduler_master_lock(&self, prefix: Option<&str>) -> String {
        let name = match prefix.filter(|p| !p.is_empty()) {
            Some(prefix) => format!("{}:{prefix}:{MASTER_LOCK}", self.namespace()),
            None => format!("{}:{MASTER_LOCK}", self.namespace()),
        };
        self.key(&name)
    }

    /// `delayed_wake`: the Pub/Sub channel resque-rs publishes a due second
    /// on when it adds a delayed job, so an idle scheduler wakes at once
    /// (added by resque-rs; a channel, not a key).
    pub fn delayed_wake_channel(&self) -> String {
        self.key("delayed_wake")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resque_scheduler_keys_as_ruby_spells_them() {
        let k = Keys::new("resque");
        assert_eq!(k.delayed_schedule(), "resque:delayed_queue_schedule");
        assert_eq!(k.delayed_at(1764633600), "resque:delayed:1764633600");
        assert_eq!(Keys::delayed_bucket(1764633600), "delayed:1764633600");
        let item = br#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#;
        assert_eq!(
            k.timestamps_of(item),
            br#"resque:timestamps:{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#
                .to_vec()
        );
        assert_eq!(k.last_enqueued_at(), "resque:delayed:last_enqueued_at");
        assert_eq!(k.persistent_schedules(), "resque:persistent_schedules");
        assert_eq!(k.schedules_changed(), "resque:schedules_changed");
        // The namespace twice, as Redis::Namespace applies it to the plugin's own prefix.
        assert_eq!(k.scheduler_master_lock(None), "resque:resque:resque_scheduler_master_lock");
        assert_eq!(k.scheduler_master_lock(Some("p")), "resque:resque:p:resque_scheduler_master_lock");
        assert_eq!(k.scheduler_master_lock(Some("")), "resque:resque:resque_scheduler_master_lock");
        assert_eq!(Keys::new("app").scheduler_master_lock(None), "app:app:resque_scheduler_master_lock");
        assert_eq!(k.delayed_wake_channel(), "resque:delayed_wake");
        assert_eq!(k.delayed_of_member("17"), ("resque:delayed:17".to_string(), "delayed:17".to_string()));
        assert_eq!(k.delayed_unreadable(), "resque:delayed:unreadable");
    }
}
