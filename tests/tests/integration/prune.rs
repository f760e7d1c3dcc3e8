//! Pruning that never doubles a job: a pass working from a stale list of
//! workers, a dead worker of ours that Ruby unregistered, live workers of
//! this host with an old heartbeat, a Redis outage, Ruby's failure names,
//! and ids and records that are not UTF-8.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use resque_tests::jobs::slow_record;
use resque_tests::{cmdline, eventually, lines, wait_for_exit, worker_id, Reaped, TestRedis};
use serde_json::json;

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);
const OLD_BEAT: &str = "2020-01-01T00:00:00+00:00";

fn spawn(redis: &TestRedis, args: &[&str]) -> Reaped {
    Reaped::spawn(worker(redis).args(args).stdout(Stdio::null()).stderr(Stdio::null()))
}

fn quit(child: &mut Reaped) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT).unwrap();
    assert!(wait_for_exit(child, LIMIT).unwrap().success());
}

/// An `inflight:<id>` entry as the fetch script writes it.
fn entry(queue: &str, payload: &str) -> String {
    json!({"queue": queue, "payload": payload}).to_string()
}

/// One pass of pruning, as `resque-cli prune` runs it (the lock cleared
/// first, so that it runs now).
fn prune(redis: &TestRedis, heartbeat_interval: Duration) -> resque::worker::Pruned {
    let _: () = redis.conn().del("resque:pruning_dead_workers_in_progress").unwrap();
    redis.client().prune_dead_workers(heartbeat_interval).unwrap().expect("the pruning lock was free")
}

fn is_member(redis: &TestRedis, id: &[u8]) -> bool {
    redis.conn().sismember("resque:workers", id).unwrap()
}

