//! Redis Cluster: a real cluster of 3 masters and 3 replicas
//! (`--cluster-enabled yes`, `redis-cli --cluster create`), two namespaces
//! with hash tags on two different masters, workers given a
//! `redis+cluster://` address, and a failover of one master mid-run; then a
//! killed worker's job recovered, and the web app.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use resque_tests::{eventually, http_get, lines, Reaped, TestRedis};

struct Cluster {
    nodes: Vec<TestRedis>,
}

impl Cluster {
    fn start() -> Self {
        let flags = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
        ];
        let nodes: Vec<TestRedis> = (0..6).map(|_| TestRedis::start_with(&flags)).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli");
        assert!(out.status.success(), "redis-cli --cluster create: {}", String::from_utf8_lossy(&out.stdout));
        let cluster = Cluster { nodes };
        assert!(
            eventually(Duration::from_secs(30), || cluster.nodes.iter().all(|n| {
                let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut n.conn()).unwrap_or_default();
                info.contains("cluster_state:ok")
            })),
            "the cluster never came up"
        );
        cluster
    }

    fn address(&self) -> String {
        let seeds: Vec<String> =
            self.nodes.iter().take(2).map(|n| format!("127.0.0.1:{}", n.port())).collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    fn node(&self, port: u16) -> &TestRedis {
        self.nodes.iter().find(|n| n.port() == port).expect("a node of the cluster")
    }

    /// The port of the master serving `key`'s slot now.
    fn master_of(&self, key: &str) -> u16 {
        let mut conn = self.nodes[0].conn();
        let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query(&mut conn).unwrap();
        let ranges: Vec<(i64, i64, (String, u16))> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query::<Vec<redis::Value>>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|r| {
                let r: Vec<redis::Value> = redis::from_redis_value(r).unwrap();
                let start: i64 = redis::from_redis_value_ref(&r[0]).unwrap();
                let end: i64 = redis::from_redis_value_ref(&r[1]).unwrap();
                let node: Vec<redis::Value> = redis::from_redis_value_ref(&r[2]).unwrap();
                let ip: String = redis::from_redis_value_ref(&node[0]).unwrap();
                let port: u16 = redis::from_redis_value_ref(&node[1]).unwrap();
                (start, end, (ip, port))
            })
            .collect();
        ranges.iter().find(|(s, e, _)| *s <= slot && slot <= *e).map(|(_, _, (_, port))| *port).unwrap()
    }

    /// A replica of the master on `port`, once it has one in sync.
    fn replica_of(&self, port: u16) -> u16 {
        let mut conn = self.node(port).conn();
        let mut replica = None;
        let found = eventually(Duration::from_secs(30), || {
            let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut conn).unwrap_or_default();
            let replicas: Vec<Vec<String>> =
                role.get(2).and_then(|r| redis::from_redis_value_ref(r).ok()).unwrap_or_default();
            replica = replicas.first().and_then(|r| r.get(1)).and_then(|p| p.parse().ok());
            replica.is_some()
        });
        assert!(found, "the master on port {port} has no replica");
        replica.unwrap()
    }
}

/// Two namespaces whose slots two different masters serve.
fn namespaces_on_two_masters(cluster: &Cluster) -> [(String, u16); 2] {
    let mut first: Option<(String, u16)> = None;
    for i in 0.. {
        let ns = format!("{{app{i}}}");
        let master = cluster.master_of(&format!("{ns}:queues"));
        match &first {
            None => first = Some((ns, master)),
            Some((_, m)) if *m != master => return [first.unwrap(), (ns, master)],
            Some(_) => {}
        }
    }
    unreachable!()
}

fn count_runs(out: &Path, ns: &str) -> BTreeMap<u64, usize> {
    let mut runs = BTreeMap::new();
    for line in lines(out) {
        let mut words = line.split_whitespace();
        if words.next() == Some(ns) {
            if let Some(id) = words.next().and_then(|w| w.parse::<u64>().ok()) {
                *runs.entry(id).or_insert(0) += 1;
            }
        }
    }
    runs
}

