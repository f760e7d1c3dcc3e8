//! An idle worker takes a job the moment any producer pushes it: a bare
//! `RPUSH` (no `PUBLISH`, as Ruby Resque and node-resque push) wakes it
//! long before its interval, in priority order, after a Redis restart too,
//! and waiting costs Redis only a few commands.

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::{cmdline, eventually, lines, wait_for_exit, Reaped, TestRedis};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);
/// Far under the interval the workers here poll at (30 s): only a wait on
/// the list explains a job taken this soon.
const AT_ONCE: Duration = Duration::from_secs(2);

fn idle_worker(redis: &TestRedis, args: &[&str]) -> Reaped {
    idle_worker_at(redis, &redis.url(), args)
}

fn idle_worker_at(redis: &TestRedis, url: &str, args: &[&str]) -> Reaped {
    let child = spawn_worker(redis, url, args);
    went_idle(&child);
    // Past the first wait's setup: the lists are being waited on.
    std::thread::sleep(Duration::from_millis(200));
    child
}

fn spawn_worker(redis: &TestRedis, url: &str, args: &[&str]) -> Reaped {
    let mut cmd = worker(redis);
    cmd.env("RESQUE_REDIS", url).args(args).stdout(Stdio::null()).stderr(Stdio::null());
    Reaped::spawn(&mut cmd)
}

fn went_idle(child: &Reaped) {
    let pid = child.id();
    assert!(eventually(LIMIT, || cmdline(pid).contains("Waiting for")), "the worker went idle");
}

fn stop(mut child: Reaped) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(&mut child, LIMIT).unwrap().success());
}

fn record(out: &std::path::Path, line: &str) -> String {
    format!(r#"{{"class":"Record","args":["{}","{line}"]}}"#, out.display())
}

/// Pushes as a producer that does not publish: `RPUSH` alone.
fn bare_push(redis: &TestRedis, queue: &str, payload: &str) {
    let _: () = redis.conn().rpush(format!("resque:queue:{queue}"), payload).unwrap();
}

fn first_words(out: &std::path::Path) -> Vec<String> {
    lines(out).iter().map(|l| l.split(' ').next().unwrap_or_default().to_string()).collect()
}

#[test]
fn an_idle_worker_takes_a_bare_rpush_at_once() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "record"]);
    for n in 1..=3 {
        let pushed = Instant::now();
        bare_push(&redis, "record", &record(&out, &format!("job{n}")));
        assert!(eventually(AT_ONCE, || lines(&out).len() == n), "job {n} was taken within {AT_ONCE:?}");
        eprintln!("job {n} taken {:?} after its push", pushed.elapsed());
        let pid = child.id();
        assert!(eventually(LIMIT, || cmdline(pid).contains("Waiting for")), "idle again");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(redis.lrange("resque:queue:record"), Vec::<String>::new(), "each job taken once");
    stop(child);
}

#[test]
fn without_blmove_the_wait_is_brpoplpush() {
    // As Redis before 6.2 answers: BLMOVE is an unknown command.
    let redis = TestRedis::start_with(&["--rename-command", "BLMOVE", "BLMOVE_RENAMED"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "record"]);
    bare_push(&redis, "record", &record(&out, "old redis"));
    assert!(eventually(AT_ONCE, || lines(&out).len() == 1), "taken within {AT_ONCE:?}");
    let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut redis.conn()).unwrap();
    assert!(stats.contains("cmdstat_brpoplpush:"), "{stats}");
    stop(child);
}

#[test]
fn a_wildcard_worker_waits_on_the_queues_it_resolved() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let _: () = redis.conn().sadd("resque:queues", "record").unwrap();
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "*"]);
    bare_push(&redis, "record", &record(&out, "star"));
    assert!(eventually(AT_ONCE, || lines(&out).len() == 1), "taken within {AT_ONCE:?}");
    stop(child);
}

#[test]
fn a_worker_on_another_database_waits_on_that_database_s_lists() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let url = redis.url().replace("/0", "/3");
    let child = idle_worker_at(&redis, &url, &["work", "-i", "30", "-q", "record"]);
    let mut db3 = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let _: () = db3.rpush("resque:queue:record", record(&out, "db3")).unwrap();
    assert!(eventually(AT_ONCE, || lines(&out).len() == 1), "taken within {AT_ONCE:?}");
    stop(child);
}

#[test]
fn over_tls_an_idle_worker_takes_bare_and_published_pushes_at_once() {
    let redis = TestRedis::start_tls();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "record"]);
    bare_push(&redis, "record", &record(&out, "bare"));
    assert!(eventually(AT_ONCE, || lines(&out).len() == 1), "a bare push, taken within {AT_ONCE:?}");
    let pid = child.id();
    assert!(eventually(LIMIT, || cmdline(pid).contains("Waiting for")), "idle again");
    std::thread::sleep(Duration::from_millis(200));
    let client = resque::Client::new(&redis.url()).unwrap();
    resque_tests::jobs::record::enqueue_to(&client, out.to_str().unwrap(), "published").unwrap();
    assert!(eventually(AT_ONCE, || lines(&out).len() == 2), "a published push, taken within {AT_ONCE:?}");
    stop(child);
}