/// A pass reads `workers` once, at its start. A worker that registers while
/// the pass goes through thousands of dead workers, and takes a job, keeps
/// it: the job stays in its in-flight list (not put back to run a second
/// time), nothing is failed, and the pass recovers exactly the dead
/// workers' jobs.
#[test]
fn a_pass_never_takes_the_jobs_of_a_worker_registering_meanwhile() {
    const DEAD: usize = 3000;
    const ORPHANS: usize = 3000;
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let mut pipe = redis::pipe();
    for i in 0..DEAD {
        let id = format!("elsewhere:{i}:slow");
        pipe.sadd("resque:workers", &id).ignore();
        pipe.hset("resque:workers:heartbeat", &id, OLD_BEAT).ignore();
        let job = format!(r#"{{"class":"Record","args":["/dev/null","dead {i}"]}}"#);
        pipe.rpush(format!("resque:inflight:{id}"), entry("dead", &job)).ignore();
    }
    for i in 0..ORPHANS {
        let job = format!(r#"{{"class":"Record","args":["/dev/null","orphan {i}"]}}"#);
        pipe.rpush(format!("resque:inflight:gone:{i}:slow"), entry("dead", &job)).ignore();
    }
    let () = pipe.query(&mut conn).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Longer than any pass: it is still running when the pass ends.
    slow_record::enqueue_to(&redis.client(), out.to_str().unwrap(), 600_000, "once").unwrap();

    let client = redis.client();
    let pass = std::thread::spawn(move || client.prune_dead_workers(Duration::from_secs(60)));
    let live = spawn(&redis, &["work", "-i", "0.05", "-q", "slow"]);
    assert!(eventually(LIMIT, || lines(&out) == ["start once"]), "{:?}", lines(&out));
    assert!(!pass.is_finished(), "the pass ended before the worker took its job: nothing raced");
    let pruned = pass.join().unwrap().unwrap().expect("the pass held the lock");

    assert_eq!(pruned.workers.len(), DEAD);
    assert_eq!(pruned.recovered.requeued, DEAD + ORPHANS, "exactly the dead workers' jobs");
    assert_eq!(redis.client().size("dead").unwrap(), (DEAD + ORPHANS) as u64);
    assert_eq!(redis.client().size("slow").unwrap(), 0, "the running job was not put back");
    let live_id = worker_id(live.id(), "slow");
    let held = redis.lrange(&format!("resque:inflight:{live_id}"));
    assert_eq!(held.len(), 1, "the live worker's job is still in its in-flight list: {held:?}");
    assert!(redis.failures().is_empty(), "{:#?}", redis.failures());
    assert_eq!(redis.workers(), [live_id]);
    assert_eq!(lines(&out), ["start once"]);
}

/// A Ruby worker that prunes a dead resque-rs worker fails the job its
/// `worker:<id>` names (Ruby re-encodes the payload) and deletes its keys,
/// but knows nothing of `inflight:<id>`. That job ends as the one failure;
/// the job it had taken ahead goes back to its queue; neither is doubled.
#[test]
fn a_job_ruby_failed_when_it_unregistered_our_dead_worker_is_not_requeued() {
    for (list, exception, error) in [
        ("resque:failed", "Resque::DirtyExit", "Job still being processed"),
        (
            "resque:slow_failed",
            "Resque::PruneDeadWorkerDirtyExit",
            "Worker elsewhere:7:slow did not gracefully exit while processing SlowRecord",
        ),
    ] {
        let redis = TestRedis::start();
        let mut conn = redis.conn();
        let id = "elsewhere:7:slow";
        let running = r#"{"class":"SlowRecord","args":["/dev/null",1,"running"]}"#;
        let ahead = r#"{"class":"SlowRecord","args":["/dev/null",1,"ahead"]}"#;
        // What our worker left when it was killed: both jobs in flight, the
        // running one first and named by its record.
        let _: () = conn
            .rpush(format!("resque:inflight:{id}"), vec![entry("slow", running), entry("slow", ahead)])
            .unwrap();
        // Ruby's unregister_worker: job.fail(...) with the payload decoded and
        // encoded again (here with a space, as another encoder may write it),
        // then SREM workers, DEL worker:<id> and :started, HDEL heartbeat.
        let ruby_entry = json!({
            "failed_at": "2026/12/01 21:00:00 UTC",
            "payload": {"class": "SlowRecord", "args": ["/dev/null", 1, "running"]},
            "exception": exception,
            "error": error,
            "backtrace": [],
            "worker": id,
            "queue": "slow",
        });
        let _: () = conn.rpush(list, serde_json::to_string_pretty(&ruby_entry).unwrap()).unwrap();

        let pruned = prune(&redis, Duration::from_secs(60));
        assert_eq!(pruned.recovered.dropped, 1, "{list}");
        assert_eq!(pruned.recovered.requeued, 1, "{list}");
        assert_eq!(redis.lrange("resque:queue:slow"), [ahead], "{list}: only the job taken ahead goes back");
        assert!(redis.inflight_keys().is_empty());
        assert_eq!(redis.lrange(list).len(), 1, "{list}: Ruby's failure stays the only one");
    }

    // Only an unregister's failure counts: one our worker recorded for an
    // earlier job with the same payload (its child killed by a signal) does
    // not make a job still in flight count as failed.
    {
        let redis = TestRedis::start();
        let mut conn = redis.conn();
        let id = "elsewhere:8:slow";
        let job = r#"{"class":"SlowRecord","args":["/dev/null",1,"twin"]}"#;
        let _: () = conn.rpush(format!("resque:inflight:{id}"), entry("slow", job)).unwrap();
        let earlier = json!({
            "failed_at": "2026/12/01 21:00:00 UTC",
            "payload": {"class": "SlowRecord", "args": ["/dev/null", 1, "twin"]},
            "exception": "Resque::DirtyExit",
            "error": "Child process received unhandled signal SIGKILL (9)",
            "backtrace": [],
            "worker": id,
            "queue": "slow",
        });
        let _: () = conn.rpush("resque:failed", earlier.to_string()).unwrap();
        let pruned = prune(&redis, Duration::from_secs(60));
        assert_eq!((pruned.recovered.requeued, pruned.recovered.dropped), (1, 0));
        assert_eq!(redis.lrange("resque:queue:slow"), [job]);
    }
}

/// A worker of this host whose process is alive and titled as a worker is
/// not dead, however old its heartbeat (it could not reach Redis for a
/// while); once its process is gone it is pruned, and the job its record
/// names is failed as Ruby's plain `unregister_worker` fails it.
#[test]
fn a_live_worker_of_this_host_with_an_expired_heartbeat_is_not_pruned() {
    let redis = TestRedis::start();
    let mut ruby = Reaped::spawn(
        std::process::Command::new("bash").args(["-c", "exec -a 'resque-3.0.0: Waiting for slow' sleep 600"]),
    );
    assert!(eventually(LIMIT, || cmdline(ruby.id()).starts_with("resque-3.0.0: Waiting")));
    let id = worker_id(ruby.id(), "slow");
    let mut conn = redis.conn();
    let _: () = conn.sadd("resque:workers", &id).unwrap();
    let _: () = conn.hset("resque:workers:heartbeat", &id, OLD_BEAT).unwrap();
    let record = r#"{"queue":"slow","run_at":"2026-12-01T21:00:00Z","payload":{"class":"Mail","args":[1]}}"#;
    let _: () = conn.set(format!("resque:worker:{id}"), record).unwrap();

    let pruned = prune(&redis, Duration::from_secs(1));
    assert!(pruned.workers.is_empty(), "{pruned:?}");
    assert_eq!(redis.workers(), std::slice::from_ref(&id));
    assert!(redis.failures().is_empty());

    ruby.kill().unwrap();
    ruby.wait().unwrap();
    let pruned = prune(&redis, Duration::from_secs(1));
    assert_eq!(pruned.workers, std::slice::from_ref(&id));
    let f = redis.failures();
    assert_eq!(f.len(), 1, "{f:#?}");
    // Its heartbeat expired too, so Ruby's first rule names the failure.
    assert_eq!(f[0]["exception"], "Resque::PruneDeadWorkerDirtyExit");
    assert_eq!(f[0]["error"], format!("Worker {id} did not gracefully exit while processing Mail"));
}

/// Ruby's two rules name two failures: an expired heartbeat is
/// `PruneDeadWorkerDirtyExit` with the whole worker id and the job's class;
/// a worker of this host whose process is gone (heartbeat still fresh) is a
/// plain `unregister_worker`: `DirtyExit`, "Job still being processed".
#[test]
fn a_pruned_ruby_workers_job_is_failed_as_ruby_fails_it() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let expired = "vm:5631:f_q4";
    // A pid of this host that is no process: the same-host rule.
    let gone = worker_id(u32::MAX - 1, "f_q4");
    let now: (i64, i64) = redis::cmd("TIME").query(&mut conn).unwrap();
    for (id, beat) in
        [(expired.to_string(), OLD_BEAT.to_string()), (gone.clone(), resque::payload::time::heartbeat(now.0))]
    {
        let _: () = conn.sadd("resque:workers", &id).unwrap();
        let _: () = conn.hset("resque:workers:heartbeat", &id, beat).unwrap();
        let record =
            r#"{"queue":"f_q4","run_at":"2026-12-01T21:00:00Z","payload":{"class":"Mail","args":[1]}}"#;
        let _: () = conn.set(format!("resque:worker:{id}"), record).unwrap();
    }
    let pruned = prune(&redis, Duration::from_secs(60));
    assert_eq!(pruned.workers.len(), 2, "{pruned:?}");
    let f = redis.failures();
    assert_eq!(f.len(), 2, "{f:#?}");
    let of = |id: &str| {
        f.iter().find(|e| e["worker"] == id).unwrap_or_else(|| panic!("no failure of {id}: {f:#?}"))
    };
    assert_eq!(of(expired)["exception"], "Resque::PruneDeadWorkerDirtyExit");
    assert_eq!(of(expired)["error"], "Worker vm:5631:f_q4 did not gracefully exit while processing Mail");
    assert_eq!(of(&gone)["exception"], "Resque::DirtyExit");
    assert_eq!(of(&gone)["error"], "Job still being processed");
    assert_eq!(of(&gone)["payload"], json!({"class": "Mail", "args": [1]}));
    assert!(redis.workers().is_empty());
}

/// A worker id or a `worker:<id>` record that is not UTF-8 stops nothing:
/// such dead workers are pruned, their jobs recovered or failed, and the
/// other dead workers pruned too.
#[test]
fn ids_and_records_that_are_not_utf8_are_pruned() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let bad_id: &[u8] = b"elsewhere:9:caf\xe9";
    let bad_record_id = "elsewhere:10:slow";
    let plain = "elsewhere:11:slow";
    for id in [bad_id, bad_record_id.as_bytes(), plain.as_bytes()] {
        let _: () = conn.sadd("resque:workers", id).unwrap();
        let _: () = conn.hset("resque:workers:heartbeat", id, OLD_BEAT).unwrap();
    }
    let job = r#"{"class":"SlowRecord","args":["/dev/null",1,"bytes"]}"#;
    let mut key = b"resque:inflight:".to_vec();
    key.extend_from_slice(bad_id);
    let _: () = conn.rpush(&key, entry("slow", job)).unwrap();
    let record: &[u8] = b"{\"queue\":\"slow\",\"run_at\":\"2020-01-01T00:00:00Z\",\"payload\":{\"class\":\"Echo\",\"args\":[\"caf\xe9\"]}}";
    let _: () = conn.set(format!("resque:worker:{bad_record_id}"), record).unwrap();
    let orphan_key: &[u8] = b"resque:inflight:gone:1:caf\xe9";
    let orphan = r#"{"class":"SlowRecord","args":["/dev/null",1,"orphan"]}"#;
    let _: () = conn.rpush(orphan_key, entry("slow", orphan)).unwrap();

    let pruned = prune(&redis, Duration::from_secs(60));
    assert_eq!(pruned.workers.len(), 3, "{pruned:?}");
    let members: Vec<Vec<u8>> = conn.smembers("resque:workers").unwrap();
    assert!(members.is_empty(), "{members:?}");
    let mut queued = redis.lrange("resque:queue:slow");
    queued.sort();
    assert_eq!(queued, [job, orphan]);
    let f = redis.failures();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["worker"], bad_record_id);
    assert_eq!(f[0]["payload"]["class"], "Echo");
    let beats: Vec<Vec<u8>> = conn.hkeys("resque:workers:heartbeat").unwrap();
    assert!(beats.is_empty(), "{beats:?}");
    assert!(!is_member(&redis, bad_id));
}

