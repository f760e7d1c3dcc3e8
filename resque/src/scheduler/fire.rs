//! Firing one run of a recurring schedule (`fire.lua`): checked against
//! the lock and `delayed:last_enqueued_at` in the same script that
//! enqueues, so each slot is enqueued once even across a leader change.

use jiff::Timestamp;

use super::lock::MasterLock;
use crate::client::Client;
use crate::error::Result;
use crate::script::Lua;

/// Enqueues a slot once (see `fire.lua`).
pub(crate) static FIRE: Lua = Lua::new(
    "scheduler_fire",
    &["lock", "last", "queues", "queue"],
    &["value", "name", "slot", "slot_text", "queue", "payload", "channel"],
    include_str!("fire.lua"),
);

/// What firing a slot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fired {
    /// Enqueued now.
    Enqueued,
    /// Already enqueued (`last_enqueued_at` is at or after the slot).
    Already,
    /// The lock is not ours: nothing written.
    Deposed,
}

/// Enqueues `payload` to `queue` for the run of schedule `name` at `slot`.
pub(crate) fn fire(
    client: &Client,
    lock: &MasterLock,
    name: &str,
    slot: Timestamp,
    queue: &str,
    payload: &str,
) -> Result<Fired> {
    let keys = client.keys();
    let reply: i64 = client.with_conn(|conn| {
        FIRE.call()
            .key("lock", &lock.key)
            .key("last", keys.last_enqueued_at())
            .key("queues", keys.queues())
            .key("queue", keys.queue(queue))
            .arg("value", &lock.value)
            .arg("name", name)
            .arg("slot", slot.as_second())
            .arg("slot_text", crate::payload::time::started(slot))
            .arg("queue", queue)
            .arg("payload", payload)
            .arg("channel", keys.wake_channel())
            .invoke(conn)
    })?;
    Ok(match reply {
        1 => Fired::Enqueued,
        0 => Fired::Already,
        _ => Fired::Deposed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_redis::*;

    const LAST: &str = "resque:delayed:last_enqueued_at";
    const PAYLOAD: &str = r#"{"class":"Tick","args":[1]}"#;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// Fires `name`'s slot at `at` to queue `q` as the holder of `lock`.
    fn fire_at(client: &Client, lock: &MasterLock, name: &str, at: &str) -> Fired {
        fire(client, lock, name, ts(at), "q", PAYLOAD).unwrap()
    }

    #[test]
    fn a_slot_is_enqueued_once_and_recorded_as_ruby_writes_it() {
        let (mut r, client) = TestRedis::start_with_client();
        let lock = super::super::lock::test_leader(&client);
        let mut wake = r.subscribe("resque:wake");
        let slot = ts("2026-12-01T21:21:54Z");
        assert_eq!(fire_at(&client, &lock, "tick", "2026-12-01T21:21:54Z"), Fired::Enqueued);
        assert_eq!(r.texts("resque:queue:q"), [PAYLOAD]);
        assert!(r.members("resque:queues").contains(b"q".as_slice()));
        let last = r.hash(LAST);
        let written = &last["tick"];
        assert!(written.starts_with("2026-12-01 ") && written.len() == 25, "{written}");
        assert_eq!(crate::payload::time::parse_any(written), Some(slot));
        assert_eq!(wake.messages(), ["q"]);
        // The same slot again, or an earlier one: nothing.
        assert_eq!(fire_at(&client, &lock, "tick", "2026-12-01T21:21:54Z"), Fired::Already);
        assert_eq!(fire_at(&client, &lock, "tick", "2026-12-01T21:21:00Z"), Fired::Already);
        assert_eq!(r.texts("resque:queue:q").len(), 1);
        // The next slot: enqueued.
        assert_eq!(fire_at(&client, &lock, "tick", "2026-12-01T21:21:55Z"), Fired::Enqueued);
        assert_eq!(r.texts("resque:queue:q").len(), 2);
    }

    #[test]
    fn a_run_recorded_by_ruby_in_another_offset_counts() {
        let (mut r, client) = TestRedis::start_with_client();
        let lock = super::super::lock::test_leader(&client);
        // (recorded last run, slot, outcome), each on a fresh schedule name.
        let cases = [
            // 21:21:54 UTC as a Ruby scheduler in Berlin, and in New York, writes it.
            ("2026-12-01 22:21:54 +0100", "2026-12-01T21:21:54Z", Fired::Already),
            ("2026-12-01 16:21:54 -0500", "2026-12-01T21:21:54Z", Fired::Already),
            ("2026-12-01 22:21:54 +0100", "2026-12-01T21:21:55Z", Fired::Enqueued),
            // Unreadable: the slot runs.
            ("yesterday", "2026-12-01T21:21:54Z", Fired::Enqueued),
            // Around a leap day.
            ("2028-02-29 23:59:59 +0000", "2028-02-29T23:59:59Z", Fired::Already),
            ("2028-02-29 23:59:59 +0000", "2028-03-01T00:00:00Z", Fired::Enqueued),
        ];
        for (i, (last, slot, outcome)) in cases.into_iter().enumerate() {
            let name = format!("s{i}");
            r.exec(&["HSET", LAST, &name, last]);
            assert_eq!(fire_at(&client, &lock, &name, slot), outcome, "last {last}, slot {slot}");
        }
    }

    #[test]
    fn a_deposed_leader_fires_nothing() {
        let (mut r, client) = TestRedis::start_with_client();
        let lock = super::super::lock::test_leader(&client);
        r.exec(&["SET", &lock.key, "rubyhost:7"]);
        let before = r.keys();
        assert_eq!(fire_at(&client, &lock, "tick", "2026-12-01T21:21:54Z"), Fired::Deposed);
        assert_eq!(r.keys(), before);
    }
}
