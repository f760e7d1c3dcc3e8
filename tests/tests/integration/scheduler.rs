//! The scheduler as a real process (`test-worker scheduler`): delayed items
//! written as Ruby and as node-resque write them are promoted on their due
//! second and tidied; two schedulers share one `every: 1s` schedule, each
//! slot enqueued once, and the survivor takes over a SIGKILLed leader; a
//! leader killed mid-promotion loses and doubles nothing; TERM releases the
//! lock.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::{eventually, wait_for_exit, Reaped, TestRedis};

use super::worker;

const LOCK: &str = "resque:resque:resque_scheduler_master_lock";
const SCHEDULE: &str = "resque:delayed_queue_schedule";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Delays `item` at `ts` with the commands Ruby's resque-scheduler (and
/// node-resque) send.
fn delay(conn: &mut redis::Connection, ts: i64, item: &str) {
    let _: () = redis::pipe()
        .cmd("RPUSH")
        .arg(format!("resque:delayed:{ts}"))
        .arg(item)
        .cmd("SADD")
        .arg(format!("resque:timestamps:{item}"))
        .arg(format!("delayed:{ts}"))
        .cmd("ZADD")
        .arg(SCHEDULE)
        .arg(ts)
        .arg(ts)
        .query(conn)
        .unwrap();
}

fn scheduler(redis: &TestRedis, extra: &[&str]) -> Reaped {
    let mut cmd = worker(redis);
    cmd.arg("scheduler").args(extra).stdout(Stdio::null()).stderr(Stdio::null());
    Reaped::spawn(&mut cmd)
}

/// The pid whose `<host>:<pid>` is in the lock.
fn lock_pid(conn: &mut redis::Connection) -> Option<u32> {
    let value: Option<String> = conn.get(LOCK).unwrap();
    value?.rsplit_once(':')?.1.parse().ok()
}

fn llen(conn: &mut redis::Connection, key: &str) -> i64 {
    conn.llen(key).unwrap()
}

#[test]
fn ruby_and_node_items_are_promoted_on_their_second_and_tidied_and_term_releases_the_lock() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let mut s = scheduler(&redis, &[]);
    assert!(
        eventually(Duration::from_secs(5), || lock_pid(&mut conn) == Some(s.id())),
        "the scheduler leads"
    );
    let ruby = r#"{"class":"Archive","args":[45,"ruby"],"queue":"file_serve"}"#;
    let node = r#"{"class":"Archive","queue":"file_serve","args":[46,"node"]}"#;
    let due = now_ms() / 1000 + 2;
    delay(&mut conn, due, ruby);
    delay(&mut conn, due + 1, node);
    // Polled every millisecond: when the first lands, against its due second.
    let deadline = Instant::now() + Duration::from_secs(6);
    while llen(&mut conn, "resque:queue:file_serve") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let lag = now_ms() - due * 1000;
    eprintln!("promotion lag of a Ruby item due in 2 s: {lag} ms");
    assert!((-5..=1000).contains(&lag), "promoted {lag} ms after its due second");
    assert!(eventually(Duration::from_secs(4), || llen(&mut conn, "resque:queue:file_serve") == 2));
    assert_eq!(
        redis.lrange("resque:queue:file_serve"),
        [r#"{"class":"Archive","args":[45,"ruby"]}"#, r#"{"class":"Archive","args":[46,"node"]}"#]
    );
    let left: i64 = redis::cmd("EXISTS")
        .arg(format!("resque:delayed:{due}"))
        .arg(format!("resque:delayed:{}", due + 1))
        .arg(format!("resque:timestamps:{ruby}"))
        .arg(format!("resque:timestamps:{node}"))
        .query(&mut conn)
        .unwrap();
    assert_eq!(left, 0, "buckets and timestamps sets are gone");
    assert_eq!(conn.zcard::<_, i64>(SCHEDULE).unwrap(), 0);
    assert!(conn.sismember::<_, _, bool>("resque:queues", "file_serve").unwrap());

    kill(Pid::from_raw(s.id() as i32), Signal::SIGTERM).unwrap();
    let status = wait_for_exit(&mut s, Duration::from_secs(5)).expect("stops on TERM");
    assert!(status.success(), "{status}");
    assert_eq!(conn.get::<_, Option<String>>(LOCK).unwrap(), None, "TERM released the lock");
}