/// After a Redis outage longer than the expiry, every heartbeat is old. A
/// worker whose own beats have just landed again does not take a live
/// worker of another host for dead before that one could beat again.
#[test]
fn a_redis_outage_does_not_make_live_workers_dead() {
    let mut redis = TestRedis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let remote = "elsewhere:12:slow";
    let beat = |redis: &TestRedis| {
        let mut conn = redis.conn();
        let now: (i64, i64) = redis::cmd("TIME").query(&mut conn).unwrap();
        let _: () = conn.sadd("resque:workers", remote).unwrap();
        let _: () =
            conn.hset("resque:workers:heartbeat", remote, resque::payload::time::heartbeat(now.0)).unwrap();
    };
    beat(&redis);
    let mut pruner = spawn(&redis, &["work", "-i", "0.05", "-q", "slow", "--heartbeat-interval", "1"]);
    assert!(eventually(LIMIT, || redis.workers().len() == 2));
    redis.stop();
    // More than five heartbeat intervals without a beat from anyone.
    std::thread::sleep(Duration::from_secs(7));
    redis.restart();
    // The remote worker beats again one interval and a half after Redis is
    // back, as a live worker beating once a second may.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(is_member(&redis, remote.as_bytes()), "pruned before it could beat again");
    beat(&redis);
    std::thread::sleep(Duration::from_secs(3));
    assert!(is_member(&redis, remote.as_bytes()), "pruned though it beats");
    quit(&mut pruner);
}
