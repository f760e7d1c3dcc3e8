//! Values that are not UTF-8, as another producer may write them: every
//! page, `/metrics` and the API still answer, and show such bytes escaped
//! (`\xe9`) rather than refusing with "Redis is unavailable".

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::get;
use redis::Commands;
use resque_tests::TestRedis;
use resque_web::router;

/// `prefix`, the byte 0xE9 (Latin-1 `é`), then `suffix`.
fn latin1(prefix: &str, suffix: &str) -> Vec<u8> {
    [prefix.as_bytes(), b"\xe9", suffix.as_bytes()].concat()
}

/// A busy worker of another host whose id, record and start time are not
/// UTF-8, a queue name and a payload that are not, and failure entries
/// written by another producer (raw byte) and by resque-rs (escaped text
/// plus `payload_base64`).
fn populate(redis: &TestRedis) {
    let mut conn = redis.conn();
    let id = latin1("otherhost:4242:caf", "");
    let record = latin1(
        r#"{"queue":"eq","run_at":"2026-11-23T23:50:00Z","payload":{"class":"Echo","args":["caf"#,
        r#""]}}"#,
    );
    let now: (i64, i64) = redis::cmd("TIME").query(&mut conn).unwrap();
    let _: () = conn.sadd("resque:workers", &id).unwrap();
    let _: () = conn.set([b"resque:worker:".as_slice(), &id].concat(), &record).unwrap();
    let _: () = conn
        .set(
            [b"resque:worker:".as_slice(), &id, b":started"].concat(),
            latin1("2026-11-23 23:50:00 +0000", ""),
        )
        .unwrap();
    let _: () = conn.hset("resque:workers:heartbeat", &id, resque::payload::time::heartbeat(now.0)).unwrap();
    let _: () = conn.sadd("resque:queues", latin1("caf", "")).unwrap();
    let _: () = conn.sadd("resque:queues", "eq").unwrap();
    let _: () = conn.rpush("resque:queue:eq", latin1(r#"{"class":"Echo","args":["caf"#, r#""]}"#)).unwrap();
    let _: () = conn.rpush([b"resque:queue:caf".as_slice(), b"\xe9"].concat(), "{}").unwrap();
    let foreign = latin1(
        r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Echo","args":["caf"#,
        r#""]},"exception":"RuntimeError","error":"boom","backtrace":[],"worker":"w","queue":"eq"}"#,
    );
    let _: () = conn.rpush("resque:failed", foreign).unwrap();
    let ours = r#"{"failed_at":"2026/11/23 23:51:00 UTC","payload":"{\"class\":\"Echo\",\"args\":[\"caf\\xe9\"]}","exception":"JSON::ParserError","error":"payload in queue \"eq\" is not valid UTF-8","backtrace":[],"worker":"w","queue":"eq","payload_base64":"eyJjbGFzcyI6IkVjaG8iLCJhcmdzIjpbImNhZukiXX0="}"#;
    let _: () = conn.rpush("resque:failed", ours).unwrap();
}

#[tokio::test]
async fn every_page_answers_with_bytes_that_are_not_utf8_escaped() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    for (uri, expect) in [
        ("/overview", r"otherhost:4242:caf\xe9"),
        ("/working", r"caf\xe9"),
        ("/failed", r"caf\xe9"),
        ("/queues", r"caf\xe9"),
        ("/queues/eq", r"caf\xe9"),
        ("/workers", r"otherhost:4242:caf\xe9"),
        ("/stats", "processed"),
        ("/stats/keys", r"caf\xe9"),
        ("/stats/keys/failed", r"caf\xe9"),
        ("/stats.txt", "workers"),
        ("/metrics", "resque_workers"),
        ("/api/info", "\"workers\":1"),
        ("/api/queues", r"caf\\xe9"),
        ("/api/workers", r"otherhost:4242:caf\\xe9"),
        ("/api/failed", r"caf\\xe9"),
        ("/api/failed/0", r"caf\\xe9"),
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert!(body.contains(expect), "{uri} does not show {expect:?}:\n{body}");
    }
}