#[test]
fn two_namespaces_on_a_cluster_survive_a_master_failover() {
    const JOBS: u64 = 2_000;
    let cluster = Cluster::start();
    let address = cluster.address();
    let [(ns_a, master_a), (ns_b, _)] = namespaces_on_two_masters(&cluster);

    // Without a hash tag the namespace is refused, saying why.
    let refused = resque::Client::with_namespace(address.parse().unwrap(), "resque").unwrap_err().to_string();
    assert!(refused.contains("hash tag") && refused.contains("{resque}"), "{refused}");
    let out = resque_tests::run(
        super::worker(&cluster.nodes[0])
            .env("RESQUE_REDIS", &address)
            .args(["work", "-q", "record", "-i", "0"]),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("hash tag"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let retry_out = dir.path().join("retries");
    let path = out.to_string_lossy().into_owned();
    for ns in [&ns_a, &ns_b] {
        let client = resque::Client::with_namespace(address.parse().unwrap(), ns).unwrap();
        // One by one and in bulk.
        resque_tests::jobs::record::enqueue_to(&client, path.clone(), format!("{ns} 0")).unwrap();
        let pushed = resque_tests::jobs::record::enqueue_many_to(
            &client,
            (1..JOBS)
                .map(|i| resque_tests::jobs::record::Args { path: path.clone(), line: format!("{ns} {i}") }),
        )
        .unwrap();
        assert_eq!(pushed as u64, JOBS - 1);
        // A failing job, recorded as a failure in its namespace.
        resque_tests::jobs::fail::enqueue_to(&client, "on a cluster".to_string()).unwrap();
        // A delayed job, for the scheduler.
        resque_tests::jobs::record::enqueue_in_to(
            &client,
            Duration::from_secs(1),
            path.clone(),
            format!("{ns} delayed"),
        )
        .unwrap();
    }
    // Every key of a namespace is on its master.
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut cluster.node(master_a).conn()).unwrap();
    assert!(keys.iter().any(|k| k == &format!("{ns_a}:queue:record")), "{keys:?}");
    assert!(keys.iter().all(|k| !k.starts_with(&ns_b)), "{keys:?}");

    let workers: Vec<Reaped> = [(&ns_a, &[][..]), (&ns_b, &["--no-fork"][..])]
        .into_iter()
        .map(|(ns, extra)| {
            let mut cmd = super::worker(&cluster.nodes[0]);
            cmd.env("RESQUE_REDIS", &address)
                .env("TEST_OUT", &retry_out)
                .args(["work", "-q", "retry,record,failing", "-i", "0.1", "--scheduler", "-N", ns])
                // Pruning locks last one heartbeat interval: short, for the recovery below.
                .args(["--heartbeat-interval", "1"])
                .args(extra);
            let log = std::fs::File::create(dir.path().join(format!("worker-{ns}.log"))).unwrap();
            Reaped::spawn(cmd.stdout(Stdio::null()).stderr(log))
        })
        .collect();
    assert!(
        eventually(Duration::from_secs(60), || count_runs(&out, &ns_a).len() >= 300),
        "the workers did not get going on the cluster"
    );
    // A coordinated failover of namespace A's master: its replica takes over.
    let replica = cluster.replica_of(master_a);
    let reply: String =
        redis::cmd("CLUSTER").arg("FAILOVER").query(&mut cluster.node(replica).conn()).unwrap();
    assert_eq!(reply, "OK");
    assert!(
        eventually(Duration::from_secs(30), || cluster.master_of(&format!("{ns_a}:queues")) == replica),
        "the replica did not take over"
    );

    // Retries on the cluster, A's namespace on its new master: one retried
    // at once until it succeeds, one retried through the delayed set (by
    // the scheduler) until it gives up with one failure entry.
    for ns in [&ns_a, &ns_b] {
        let client = resque::Client::with_namespace(address.parse().unwrap(), ns).unwrap();
        client.enqueue_class("retry", "Flaky", &serde_json::json!([ns, 2])).unwrap();
        client.enqueue_class("retry", "Doomed", &serde_json::json!([ns])).unwrap();
    }

    for ns in [&ns_a, &ns_b] {
        let attempts = |name: &str| -> Vec<u32> {
            lines(&retry_out)
                .iter()
                .filter_map(|l| {
                    let words: Vec<&str> = l.split(' ').collect();
                    (words.len() == 5 && words[0] == name && words[1] == ns.as_str())
                        .then(|| words[3].parse().unwrap())
                })
                .collect()
        };
        assert!(
            eventually(Duration::from_secs(60), || attempts("flaky").len() >= 3
                && attempts("doomed").len() >= 3),
            "{ns}: retries did not run: {:?}; the worker said: {}",
            lines(&retry_out),
            std::fs::read_to_string(dir.path().join(format!("worker-{ns}.log"))).unwrap_or_default()
        );
        assert_eq!((attempts("flaky"), attempts("doomed")), (vec![1, 2, 3], vec![1, 2, 3]), "{ns}");

        let delayed = format!("{ns} delayed ");
        assert!(
            eventually(Duration::from_secs(30), || lines(&out).iter().any(|l| l.starts_with(&delayed))),
            "{ns}: the scheduler did not run the delayed job; the worker said: {}",
            std::fs::read_to_string(dir.path().join(format!("worker-{ns}.log"))).unwrap_or_default()
        );
        let done = eventually(Duration::from_secs(120), || count_runs(&out, ns).len() as u64 == JOBS);
        let runs = count_runs(&out, ns);
        assert!(done, "{ns}: {} of {JOBS} jobs ran", runs.len());
        let twice: usize = runs.values().map(|n| n - 1).sum();
        eprintln!("{ns}: {twice} of {JOBS} jobs ran twice");
        assert!(twice <= 2, "{ns}: {twice} jobs ran twice");
        let master = cluster.master_of(&format!("{ns}:queues"));
        let mut conn = cluster.node(master).conn();
        assert!(eventually(Duration::from_secs(10), || {
            let failed: i64 = redis::cmd("LLEN").arg(format!("{ns}:failed")).query(&mut conn).unwrap_or(0);
            let queued: i64 =
                redis::cmd("LLEN").arg(format!("{ns}:queue:record")).query(&mut conn).unwrap_or(-1);
            // The failing job and the retried job that gave up.
            failed == 2 && queued == 0
        }));
        // resque-retry's counters are gone once a job is done with; stat:retried counts 2 + 2.
        let counters: Vec<String> =
            redis::cmd("KEYS").arg(format!("{ns}:resque-retry:*")).query(&mut conn).unwrap();
        assert!(counters.is_empty(), "{ns}: {counters:?}");
        let retried: Option<String> =
            redis::cmd("GET").arg(format!("{ns}:stat:retried")).query(&mut conn).unwrap();
        assert_eq!(retried.as_deref(), Some("4"), "{ns}");
        // The admin commands find the namespace on its master.
        let mut info = super::worker(&cluster.nodes[0]);
        let out = resque_tests::run(
            info.env("RESQUE_REDIS", &address).args(["info", "--json", "-N", ns]),
            Duration::from_secs(30),
        );
        assert!(out.status.success(), "info on a cluster: {}", String::from_utf8_lossy(&out.stderr));
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((info["pending"].as_i64(), info["failed"].as_i64()), (Some(0), Some(2)), "{info}");
    }
    drop(workers);

    // Pruning and recovery: a worker killed in the middle of a job; the next
    // worker on the host recovers the job from its in-flight list and runs it.
    let client = resque::Client::with_namespace(address.parse().unwrap(), &ns_a).unwrap();
    let slow_out = dir.path().join("slow");
    resque_tests::jobs::slow_record::enqueue_to(&client, slow_out.to_str().unwrap(), 3000, "orphan").unwrap();
    let work = ["work", "-q", "slow", "--heartbeat-interval", "1", "-N", ns_a.as_str()];
    let spawn = |interval: &str| {
        let mut cmd = super::worker(&cluster.nodes[0]);
        cmd.env("RESQUE_REDIS", &address).args(work).args(["-i", interval, "-vv"]);
        let log = std::fs::File::create(dir.path().join(format!("slow-{interval}.log"))).unwrap();
        Reaped::spawn(cmd.stdout(Stdio::null()).stderr(log))
    };
    let mut first = spawn("60");
    assert!(eventually(Duration::from_secs(30), || lines(&slow_out) == ["start orphan"]));
    first.kill().unwrap();
    first.wait().unwrap();
    // The pruning lock (EX one heartbeat interval, taken at start) expires.
    std::thread::sleep(Duration::from_millis(1500));
    let _second = spawn("0.05");
    assert!(
        eventually(Duration::from_secs(30), || lines(&slow_out).iter().any(|l| l == "done orphan")),
        "the killed worker's job was not recovered: {:?}; the worker said: {}",
        lines(&slow_out),
        std::fs::read_to_string(dir.path().join("slow-0.05.log")).unwrap_or_default()
    );

    // The web app shows a namespace of the cluster.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut web = super::worker(&cluster.nodes[0]);
    web.env("RESQUE_REDIS", &address).args(["web", "-p", &port.to_string(), "-N", ns_b.as_str()]);
    let _web = Reaped::spawn(web.stdout(Stdio::null()).stderr(Stdio::null()));
    let mut page = String::new();
    assert!(
        eventually(Duration::from_secs(30), || {
            page = http_get(port, "/queues");
            page.starts_with("HTTP/1.1 200")
        }),
        "the web app did not serve /queues: {page}"
    );
    assert!(page.contains("record") && page.contains("failing"), "{page}");
}