#[test]
fn bare_pushes_to_two_queues_are_taken_in_priority_order() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "high,low"]);
    // One transaction: the worker wakes once all four are there.
    let mut pipe = redis::pipe();
    pipe.atomic();
    for q in ["low", "high", "low", "high"] {
        pipe.rpush(format!("resque:queue:{q}"), record(&out, q)).ignore();
    }
    let _: () = pipe.query(&mut redis.conn()).unwrap();
    assert!(
        eventually(Duration::from_secs(10), || lines(&out).len() == 4),
        "all four taken long before the interval"
    );
    assert_eq!(first_words(&out), ["high", "high", "low", "low"]);
    stop(child);
}

#[test]
fn after_a_redis_restart_a_bare_push_is_still_taken_at_once() {
    let mut redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "record"]);
    redis.restart();
    // The worker notices, reconnects its waits and goes idle again.
    std::thread::sleep(Duration::from_secs(2));
    let pushed = Instant::now();
    bare_push(&redis, "record", &record(&out, "after restart"));
    assert!(eventually(Duration::from_secs(10), || lines(&out).len() == 1), "taken long before the interval");
    eprintln!("taken {:?} after its push", pushed.elapsed());
    assert_eq!(redis.lrange("resque:queue:record"), Vec::<String>::new(), "taken once, nothing left");
    assert!(redis.inflight_keys().iter().all(|k| redis.lrange(k).is_empty()), "nothing left in flight");
    stop(child);
}

fn commands_processed(redis: &TestRedis) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(&mut redis.conn()).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_commands_processed in INFO stats")
}

#[test]
fn an_idle_worker_sends_redis_few_commands() {
    let redis = TestRedis::start();
    let child = idle_worker(&redis, &["work", "-i", "5", "-q", "high,low"]);
    std::thread::sleep(Duration::from_secs(1));
    let window = Duration::from_secs(5);
    let before = commands_processed(&redis);
    std::thread::sleep(window);
    // The INFO that reads the second count is counted too.
    let sent = commands_processed(&redis) - before - 1;
    let per_second = sent as f64 / window.as_secs_f64();
    eprintln!("an idle worker on two queues sent {sent} commands in {window:?} ({per_second:.1}/s)");
    assert!(per_second < 2.0, "{sent} commands in {window:?}");
    stop(child);
}

/// The connections open to `redis`, less the one asking.
fn connections(redis: &TestRedis) -> usize {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut redis.conn()).unwrap();
    list.lines().filter(|l| !l.contains("cmd=client|list")).count()
}

fn subscribers(redis: &TestRedis, channel: &str) -> i64 {
    let counts: (String, i64) =
        redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query(&mut redis.conn()).unwrap();
    counts.1
}

#[test]
fn a_worker_on_fixed_queues_holds_no_wake_subscription_and_still_takes_every_push_at_once() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Fixed queues: one connection for its work, one wait per queue, no subscription.
    let wake = redis.client().keys().wake_channel();
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "record,second"]);
    assert_eq!(subscribers(&redis, &wake), 0);
    assert_eq!(connections(&redis), 3, "work + a wait on each of two queues");
    // A resque-rs enqueue (which also publishes) and a bare push, each at once.
    let client = redis.client();
    for (n, queue) in [(1, "record"), (2, "second")] {
        let pushed = Instant::now();
        client.push_raw(queue, &record(&out, &format!("job{n}"))).unwrap();
        assert!(eventually(AT_ONCE, || lines(&out).len() == n), "{queue}: not taken at once");
        eprintln!("{queue}: taken {:?} after the push", pushed.elapsed());
    }
    bare_push(&redis, "second", &record(&out, "job3"));
    assert!(eventually(AT_ONCE, || lines(&out).len() == 3), "a bare push was not taken at once");
    stop(child);

    // A wildcard's queues change: a queue that appears later is announced
    // on the wake channel, so that worker subscribes.
    let child = idle_worker(&redis, &["work", "-i", "30", "-q", "*"]);
    assert_eq!(subscribers(&redis, &wake), 1);
    client.push_raw("brand_new", &record(&out, "job4")).unwrap();
    assert!(eventually(AT_ONCE, || lines(&out).len() == 4), "a push to a new queue was not taken at once");
    stop(child);
}

#[test]
fn a_fleet_of_idle_workers_costs_redis_two_connections_and_under_a_command_a_second_each() {
    const FLEET: usize = 30;
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let fleet: Vec<Reaped> = (0..FLEET)
        .map(|_| spawn_worker(&redis, &redis.url(), &["work", "-i", "5", "-q", "record"]))
        .collect();
    fleet.iter().for_each(went_idle);
    // Each: its work connection and its wait on the one list (`resque-bench
    // idle` counts 1,000 the same way).
    assert!(
        eventually(Duration::from_secs(10), || connections(&redis) == 2 * FLEET),
        "{} connections for {FLEET} idle workers",
        connections(&redis)
    );
    let window = Duration::from_secs(5);
    let before = commands_processed(&redis);
    std::thread::sleep(window);
    let sent = commands_processed(&redis) - before - 1;
    let per_worker = sent as f64 / window.as_secs_f64() / FLEET as f64;
    eprintln!("{FLEET} idle workers sent {sent} commands in {window:?} ({per_worker:.2}/s each)");
    assert!(per_worker < 1.0, "{sent} commands in {window:?}");
    // All of them waiting, a push is taken once, at once.
    bare_push(&redis, "record", &record(&out, "one"));
    assert!(eventually(AT_ONCE, || lines(&out).len() == 1), "not taken at once");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(&out).len(), 1, "taken once");
    for child in fleet {
        stop(child);
    }
}
