//! The router against a real Redis, request by request (no sockets), and
//! `serve` over a real socket.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{get, request};
use resque_tests::TestRedis;
use resque_web::{router, router_with, serve, WebOptions};
use serde_json::{json, Value};

const WORKER: &str = "web1:4211:file_serve";

/// A failure entry as Ruby Resque writes it (docs/PROTOCOL.md).
const RUBY_FAILURE: &str = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Archive","args":[44,"masterbrew"]},"exception":"Errno::ENOENT","error":"No such file or directory","backtrace":["..."],"worker":"web1:4211:file_serve","queue":"file_serve"}"#;

const PROCESSING: &str = r#"{"queue":"file_serve","run_at":"2026-11-23T23:50:00Z","payload":{"class":"Archive","args":[1,"main"]}}"#;

/// Two jobs in `file_serve`, one in `we"ird`, one Ruby failure, one Ruby
/// worker busy with a job, and stats.
fn populate(redis: &TestRedis) {
    let client = redis.client();
    client.enqueue_class("file_serve", "Archive", &(44, "masterbrew")).unwrap();
    client.enqueue_class("file_serve", "Archive", &(45, "dev")).unwrap();
    client.enqueue_class("we\"ird", "Odd", &["x"]).unwrap();
    let mut conn = redis.conn();
    let mut cmd = |args: &[&str]| {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query::<()>(&mut conn).unwrap();
    };
    cmd(&["RPUSH", "resque:failed", RUBY_FAILURE]);
    cmd(&["SADD", "resque:workers", WORKER]);
    cmd(&["SET", &format!("resque:worker:{WORKER}:started"), "2026-11-23 23:50:00 +0000"]);
    cmd(&["HSET", "resque:workers:heartbeat", WORKER, "2026-11-23T23:57:52+00:00"]);
    cmd(&["SET", &format!("resque:worker:{WORKER}"), PROCESSING]);
    cmd(&["SET", "resque:stat:processed", "7"]);
    cmd(&["SET", "resque:stat:failed", "1"]);
    cmd(&["SET", &format!("resque:stat:processed:{WORKER}"), "5"]);
    cmd(&["SET", &format!("resque:stat:failed:{WORKER}"), "1"]);
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, headers, body) = get(app, uri).await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}: {body}");
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}")))
}

fn ruby_failure_with_index(index: usize) -> Value {
    let mut v: Value = serde_json::from_str(RUBY_FAILURE).unwrap();
    let mut out = serde_json::Map::new();
    out.insert("index".into(), json!(index));
    out.extend(v.as_object_mut().unwrap().clone());
    // `printf '%s' "$RUBY_FAILURE" | sha1sum`: 3db87e6340c9d084...
    out.insert("id".into(), json!("3db87e6340c9"));
    Value::Object(out)
}

#[tokio::test]
async fn info() {
    let redis = TestRedis::start();
    populate(&redis);
    let client = redis.client();
    let app = router(client.clone());
    let (status, body) = get_json(&app, "/api/info").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "pending": 3, "processed": 7, "queues": 2, "workers": 1, "working": 1, "failed": 1,
            "servers": [client.address().to_string()], "environment": body["environment"],
            "paused": false,
        })
    );
    assert!(body["environment"].is_string());

    client.pause_all_workers().unwrap();
    let (_, body) = get_json(&app, "/api/info").await;
    assert_eq!(body["paused"], json!(true));
}

#[tokio::test]
async fn queues() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (status, body) = get_json(&app, "/api/queues").await;
    assert_eq!(status, StatusCode::OK);
    // Resque's own payloads carry no enqueue time: no latency.
    assert_eq!(
        body,
        json!([{"name": "file_serve", "size": 2, "latency": null}, {"name": "we\"ird", "size": 1, "latency": null}])
    );
}

#[tokio::test]
async fn queues_say_their_latency() {
    let redis = TestRedis::start();
    let client = redis.client();
    let now = client.redis_time().unwrap();
    let mut conn = redis.conn();
    let keys = client.keys().clone();
    use redis::Commands;
    let sidekiq = format!(r#"{{"class":"Archive","args":[44],"enqueued_at":{}.5}}"#, now - 9000);
    let _: () = conn.rpush(keys.queue("sidekiq"), sidekiq).unwrap();
    let _: () = conn.rpush(keys.queue("sidekiq"), r#"{"class":"Archive","args":[45]}"#).unwrap();
    let _: () = conn.sadd(keys.queues(), &["sidekiq", "empty"][..]).unwrap();
    let (status, body) = get_json(&router(redis.client()), "/api/queues").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0], json!({"name": "empty", "size": 0, "latency": 0.0}), "{body}");
    assert_eq!((&body[1]["name"], &body[1]["size"]), (&json!("sidekiq"), &json!(2)), "{body}");
    // The oldest job's age: 8999.5 s when read in the second it was
    // written, a few seconds more on a slow machine.
    let latency = body[1]["latency"].as_f64().unwrap();
    assert!((8999.5..9100.0).contains(&latency), "{body}");
}