#[test]
fn two_schedulers_enqueue_each_slot_once_and_the_survivor_takes_over() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "tick:\n  every: \"1s\"\n  class: Archive\n  queue: ticks\n  args: [1, \"tick\"]\n")
        .unwrap();
    let path = file.path().to_str().unwrap().to_string();
    let mut a = scheduler(&redis, &["--schedule", &path]);
    let mut b = scheduler(&redis, &["--schedule", &path]);
    // Each run's arrival, sampled every 5 ms.
    let mut arrivals: Vec<i64> = Vec::new();
    let watch = |conn: &mut redis::Connection, arrivals: &mut Vec<i64>, for_ms: u64| {
        let end = Instant::now() + Duration::from_millis(for_ms);
        while Instant::now() < end {
            let n = llen(conn, "resque:queue:ticks") as usize;
            while arrivals.len() < n {
                arrivals.push(now_ms());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let started = now_ms();
    watch(&mut conn, &mut arrivals, 4500);
    let both = arrivals.len();
    assert!((3..=6).contains(&both), "{both} runs in 4.5 s with two schedulers");
    let leader = lock_pid(&mut conn).expect("one leads");
    assert!(leader == a.id() || leader == b.id());
    let (dead, survivor) = if leader == a.id() { (&mut a, &mut b) } else { (&mut b, &mut a) };
    dead.kill().unwrap();
    dead.wait().unwrap();
    let killed = now_ms();
    watch(&mut conn, &mut arrivals, 6000);
    let after: Vec<i64> = arrivals.iter().copied().filter(|t| *t > killed).collect();
    assert!(!after.is_empty(), "no run within 6 s of the leader's SIGKILL");
    eprintln!("first run {} ms after the leader's SIGKILL", after[0] - killed);
    assert!(after.len() >= 3, "only {} runs in the 6 s after the takeover", after.len());
    assert_eq!(lock_pid(&mut conn), Some(survivor.id()));
    // While both ran, one a second. (After the takeover the slot missed
    // during it runs at once, then the next on time: those two may be close.)
    let before: Vec<i64> = arrivals.iter().copied().filter(|t| *t < killed).collect();
    let gaps: Vec<i64> = before.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= 300), "two runs close together (a slot enqueued twice): {gaps:?}");
    let span_s = (now_ms() - started) as f64 / 1000.0;
    assert!((arrivals.len() as f64) <= span_s + 1.0, "{} runs in {span_s} s", arrivals.len());
    let last: Option<String> = conn.hget("resque:delayed:last_enqueued_at", "tick").unwrap();
    let last = last.expect("last_enqueued_at recorded");
    // Ruby's Time#to_s: "2026-12-01 21:21:54 +0000".
    let shape = last.len() == 25 && last.as_bytes()[10] == b' ' && last.as_bytes()[19] == b' ';
    assert!(shape && (last.contains(" +") || last.contains(" -")), "{last}");
    assert!(redis
        .lrange("resque:queue:ticks")
        .iter()
        .all(|p| p == r#"{"class":"Archive","args":[1,"tick"]}"#));
}

#[test]
fn a_leader_killed_mid_promotion_loses_and_doubles_nothing() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let n = 30_000;
    let due = now_ms() / 1000 - 1;
    let mut pipe = redis::pipe();
    for i in 0..n {
        let item = format!(r#"{{"class":"Archive","args":[{i},"bulk"],"queue":"bulk"}}"#);
        pipe.cmd("RPUSH").arg(format!("resque:delayed:{due}")).arg(&item).ignore();
        pipe.cmd("SADD").arg(format!("resque:timestamps:{item}")).arg(format!("delayed:{due}")).ignore();
    }
    pipe.cmd("ZADD").arg(SCHEDULE).arg(due).arg(due).ignore();
    pipe.query::<()>(&mut conn).unwrap();
    let mut first = scheduler(&redis, &[]);
    assert!(eventually(Duration::from_secs(5), || llen(&mut conn, "resque:queue:bulk") > 0));
    first.kill().unwrap();
    first.wait().unwrap();
    let moved = llen(&mut conn, "resque:queue:bulk");
    eprintln!("{moved} of {n} promoted when the leader was killed");
    let _second = scheduler(&redis, &[]);
    assert!(eventually(Duration::from_secs(10), || conn.zcard::<_, i64>(SCHEDULE).unwrap() == 0), "finished");
    let queued = redis.lrange("resque:queue:bulk");
    assert_eq!(queued.len(), n, "each item once");
    let distinct: std::collections::HashSet<&String> = queued.iter().collect();
    assert_eq!(distinct.len(), n);
    let keys: Vec<String> = redis::cmd("KEYS").arg("resque:timestamps:*").query(&mut conn).unwrap();
    assert!(keys.is_empty(), "{} timestamps sets left", keys.len());
}

#[test]
fn work_with_scheduler_runs_a_scheduler_child_that_stops_with_the_worker() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut cmd = worker(&redis);
    cmd.env("TEST_OUT", &out).args(["work", "-q", "file_serve", "-i", "0.1", "--scheduler"]);
    let mut w = Reaped::spawn(cmd.stdout(Stdio::null()).stderr(Stdio::null()));
    assert!(eventually(Duration::from_secs(5), || lock_pid(&mut conn).is_some()), "a scheduler leads");
    let child = lock_pid(&mut conn).unwrap();
    assert_ne!(child, w.id());
    let ppid = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap();
    let ppid: u32 = ppid[ppid.rfind(')').unwrap() + 1..].split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(ppid, w.id(), "the scheduler is the worker's child");
    let due = now_ms() / 1000 + 1;
    delay(&mut conn, due, r#"{"class":"Archive","args":[7,"later"],"queue":"file_serve"}"#);
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read_to_string(&out)
            .is_ok_and(|s| s == "archive 7 later\n")),
        "the delayed job ran"
    );
    kill(Pid::from_raw(w.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut w, Duration::from_secs(15)).is_some_and(|s| s.success()));
    assert_eq!(conn.get::<_, Option<String>>(LOCK).unwrap(), None, "the scheduler released its lock");
    assert!(!std::path::Path::new(&format!("/proc/{child}")).exists(), "the scheduler exited and was reaped");
}

