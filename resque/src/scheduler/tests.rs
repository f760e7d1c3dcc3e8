//! The scheduler's look ([`Scheduler::run_once`]) against a real Redis:
//! only the leader acts, it sleeps until the next due second, a schedule's
//! slot is enqueued once across a leader change, catch-up, and dynamic
//! schedules loaded and reloaded.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::*;
use crate::test_redis::*;

const LAST: &str = "resque:delayed:last_enqueued_at";

/// A scheduler whose lock value is `value` (two in one process differ so).
fn scheduler(client: &Client, value: &str, schedules: Vec<ScheduleEntry>, check: Duration) -> Scheduler {
    let lock_ttl = (check * 3).max(Duration::from_secs(3));
    let options =
        SchedulerOptions { schedules, check_interval: check, lock_ttl, ..SchedulerOptions::default() };
    let mut s = Scheduler::new(client.clone(), options).unwrap();
    s.lock.value = value.into();
    s
}

fn entry(name: &str, config: serde_json::Value) -> ScheduleEntry {
    ScheduleEntry::from_config(name, &config).unwrap()
}

fn delay(r: &mut TestRedis, ts: i64, item: &str) {
    r.exec(&["RPUSH", &format!("resque:delayed:{ts}"), item]);
    r.exec(&["SADD", &format!("resque:timestamps:{item}"), &format!("delayed:{ts}")]);
    r.exec(&["ZADD", "resque:delayed_queue_schedule", &ts.to_string(), &ts.to_string()]);
}

