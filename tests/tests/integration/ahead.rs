//! Taking jobs ahead never keeps a job waiting behind a long one while
//! another worker is idle: 4 long jobs pushed at once to 4 idle workers run
//! on 4 workers, and a worker that took jobs ahead of a long one (after
//! short jobs) hands them back; forking and `--no-fork`.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use redis::Commands;
use resque_tests::{eventually, lines, scratch, Reaped, TestRedis};

use super::worker;

fn start(redis: &TestRedis, extra: &[&str]) -> Reaped {
    let mut cmd = worker(redis);
    cmd.args(["work", "-i", "0.05", "-q", "long"]).args(extra).stdout(Stdio::null()).stderr(Stdio::null());
    Reaped::spawn(&mut cmd)
}

/// The worker each `start` line ran on: its pid or its parent's, whichever
/// is one of `workers`.
fn ran_on(out: &std::path::Path, workers: &BTreeSet<u32>) -> Vec<u32> {
    lines(out)
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            if f.first() != Some(&"start") {
                return None;
            }
            let pid: u32 = f.get(2)?.parse().ok()?;
            let parent: u32 = f.get(3)?.parse().ok()?;
            [pid, parent].into_iter().find(|p| workers.contains(p))
        })
        .collect()
}

/// Pushes `n` jobs of `millis` in one RPUSH, as any producer may.
fn push_long(redis: &TestRedis, out: &std::path::Path, n: usize, millis: u64, tag: &str) {
    let payloads: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({"class": "LongOn", "args": [out.to_str().unwrap_or_default(), millis, format!("{tag}{i}")]})
                .to_string()
        })
        .collect();
    let _: () = redis.conn().rpush("resque:queue:long", payloads).expect("RPUSH");
}

#[test]
fn four_long_jobs_run_on_four_idle_workers() {
    for mode in [&[][..], &["--no-fork"][..]] {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = scratch(&dir, "out");
        let workers: Vec<Reaped> = (0..4).map(|_| start(&redis, mode)).collect();
        let pids: BTreeSet<u32> = workers.iter().map(|w| w.0.id()).collect();
        assert!(eventually(Duration::from_secs(10), || redis.workers().len() == 4));
        push_long(&redis, &out, 4, 1500, "j");
        assert!(
            eventually(Duration::from_secs(10), || ran_on(&out, &pids).len() == 4),
            "{mode:?}: {:?}",
            lines(&out)
        );
        let used: BTreeSet<u32> = ran_on(&out, &pids).into_iter().collect();
        assert_eq!(used.len(), 4, "{mode:?}: a job waited behind another: {:?}", lines(&out));
    }
}

#[test]
fn a_worker_hands_back_what_it_took_ahead_of_a_long_job() {
    for mode in [&[][..], &["--no-fork"][..]] {
        hands_back(mode);
    }
}

fn hands_back(mode: &[&str]) {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = scratch(&dir, "out");
    let busy = start(&redis, mode);
    assert!(eventually(Duration::from_secs(10), || redis.workers().len() == 1));
    // short jobs, so that it takes jobs ahead; then a long one with others behind it, in one push
    push_long(&redis, &out, 5, 0, "short");
    assert!(eventually(Duration::from_secs(10), || lines(&out)
        .iter()
        .filter(|l| l.starts_with("done short"))
        .count()
        == 5));
    let payloads: Vec<String> = [(3000, "long0"), (0, "behind0"), (0, "behind1")]
        .iter()
        .map(|(ms, line)| {
            serde_json::json!({"class": "LongOn", "args": [out.to_str().unwrap_or_default(), ms, line]})
                .to_string()
        })
        .collect();
    let _: () = redis.conn().rpush("resque:queue:long", payloads).expect("RPUSH");
    assert!(
        eventually(Duration::from_secs(5), || lines(&out).iter().any(|l| l.starts_with("start long0"))),
        "{mode:?}"
    );
    // the jobs behind wait in their queue, in order, not in the busy worker's in-flight list
    assert!(
        eventually(Duration::from_secs(2), || {
            let queued: Vec<String> = redis.conn().lrange("resque:queue:long", 0, -1).unwrap_or_default();
            queued.len() == 2 && queued[0].contains("behind0") && queued[1].contains("behind1")
        }),
        "{mode:?}: the jobs behind the long one were not handed back"
    );
    let idle = start(&redis, mode);
    let pids: BTreeSet<u32> = [busy.0.id(), idle.0.id()].into_iter().collect();
    assert!(
        eventually(Duration::from_secs(5), || ["done behind0", "done behind1"]
            .iter()
            .all(|d| lines(&out).iter().any(|l| l == d))),
        "{mode:?}: {:?}",
        lines(&out)
    );
    assert!(
        !lines(&out).iter().any(|l| l == "done long0"),
        "{mode:?}: the jobs behind waited for the long one"
    );
    let starts: Vec<String> = lines(&out).into_iter().filter(|l| l.starts_with("start ")).collect();
    let on = ran_on(&out, &pids);
    for behind in ["start behind0", "start behind1"] {
        let i = starts.iter().position(|l| l.starts_with(behind));
        assert_eq!(i.and_then(|i| on.get(i).copied()), Some(idle.0.id()), "{mode:?}: {:?}", lines(&out));
    }
    assert!(eventually(Duration::from_secs(5), || lines(&out).iter().any(|l| l == "done long0")));
    // each job ran once
    assert_eq!(starts.len(), 8, "{mode:?}: {starts:?}");
}
