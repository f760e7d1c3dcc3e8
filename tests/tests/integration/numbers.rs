//! Numbers end to end: floats a Rust producer writes are Ruby's bytes, and a
//! number a Ruby producer writes reaches the job as written or fails naming
//! the argument.

use redis::Commands;
use resque_tests::jobs::{archive, floats};
use resque_tests::{drain, lines, TestRedis};

use super::worker;

/// Pushes payloads as a Ruby producer does (`SADD queues`, `RPUSH`).
fn push_as_ruby(redis: &TestRedis, queue: &str, payloads: &[&str]) {
    let mut conn = redis.conn();
    let _: () = conn.sadd("resque:queues", queue).unwrap();
    for payload in payloads {
        let _: () = conn.rpush(format!("resque:queue:{queue}"), *payload).unwrap();
    }
}

/// The worker binary, its jobs writing to `out`.
fn worker_to(redis: &TestRedis, out: &std::path::Path) -> std::process::Command {
    let mut cmd = worker(redis);
    cmd.env("TEST_OUT", out);
    cmd
}

/// The failure entries' `exception` and `error` members, in order (read
/// without converting the payload's numbers, which may be past a float's
/// range).
fn exceptions_and_errors(redis: &TestRedis) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Entry {
        exception: String,
        error: String,
    }
    let entries = redis.lrange("resque:failed");
    entries
        .iter()
        .map(|raw| serde_json::from_str::<Entry>(raw).unwrap_or_else(|e| panic!("{e}: {raw}")))
        .map(|entry| (entry.exception, entry.error))
        .collect()
}

/// The failure entries' `error` members, in order.
fn errors(redis: &TestRedis) -> Vec<String> {
    exceptions_and_errors(redis).into_iter().map(|(_, error)| error).collect()
}

#[test]
fn floats_are_enqueued_as_ruby_writes_them() {
    let redis = TestRedis::start();
    let client = redis.client();
    floats::enqueue_to(&client, 1e20, 1e-5, 100.0, 2.5).unwrap();
    floats::enqueue_to(&client, 1e14, 0.0001, -3.0e-7, 1e15).unwrap();
    // Ruby: JSON.generate([1e20, 1e-5, 100.0, 2.5]) (Float#to_s: fixed for
    // 1e-4 <= |x| < 1e15 with a ".0" for integral values, else d.de±XX).
    let ruby_a = r#"{"class":"Floats","args":[1.0e+20,1.0e-05,100.0,2.5]}"#;
    let ruby_b = r#"{"class":"Floats","args":[100000000000000.0,0.0001,-3.0e-07,1.0e+15]}"#;
    assert_eq!(redis.lrange("resque:queue:numbers"), [ruby_a, ruby_b]);

    // Resque::Job.destroy(queue, 'Floats', 1e20, 1e-5, 100.0, 2.5) is
    // LREM queue:numbers 0 <Ruby's encoding>: it finds the Rust-enqueued job.
    let removed: i64 = redis.conn().lrem("resque:queue:numbers", 0, ruby_a).unwrap();
    assert_eq!(removed, 1);

    // The job that is left gets exactly the floats it was given.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    drain(worker_to(&redis, &out), "numbers", &[]);
    assert_eq!(lines(&out), ["floats 100000000000000.0 0.0001 -3e-7 1000000000000000.0"]);
    assert!(redis.failures().is_empty());
}

#[test]
fn a_float_json_cannot_carry_is_refused_at_enqueue() {
    let redis = TestRedis::start();
    let client = redis.client();
    let err = floats::enqueue_to(&client, 1.0, f64::NAN, 2.0, 3.0).unwrap_err().to_string();
    assert!(
        err.contains("job Floats") && err.contains("argument 2 is NaN, which JSON cannot carry"),
        "{err}"
    );
    let err = floats::enqueue_to(&client, 1.0, 2.0, 3.0, f64::INFINITY).unwrap_err().to_string();
    assert!(err.contains("argument 4 is Infinity"), "{err}");
    assert!(redis.client().keys_in_namespace().unwrap().is_empty(), "nothing was pushed");
}