#[tokio::test]
async fn queue_jobs_page_by_page() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (status, body) = get_json(&app, "/api/queues/file_serve").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "name": "file_serve", "size": 2, "start": 0,
            "jobs": [{"class": "Archive", "args": [44, "masterbrew"]}, {"class": "Archive", "args": [45, "dev"]}],
        })
    );

    let (_, body) = get_json(&app, "/api/queues/file_serve?start=1&count=5").await;
    assert_eq!(body["start"], json!(1));
    assert_eq!(body["jobs"], json!([{"class": "Archive", "args": [45, "dev"]}]));

    let (_, body) = get_json(&app, "/api/queues/file_serve?count=1").await;
    assert_eq!(body["jobs"], json!([{"class": "Archive", "args": [44, "masterbrew"]}]));

    // A percent-encoded name with a quote in it.
    let (_, body) = get_json(&app, "/api/queues/we%22ird").await;
    assert_eq!(body["jobs"], json!([{"class": "Odd", "args": ["x"]}]));

    // The query form, for names a path cannot carry.
    redis.client().enqueue_class("..", "DotDot", &[2]).unwrap();
    let (status, body) = get_json(&app, "/api/queue?name=..&count=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"name": "..", "size": 1, "start": 0, "jobs": [{"class": "DotDot", "args": [2]}]})
    );
    let (_, body) = get_json(&app, "/api/queue?name=file_serve&start=1").await;
    assert_eq!(body["jobs"], json!([{"class": "Archive", "args": [45, "dev"]}]));
    let (status, _) = get_json(&app, "/api/queue").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A queue nobody knows is just empty.
    let (status, body) = get_json(&app, "/api/queues/nothing").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"name": "nothing", "size": 0, "start": 0, "jobs": []}));
}

#[tokio::test]
async fn bad_paging_is_400() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    for (uri, says) in [
        ("/api/queues/q?count=abc", "count must be a non-negative integer"),
        ("/api/queues/q?start=-1", "start must be a non-negative integer"),
        ("/api/queues/q?count=1001", "count must be at most 1000"),
        ("/api/failed?count=x", "count must be a non-negative integer"),
        ("/api/failed/abc", "names no failure: give an index (0 is the oldest) or an id (12 hex digits"),
    ] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(says), "{uri}: {message}");
    }
}

#[tokio::test]
async fn workers() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (status, body) = get_json(&app, "/api/workers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{
            "id": WORKER, "host": "web1", "pid": 4211, "queues": ["file_serve"],
            "started": "2026-11-23 23:50:00 +0000", "heartbeat": "2026-11-23T23:57:52+00:00",
            "processed": 5, "failed": 1,
            "working": serde_json::from_str::<Value>(PROCESSING).unwrap(),
        }])
    );

    // Idle, without a heartbeat, with a queue list.
    let mut conn = redis.conn();
    redis::cmd("DEL").arg(format!("resque:worker:{WORKER}")).query::<()>(&mut conn).unwrap();
    redis::cmd("SADD").arg("resque:workers").arg("web2:7:high,low").query::<()>(&mut conn).unwrap();
    let (_, body) = get_json(&app, "/api/workers").await;
    assert_eq!(body[0]["working"], Value::Null);
    assert_eq!(
        body[1],
        json!({
            "id": "web2:7:high,low", "host": "web2", "pid": 7, "queues": ["high", "low"],
            "started": null, "heartbeat": null, "processed": 0, "failed": 0, "working": null,
        })
    );
}

