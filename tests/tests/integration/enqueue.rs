//! What enqueueing leaves in Redis, byte for byte.

use redis::Commands;
use resque_tests::jobs::{archive, async_archive, fail, record};
use resque_tests::TestRedis;

#[test]
fn enqueue_writes_rubys_payload_and_queue_set() {
    let redis = TestRedis::start();
    let client = redis.client();
    archive::enqueue_to(&client, 44, "masterbrew").unwrap();
    let mut conn = redis.conn();
    let payloads: Vec<String> = conn.lrange("resque:queue:file_serve", 0, -1).unwrap();
    assert_eq!(payloads, [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
    let queues: Vec<String> = conn.smembers("resque:queues").unwrap();
    assert_eq!(queues, ["file_serve"]);
}

#[test]
fn default_client_and_send_later_helper() {
    let redis = TestRedis::start();
    resque::set_default_client(redis.client());
    archive::enqueue(1, String::from("main")).unwrap();
    async_archive(2, "dev").unwrap();
    let payloads: Vec<String> = redis.conn().lrange("resque:queue:file_serve", 0, -1).unwrap();
    assert_eq!(
        payloads,
        [r#"{"class":"Archive","args":[1,"main"]}"#, r#"{"class":"Archive","args":[2,"dev"]}"#]
    );
}

#[test]
fn class_override_and_typed_enqueue() {
    let redis = TestRedis::start();
    let client = redis.client();
    fail::enqueue_to(&client, "x").unwrap();
    client.enqueue_to("elsewhere", &record::Args { path: "/p".into(), line: "l".into() }).unwrap();
    let mut conn = redis.conn();
    let failing: Vec<String> = conn.lrange("resque:queue:failing", 0, -1).unwrap();
    assert_eq!(failing, [r#"{"class":"Test::Fail","args":["x"]}"#]);
    let elsewhere: Vec<String> = conn.lrange("resque:queue:elsewhere", 0, -1).unwrap();
    assert_eq!(elsewhere, [r#"{"class":"Record","args":["/p","l"]}"#]);
}

#[test]
fn namespaces_never_see_each_other() {
    let redis = TestRedis::start();
    let a = redis.client_in("app_a");
    let b = redis.client_in("app_b");
    archive::enqueue_to(&a, 1, "x").unwrap();
    assert_eq!(a.queues().unwrap(), ["file_serve"]);
    assert!(b.queues().unwrap().is_empty());
    assert_eq!(b.size("file_serve").unwrap(), 0);
    let keys: Vec<String> = redis.conn().keys("*").unwrap();
    assert!(keys.iter().all(|k| k.starts_with("app_a:")), "{keys:?}");
}

#[test]
fn address_strings_carry_db_and_namespace() {
    let redis = TestRedis::start();
    let client = resque::Client::new(&format!("127.0.0.1:{}:2/myapp", redis.port())).unwrap();
    assert_eq!(client.namespace(), "myapp");
    client.enqueue_class("q", "Job", &[1]).unwrap();
    let mut conn = redis.conn();
    redis::cmd("SELECT").arg(2).query::<()>(&mut conn).unwrap();
    let len: u64 = conn.llen("myapp:queue:q").unwrap();
    assert_eq!(len, 1);
}

#[test]
fn args_that_are_not_an_array_are_refused() {
    let redis = TestRedis::start();
    let err = redis.client().enqueue_class("q", "Job", &42).unwrap_err().to_string();
    assert!(err.contains("JSON array"), "{err}");
    assert_eq!(redis.client().size("q").unwrap(), 0);
}

#[test]
fn redis_down_is_a_clear_error() {
    let mut redis = TestRedis::start();
    let client = redis.client();
    redis.stop();
    let err = archive::enqueue_to(&client, 1, "x").unwrap_err().to_string();
    assert!(err.contains(&format!("127.0.0.1:{}", redis.port())), "{err}");
    redis.restart();
    archive::enqueue_to(&client, 1, "x").unwrap();
    assert_eq!(client.size("file_serve").unwrap(), 1);
}

#[test]
fn rediss_urls_connect_over_tls() {
    let redis = TestRedis::start_tls();
    let client = resque::Client::new(&redis.url()).unwrap();
    archive::enqueue_to(&client, 44, "masterbrew").unwrap();
    assert_eq!(client.peek("file_serve", 0, 1).unwrap()[0]["args"][0], 44);
    assert_eq!(client.address().to_string(), redis.url());
}

#[test]
fn the_default_client_reads_the_environment() {
    let redis = TestRedis::start();
    let bin = env!("CARGO_BIN_EXE_enqueue-from-env");
    let ok = |cmd: &mut std::process::Command| cmd.status().unwrap().success();
    assert!(ok(&mut resque_tests::command(bin, &redis)));
    assert!(ok(resque_tests::command(bin, &redis)
        .env_remove("RESQUE_REDIS")
        .env("REDIS_URL", redis.url())
        .env("RESQUE_NAMESPACE", "from_env")));
    // Ruby's address string form carries the namespace itself.
    assert!(ok(resque_tests::command(bin, &redis)
        .env("RESQUE_REDIS", format!("127.0.0.1:{}/in_string", redis.port()))));
    let payload = r#"{"class":"Archive","args":[44,"masterbrew"]}"#;
    let mut conn = redis.conn();
    for ns in ["resque", "from_env", "in_string"] {
        let got: Vec<String> = conn.lrange(format!("{ns}:queue:file_serve"), 0, -1).unwrap();
        assert_eq!(got, [payload], "namespace {ns}");
    }
    let out = resque_tests::command(bin, &redis).env("RESQUE_REDIS", "nope:x").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid Redis address \"nope:x\""));
}

#[test]
fn enqueue_many_pushes_in_bulk_byte_for_byte() {
    let redis = TestRedis::start();
    let client = redis.client();
    let jobs = (0..25_000u64).map(|i| archive::Args { repo_id: i, branch: "main".into() });
    assert_eq!(archive::enqueue_many_to(&client, jobs).unwrap(), 25_000);
    let mut conn = redis.conn();
    let len: u64 = conn.llen("resque:queue:file_serve").unwrap();
    assert_eq!(len, 25_000);
    let ends: Vec<String> = conn.lrange("resque:queue:file_serve", 0, 0).unwrap();
    assert_eq!(ends, [r#"{"class":"Archive","args":[0,"main"]}"#]);
    let last: Vec<String> = conn.lrange("resque:queue:file_serve", -1, -1).unwrap();
    assert_eq!(last, [r#"{"class":"Archive","args":[24999,"main"]}"#]);
    let queues: Vec<String> = conn.smembers("resque:queues").unwrap();
    assert_eq!(queues, ["file_serve"]);
    assert_eq!(archive::enqueue_many_to(&client, std::iter::empty()).unwrap(), 0);
}

#[test]
fn enqueue_many_runs_each_jobs_hooks() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = out.to_str().unwrap().to_string();
    let jobs = ["ok", "veto", "ok"]
        .map(|mode| resque_tests::jobs::hooked::Args { path: path.clone(), mode: mode.into() });
    assert_eq!(redis.client().enqueue_many(jobs).unwrap(), 2, "the vetoed one is not counted");
    assert_eq!(redis.client().size("hooks").unwrap(), 2);
    let before = resque_tests::lines(&out).iter().filter(|l| l.starts_with("job:before_enqueue")).count();
    assert_eq!(before, 3);
}

/// resque-scheduler's `delayed_push` of `Archive` [44, "masterbrew"] on
/// file_serve: the item `{"class":..,"args":..,"queue":..}` in
/// `delayed:<s>`, `timestamps:<item>` naming that bucket, and `<s>` in the
/// schedule with itself as score.
#[test]
fn enqueue_in_and_at_write_resque_schedulers_keys() {
    let redis = TestRedis::start();
    let client = redis.client();
    let before = resque::jiff::Timestamp::now().as_second();
    archive::enqueue_in_to(&client, std::time::Duration::from_secs(120), 44, "masterbrew").unwrap();
    let at = resque::jiff::Timestamp::from_second(4_102_444_800).unwrap();
    archive::enqueue_at_to(&client, at, 44, "masterbrew").unwrap();
    let item = r#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#;
    let mut conn = redis.conn();
    let seconds: Vec<(String, i64)> = conn.zrange_withscores("resque:delayed_queue_schedule", 0, -1).unwrap();
    assert_eq!(seconds.len(), 2, "{seconds:?}");
    let soon = seconds[0].1;
    assert!((before + 120..=before + 122).contains(&soon), "{soon} is not now + 120 s");
    assert_eq!(seconds[0].0, soon.to_string());
    assert_eq!(seconds[1], ("4102444800".to_string(), 4_102_444_800));
    for s in [soon, 4_102_444_800] {
        let items: Vec<String> = conn.lrange(format!("resque:delayed:{s}"), 0, -1).unwrap();
        assert_eq!(items, [item]);
    }
    let mut buckets: Vec<String> = conn.smembers(format!("resque:timestamps:{item}")).unwrap();
    buckets.sort();
    assert_eq!(buckets, [format!("delayed:{soon}"), "delayed:4102444800".to_string()]);
    assert_eq!(conn.llen::<_, u64>("resque:queue:file_serve").unwrap(), 0);
    assert_eq!(
        client.scheduled_at("file_serve", "Archive", &(44, "masterbrew")).unwrap(),
        [soon, 4_102_444_800]
    );

    // remove_delayed finds both, as it would find Ruby's.
    assert_eq!(archive::remove_delayed_to(&client, 44, "masterbrew").unwrap(), 2);
    assert_eq!(client.delayed_count().unwrap(), 0);
    let left: Vec<String> = conn.keys("resque:timestamps:*").unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn enqueue_at_a_past_moment_enqueues_now() {
    let redis = TestRedis::start();
    let client = redis.client();
    archive::enqueue_at_to(&client, std::time::SystemTime::UNIX_EPOCH, 7, "old").unwrap();
    let payloads: Vec<String> = redis.conn().lrange("resque:queue:file_serve", 0, -1).unwrap();
    assert_eq!(payloads, [r#"{"class":"Archive","args":[7,"old"]}"#]);
}