#[test]
fn a_ruby_integer_beyond_64_bits_fails_naming_the_argument() {
    let redis = TestRedis::start();
    // Ruby: Resque.enqueue(Amount, 2**70), Resque.enqueue(Amount, -(2**64) - 1),
    // Resque.enqueue(Amount, 2**64 - 1): JSON integers of any size.
    // Ruby: Resque.enqueue(Amount, 10**400), past even a float's range.
    let googol4 = format!("1{}", "0".repeat(400));
    let huge = format!(r#"{{"class":"Amount","args":[{googol4}]}}"#);
    push_as_ruby(
        &redis,
        "numbers",
        &[
            r#"{"class":"Amount","args":[1180591620717411303424]}"#,
            r#"{"class":"Amount","args":[-18446744073709551617]}"#,
            r#"{"class":"Amount","args":[18446744073709551615]}"#,
            r#"{"class":"Amount","args":[{"total":[1,36893488147419103232]}]}"#,
            &huge,
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    drain(worker_to(&redis, &out), "numbers", &[]);
    // u64::MAX fits: it reaches the serde_json::Value exactly.
    assert_eq!(lines(&out), ["amount 18446744073709551615"]);
    let failures = exceptions_and_errors(&redis);
    assert_eq!(failures.len(), 4, "{failures:?}");
    assert!(failures.iter().all(|(exception, _)| exception == "ArgumentError"), "{failures:?}");
    assert_eq!(
        errors(&redis),
        [
            "arguments do not fit job Amount: argument 1 (amount): the integer 1180591620717411303424 is \
             beyond 64 bits, which no job parameter holds exactly (a serde_json::Value would get a rounded float)",
            "arguments do not fit job Amount: argument 1 (amount): the integer -18446744073709551617 is \
             beyond 64 bits, which no job parameter holds exactly (a serde_json::Value would get a rounded float)",
            "arguments do not fit job Amount: argument 1 (amount): the integer 36893488147419103232 is \
             beyond 64 bits, which no job parameter holds exactly (a serde_json::Value would get a rounded float)",
            &format!(
                "arguments do not fit job Amount: argument 1 (amount): the integer {googol4} is beyond 64 bits, \
                 which no job parameter holds exactly (a serde_json::Value would get a rounded float)"
            ),
        ]
    );
    // The failed payloads keep the numbers as Ruby wrote them.
    let raw: Vec<String> = redis.lrange("resque:failed");
    assert!(raw[0].contains(r#""payload":{"class":"Amount","args":[1180591620717411303424]}"#), "{}", raw[0]);
}

#[test]
fn numbers_that_do_not_fit_a_parameter_name_it() {
    let redis = TestRedis::start();
    push_as_ruby(
        &redis,
        "numbers",
        &[
            // 2**53 + 1: a float holds 2**53, a different number.
            r#"{"class":"Ratio","args":[9007199254740993]}"#,
            // 2**60 is a float exactly.
            r#"{"class":"Ratio","args":[1152921504606846976]}"#,
        ],
    );
    // Ruby: Resque.enqueue(Archive, 1e20, "x"): a Float for a u64 parameter.
    push_as_ruby(&redis, "file_serve", &[r#"{"class":"Archive","args":[1.0e+20,"x"]}"#]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    drain(worker_to(&redis, &out), "numbers,file_serve", &[]);
    assert_eq!(lines(&out), ["ratio 1.152921504606847e18"]);
    let errors = errors(&redis);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "arguments do not fit job Ratio: argument 1 (ratio): the integer 9007199254740993 would reach the job \
             as a different number"
        ),
        "{}",
        errors[0]
    );
    assert_eq!(
        errors[1],
        "arguments do not fit job Archive: argument 1 (repo_id): invalid type: floating point `1e+20`, expected u64"
    );
    // What `archive` needs, for contrast, runs.
    archive::enqueue_to(&redis.client(), 44, "masterbrew").unwrap();
    drain(worker_to(&redis, &out), "file_serve", &[]);
    assert_eq!(lines(&out).last().map(String::as_str), Some("archive 44 masterbrew"));
}