#[test]
fn only_the_leader_promotes_and_it_sleeps_until_the_next_due_second() {
    let (mut r, client) = TestRedis::start_with_client();
    let now = Timestamp::now().as_second();
    delay(&mut r, now - 1, r#"{"class":"A","args":[1],"queue":"q"}"#);
    delay(&mut r, now + 2, r#"{"class":"A","args":[2],"queue":"q"}"#);
    let mut a = scheduler(&client, "host:1", Vec::new(), Duration::from_secs(60));
    let mut b = scheduler(&client, "host:2", Vec::new(), Duration::from_secs(60));
    let tick = a.run_once().unwrap();
    assert!(tick.leading && a.is_leader());
    assert_eq!(tick.promoted, 1);
    let until = Timestamp::from_second(now + 2).unwrap().duration_since(Timestamp::now());
    let slack = (SignedDuration::try_from(tick.wait).unwrap() - until).abs();
    assert!(slack < SignedDuration::from_millis(50), "sleeps {:?}, due in {until:?}", tick.wait);
    let other = b.run_once().unwrap();
    assert_eq!((other.leading, other.promoted), (false, 0));
    assert_eq!(other.wait, Duration::from_secs(60));
    assert_eq!(r.texts("resque:queue:q"), [r#"{"class":"A","args":[1]}"#]);
    assert_eq!(a.promote_due().unwrap(), 0, "the other is not due yet");
    assert_eq!(b.promote_due().unwrap(), 0);
}

#[test]
fn a_slot_is_enqueued_once_across_a_leader_change() {
    let (mut r, client) = TestRedis::start_with_client();
    let tick = || entry("tick", json!({"every": "1s", "class": "Tick", "queue": "t", "args": {"n": 1}}));
    let check = Duration::from_millis(100);
    let mut a = scheduler(&client, "host:1", vec![tick()], check);
    let mut b = scheduler(&client, "host:2", vec![tick()], check);
    let run_until_enqueued = |s: &mut Scheduler| {
        for _ in 0..40 {
            let t = s.run_once().unwrap();
            if t.enqueued > 0 {
                return t;
            }
            std::thread::sleep(t.wait);
        }
        panic!("nothing enqueued in 4 s");
    };
    run_until_enqueued(&mut a);
    assert_eq!(b.run_once().unwrap().enqueued, 0);
    assert_eq!(r.texts("resque:queue:t"), [r#"{"class":"Tick","args":[{"n":1}]}"#]);
    let first = crate::payload::time::parse_any(&r.hash(LAST)["tick"]).unwrap();
    assert_eq!(first.subsec_nanosecond(), 0, "on a whole second");
    // The leader goes (its lock expires); the other takes over on its grid.
    r.exec(&["DEL", LEADER_LOCK]);
    let t = run_until_enqueued(&mut b);
    assert!(t.leading);
    let second = crate::payload::time::parse_any(&r.hash(LAST)["tick"]).unwrap();
    assert_eq!(second.subsec_nanosecond(), 0, "on the grid of the first");
    assert!(second > first);
    assert_eq!(r.texts("resque:queue:t").len(), 2);
    // The old leader, deposed, writes nothing.
    let old = a.run_once().unwrap();
    assert_eq!((old.leading, old.enqueued), (false, 0));
    assert_eq!(r.texts("resque:queue:t").len(), 2);
    let listed = b.schedules().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].dynamic && listed[0].next_run.is_some_and(|n| n > second));
    assert_eq!(listed[0].last_run.as_deref(), Some(r.hash(LAST)["tick"].as_str()));
}

const LEADER_LOCK: &str = "resque:resque:resque_scheduler_master_lock";

#[test]
fn catch_up_runs_one_missed_slot_after_downtime() {
    let (mut r, client) = TestRedis::start_with_client();
    let long_ago = crate::payload::time::started(Timestamp::now() - SignedDuration::from_secs(150));
    r.exec(&["HSET", LAST, "late", &long_ago, "plain", &long_ago]);
    let late = entry("late", json!({"every": "60s", "queue": "c", "catch_up": true}));
    let plain = entry("plain", json!({"every": "60s", "queue": "p"}));
    let mut s = scheduler(&client, "host:1", vec![late, plain], Duration::from_millis(100));
    assert_eq!(s.run_once().unwrap().enqueued, 1);
    assert_eq!(r.texts("resque:queue:c"), [r#"{"class":"late","args":[]}"#], "one missed slot, once");
    assert_eq!(r.texts("resque:queue:p").len(), 0, "no catch-up unless asked");
    let recorded = crate::payload::time::parse_any(&r.hash(LAST)["late"]).unwrap();
    let age = Timestamp::now().duration_since(recorded).as_secs();
    assert!((29..=31).contains(&age), "the latest missed slot is recorded: {age} s ago");
    assert_eq!(r.hash(LAST)["plain"], long_ago);
    s.run_once().unwrap();
    assert_eq!(r.texts("resque:queue:c").len(), 1);
}

#[test]
fn dynamic_schedules_are_loaded_and_reloaded_when_changed() {
    let (mut r, client) = TestRedis::start_with_client();
    r.exec(&[
        "HSET",
        "resque:persistent_schedules",
        "dyn",
        r#"{"cron":"0 3 * * * UTC","class":"Dyn","queue":"d"}"#,
    ]);
    r.exec(&["HSET", "resque:persistent_schedules", "broken", "not json"]);
    r.exec(&["SADD", "resque:schedules_changed", "dyn"]);
    let nightly = entry("nightly", json!({"cron": "0 4 * * * UTC", "queue": "n"}));
    let mut s = scheduler(&client, "host:1", vec![nightly], Duration::from_millis(100));
    assert!(s.run_once().unwrap().leading);
    assert!(!r.keys().contains("resque:schedules_changed"), "emptied at load");
    let names = |s: &Scheduler| {
        s.schedules().unwrap().iter().map(|l| (l.entry.name.clone(), l.dynamic)).collect::<Vec<_>>()
    };
    assert_eq!(names(&s), [("nightly".to_string(), false), ("dyn".to_string(), true)]);
    let dyn_next = s.plan.next_of("dyn").unwrap();
    assert_eq!(dyn_next.as_second() % 86400, 3 * 3600);
    // Changed: replanned; removed: gone.
    r.exec(&["HSET", "resque:persistent_schedules", "dyn", r#"{"cron":"30 5 * * * UTC","queue":"d"}"#]);
    r.exec(&["SADD", "resque:schedules_changed", "dyn"]);
    s.run_once().unwrap();
    assert_eq!(s.plan.next_of("dyn").unwrap().as_second() % 86400, 5 * 3600 + 30 * 60);
    r.exec(&["HDEL", "resque:persistent_schedules", "dyn"]);
    r.exec(&["SADD", "resque:schedules_changed", "dyn"]);
    s.run_once().unwrap();
    assert_eq!(s.plan.next_of("dyn"), None);
    assert_eq!(names(&s), [("nightly".to_string(), false)]);
    assert!(!r.keys().contains("resque:schedules_changed"));
}

#[test]
fn schedules_are_listed_and_enqueued_now_without_a_running_scheduler() {
    let (mut r, client) = TestRedis::start_with_client();
    let statics = vec![entry("nightly", json!({"cron": "0 3 * * *", "class": "N", "queue": "reports"}))];
    client.set_schedule("dyn", &json!({"every": "1h", "class": "D", "queue": "q", "args": [1]})).unwrap();
    r.exec(&["HSET", LAST, "dyn", "2026-12-01 21:21:54 +0000"]);
    let listed = schedules(&client, &statics).unwrap();
    let names: Vec<(&str, bool)> = listed.iter().map(|s| (s.entry.name.as_str(), s.dynamic)).collect();
    assert_eq!(names, [("nightly", false), ("dyn", true)]);
    let dynamic = &listed[1];
    assert_eq!(dynamic.last_run.as_deref(), Some("2026-12-01 21:21:54 +0000"));
    let next = dynamic.next_run.unwrap();
    assert!(next > Timestamp::now() && next.as_second() % 3600 == 1_764_624_114 % 3600, "{next}");
    assert!(listed[0].next_run.is_some() && listed[0].last_run.is_none());
    // Enqueue now: the job, once, and the last run untouched.
    assert_eq!(dynamic.entry.enqueue_now(&client).unwrap(), "q");
    assert_eq!(r.texts("resque:queue:q"), [r#"{"class":"D","args":[1]}"#]);
    assert_eq!(r.hash(LAST)["dyn"], "2026-12-01 21:21:54 +0000");
    let nowhere = entry("nowhere", json!({"every": "1h", "class": "Unlinked"}));
    let e = nowhere.enqueue_now(&client).unwrap_err().to_string();
    assert!(e.contains("nowhere") && e.contains("names no queue"), "{e}");
}