#[tokio::test]
async fn failed() {
    let redis = TestRedis::start();
    populate(&redis);
    redis::cmd("RPUSH").arg("resque:failed").arg("not json").query::<()>(&mut redis.conn()).unwrap();
    let app = router(redis.client());

    let (status, body) = get_json(&app, "/api/failed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], json!(2));
    assert_eq!(body["start"], json!(0));
    assert_eq!(body["entries"][0], ruby_failure_with_index(0));
    assert_eq!(body["entries"][1]["index"], json!(1));
    assert_eq!(body["entries"][1]["payload"], json!("not json"));

    let (_, body) = get_json(&app, "/api/failed?start=1&count=1").await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(body["entries"][0]["index"], json!(1));

    let (status, body) = get_json(&app, "/api/failed/0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, ruby_failure_with_index(0));
    // Members in Ruby's order, the index first.
    let (_, _, text) = get(&app, "/api/failed/0").await;
    assert!(
        text.starts_with(r#"{"index":0,"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class""#),
        "{text}"
    );

    let (status, body) = get_json(&app, "/api/failed/99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "no failure at index 99: the failed list holds 2 entries"}));

    // By id, wherever the entry is.
    let (status, body) = get_json(&app, "/api/failed/3db87e6340c9").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, ruby_failure_with_index(0));
    let (status, body) = get_json(&app, "/api/failed/000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "no failure entry with id 000000000000 (it was removed or changed)"}));
}

#[tokio::test]
async fn unknown_path_is_404_json() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    let (status, body) = get_json(&app, "/api/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "no such page"}));
}

#[tokio::test]
async fn metrics() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (status, headers, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let lines: Vec<&str> = body.lines().collect();
    for expected in [
        "# HELP resque_jobs_processed_total Jobs processed, failed ones included.",
        "# TYPE resque_jobs_processed_total counter",
        "resque_jobs_processed_total 7",
        "# TYPE resque_jobs_failed_total counter",
        "resque_jobs_failed_total 1",
        "# TYPE resque_jobs_retried_total counter",
        "resque_jobs_retried_total 0",
        "# TYPE resque_queue_length gauge",
        "resque_queue_length{queue=\"file_serve\"} 2",
        "resque_queue_length{queue=\"we\\\"ird\"} 1",
        "# TYPE resque_workers gauge",
        "resque_workers 1",
        "# TYPE resque_workers_working gauge",
        "resque_workers_working 1",
        "# TYPE resque_failed_jobs gauge",
        "resque_failed_jobs 1",
        "# TYPE resque_workers_paused gauge",
        "resque_workers_paused 0",
        "# TYPE resque_delayed_jobs gauge",
        "resque_delayed_jobs 0",
        "# TYPE resque_scheduler_leader gauge",
        "resque_scheduler_leader 0",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{body}");
    }
    // Every sample follows its family's HELP and TYPE lines.
    assert_eq!(lines.iter().filter(|l| l.starts_with("# HELP ")).count(), 10);
    assert_eq!(lines.iter().filter(|l| l.starts_with("# TYPE ")).count(), 10);
    assert!(body.ends_with('\n'));

    redis.client().pause_all_workers().unwrap();
    let (_, _, body) = get(&app, "/metrics").await;
    assert!(body.lines().any(|l| l == "resque_workers_paused 1"), "{body}");
}

#[tokio::test]
async fn basic_auth() {
    let redis = TestRedis::start();
    let app = router_with(redis.client(), WebOptions::new().with_auth("admin", "s3cret"));
    let with = |value: &str| {
        Request::get("/api/queues").header(header::AUTHORIZATION, value).body(Body::empty()).unwrap()
    };

    let (status, headers, body) = get(&app, "/api/queues").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic realm=\"resque\"");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"error": "authentication required"}));

    for wrong in ["Basic YWRtaW46d3Jvbmc=", "Bearer YWRtaW46czNjcmV0", "Basic", "YWRtaW46czNjcmV0"] {
        let (status, headers, _) = request(&app, with(wrong)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    }
    // The metrics need it too.
    let (status, _, _) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, body) = request(&app, with("Basic YWRtaW46czNjcmV0")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "[]");
    let (status, _, _) = request(&app, with("basic YWRtaW46czNjcmV0")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn redis_down_is_503() {
    let mut redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    // One request first, so the client holds a connection that then breaks.
    assert_eq!(get(&app, "/api/info").await.0, StatusCode::OK);
    redis.stop();
    for uri in ["/api/info", "/api/queues", "/api/workers", "/api/failed", "/api/failed/0", "/metrics"] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.starts_with("Redis at "), "{uri}: {message}");
        assert!(message.contains(&format!("127.0.0.1:{}", redis.port())), "{uri}: {message}");
        assert!(message.contains(" is not answering: "), "{uri}: {message}");
    }

    // And back once Redis is.
    redis.restart();
    let (status, body) = get_json(&app, "/api/queues").await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_over_http() {
    let redis = TestRedis::start();
    populate(&redis);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = tokio::spawn(serve(redis.client(), addr, None));

    let response = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut stream = loop {
            match TcpStream::connect(addr) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("the server did not listen on {addr}: {e}"),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();

    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{response}");
    assert!(response.contains("\r\n\r\n# HELP resque_jobs_processed_total"), "{response}");
    assert!(response.contains("\nresque_queue_length{queue=\"file_serve\"} 2\n"), "{response}");
    server.abort();
}

#[tokio::test]
async fn serve_reports_a_taken_address() {
    let redis = TestRedis::start();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = serve(redis.client(), addr, None).await.unwrap_err();
    assert!(err.to_string().starts_with(&format!("cannot listen on {addr}: ")), "{err}");
}