#[test]
fn the_scheduler_outlives_redis_going_away_and_promotes_when_it_is_back() {
    let mut redis = TestRedis::start();
    let mut s = scheduler(&redis, &[]);
    assert!(eventually(Duration::from_secs(5), || lock_pid(&mut redis.conn()) == Some(s.id())));
    redis.stop();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(s.try_wait().unwrap().is_none(), "the scheduler exited while Redis was away");
    redis.restart();
    let mut conn = redis.conn();
    delay(&mut conn, now_ms() / 1000, r#"{"class":"Archive","args":[8,"back"],"queue":"file_serve"}"#);
    assert!(
        eventually(Duration::from_secs(8), || llen(&mut conn, "resque:queue:file_serve") == 1),
        "promoted once Redis is back"
    );
    assert_eq!(lock_pid(&mut conn), Some(s.id()));
}

/// A schedule declared with `#[resque::job(cron = ...)]` is one of the
/// scheduler's static schedules, named after its class, on its queue, with
/// its typed args, next due as its cron and zone say.
#[test]
fn schedules_declared_on_jobs_are_the_schedulers_own() {
    let redis = TestRedis::start();
    let scheduler = resque::scheduler::Scheduler::new(redis.client(), Default::default()).unwrap();
    let schedules = scheduler.schedules().unwrap();
    let yearly = schedules.iter().find(|s| s.entry.name == "Yearly").expect("the declared schedule");
    assert!(!yearly.dynamic);
    assert_eq!(yearly.entry.class, "Yearly");
    assert_eq!(yearly.entry.queue.as_deref(), Some("yearly"));
    assert_eq!(yearly.entry.args, [serde_json::json!("new year")]);
    let next = yearly.next_run.expect("a next run").to_string();
    assert!(next.ends_with("-01-01T00:00:00Z"), "{next}");
}
