//! Inline mode runs jobs at enqueue time in the calling process. Its own
//! test binary: the switch is process-wide.

use resque_tests::jobs::{archive, fail, hooked, panicking, record};
use resque_tests::{lines, TestRedis};

#[test]
fn inline_mode_runs_jobs_in_the_caller_after_a_json_round_trip() {
    let redis = TestRedis::start();
    let client = redis.client();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    resque::set_inline(true);

    record::enqueue_to(&client, out.to_str().unwrap(), "inline").unwrap();
    assert_eq!(lines(&out), [format!("inline pid={}", std::process::id())], "ran here, now");

    let err = fail::enqueue_to(&client, "boom").unwrap_err();
    assert!(matches!(&err, resque::Error::JobFailed(f) if f.error == "failed on purpose: boom"), "{err}");
    let err = panicking::enqueue_to(&client, "inline panic").unwrap_err().to_string();
    assert!(err.contains("Panic: inline panic"), "{err}");
    let err = client.enqueue_class("q", "NoSuchJob", &[1]).unwrap_err().to_string();
    assert!(err.contains("\"NoSuchJob\""), "{err}");

    assert!(client.keys_in_namespace().unwrap().is_empty(), "inline mode writes nothing to Redis");

    // Enqueue hooks around the run, perform hooks inside it.
    let hooks_out = dir.path().join("hooks");
    hooked::enqueue_to(&client, hooks_out.to_str().unwrap(), "ok").unwrap();
    let notes: Vec<String> =
        lines(&hooks_out).iter().map(|l| l.split(" pid=").next().unwrap_or("").to_string()).collect();
    assert_eq!(notes.first().map(String::as_str), Some("job:before_enqueue"));
    assert_eq!(notes.last().map(String::as_str), Some("job:after_enqueue"));
    assert!(notes.contains(&"plugin:after_perform".to_string()), "{notes:?}");

    resque::set_inline(false);
    archive::enqueue_to(&client, 1, "queued").unwrap();
    assert_eq!(client.size("file_serve").unwrap(), 1);
}

#[test]
fn resque_inline_in_the_environment() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let status = resque_tests::command(env!("CARGO_BIN_EXE_enqueue-from-env"), &redis)
        .env("RESQUE_INLINE", "1")
        .env("TEST_OUT", &out)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(lines(&out), ["archive 44 masterbrew"]);
    assert_eq!(redis.client().size("file_serve").unwrap(), 0);
}
