//! The Retries tab, its actions, `/api/retries`, `resque_jobs_retried_total`
//! and the attempts of a failure, against a real Redis holding waiting
//! retries as Ruby's resque-retry (and a resque-rs worker) write them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::{csrf_of, get, post};
use redis::Commands;
use resque_tests::TestRedis;
use resque_web::router;
use serde_json::{json, Value};

/// 2100-01-01, always ahead.
const AT: i64 = 4_102_444_800;
/// SHA-1("9"): resque-retry's identifier of the args [9].
const ID9: &str = "0ade7c2cf97f75d009975f4d720d1fa6c19f4897";
const XSS: &str = "<script>alert(1)</script>";

/// Ruby's `enqueue_in_with_queue("rq", 60, Doomed, 9)`.
const RUBY_ITEM: &str = r#"{"class":"Doomed","args":[9],"queue":"rq"}"#;

/// The failure Ruby's MultipleWithRetrySuppression keeps for a run.
fn kept_failure(class: &str, args: Value, error: &str) -> String {
    common::ruby_failure("web1:4211:rq", class, "rq", args, error)
}

/// resque-retry's identifier of the args `[text]`.
fn identifier(text: &str) -> String {
    resque::payload::retry_identifier(&[json!(text)]).unwrap()
}

/// Doomed [9], waiting at AT after its second run (Ruby: counter 1), and a
/// resque-rs worker's Mailer [XSS] at AT + 60 after its first (counter 0).
fn populate(redis: &TestRedis) {
    let mut conn = redis.conn();
    redis.delay_as_ruby(AT, RUBY_ITEM);
    let () = conn.set(format!("resque:resque-retry:Doomed:{ID9}"), "1").unwrap();
    let () = conn
        .set_ex(
            format!("resque:failure-resque-retry:Doomed:{ID9}"),
            kept_failure("Doomed", json!([9]), "boom"),
            120,
        )
        .unwrap();
    let xss_id = identifier(XSS);
    // The worker's item: the payload as it was queued, "queue" appended.
    redis.delay_as_ruby(AT + 60, &format!(r#"{{"class":"Mailer","args":["{XSS}"],"queue":"rq"}}"#));
    let () = conn.set(format!("resque:resque-retry:Mailer:{xss_id}"), "0").unwrap();
    let () = conn
        .set_ex(
            format!("resque:failure-resque-retry:Mailer:{xss_id}"),
            kept_failure("Mailer", json!([XSS]), "smtp <b>down</b>"),
            120,
        )
        .unwrap();
}

fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn the_tab_lists_waiting_retries_with_attempt_next_run_and_error() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    let (status, _, empty) = get(&app, "/retries").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("No retries waiting."), "{empty}");
    assert!(empty.contains(r#"class="tab active" href="/retries""#), "{empty}");
    populate(&redis);
    let (status, _, page) = get(&app, "/retries").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("2 waiting retries"), "{page}");
    let doomed = page.find("Doomed").expect("Doomed's row");
    let mailer = page.find("Mailer").expect("Mailer's row");
    assert!(doomed < mailer, "earliest first");
    // Runs so far: counter + 1, of limit + 1 for Doomed (linked here through
    // the test jobs, retry(limit = 2)); Mailer is not linked: no limit.
    assert!(
        page.contains(r#"title="Runs so far, of the runs its retry policy allows">2 of 3</td>"#),
        "{page}"
    );
    assert!(page.contains(r#"title="Runs so far, of the runs its retry policy allows">1</td>"#), "{page}");
    assert!(page.contains("RuntimeError: boom"), "{page}");
    assert!(page.contains(&format!(r#"title="Unix second {AT}""#)), "{page}");
    assert!(!page.contains(XSS) && !page.contains("<b>down</b>"), "unescaped text: {page}");
    assert!(page.contains("smtp &lt;b&gt;down&lt;/b&gt;"), "{page}");
    let (_, _, api) = get(&app, "/api/retries").await;
    let id = json_body(&api)["retries"][0]["id"].as_str().unwrap().to_string();
    assert!(page.contains(&format!(r#"action="/retries/{id}/now""#)), "{page}");
    assert!(page.contains(&format!(r#"action="/retries/{id}/cancel""#)), "{page}");
    assert!(page.contains("data-live"), "{page}");
}

#[tokio::test]
async fn the_api_gives_each_retry() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (status, _, body) = get(&app, "/api/retries?start=0&count=1").await;
    assert_eq!(status, StatusCode::OK);
    let body = json_body(&body);
    assert_eq!((body["count"].clone(), body["start"].clone()), (json!(2), json!(0)));
    let retries = body["retries"].as_array().unwrap();
    assert_eq!(retries.len(), 1);
    let r = &retries[0];
    assert_eq!(r["id"].as_str().map(str::len), Some(12));
    assert_eq!(
        (&r["at"], &r["queue"], &r["class"], &r["args"]),
        (&json!(AT), &json!("rq"), &json!("Doomed"), &json!([9]))
    );
    assert_eq!((&r["attempt"], &r["retry_limit"], &r["max_attempts"]), (&json!(2), &json!(2), &json!(3)));
    assert_eq!(r["last_error"], "RuntimeError: boom");
    assert_eq!(r["failure"]["worker"], "web1:4211:rq");
    assert_eq!(r["counter_key"], format!("resque:resque-retry:Doomed:{ID9}"));
    let (_, _, rest) = get(&app, "/api/retries?start=1").await;
    assert_eq!(json_body(&rest)["retries"][0]["class"], "Mailer");
    let (status, _, _) = get(&app, "/api/retries?count=5000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn retry_now_and_cancel_need_the_token_and_act() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (_, _, page) = get(&app, "/retries").await;
    let csrf = csrf_of(&page);
    let (_, _, api) = get(&app, "/api/retries").await;
    let api = json_body(&api);
    let (doomed, mailer) = (
        api["retries"][0]["id"].as_str().unwrap().to_string(),
        api["retries"][1]["id"].as_str().unwrap().to_string(),
    );

    let (status, _, _) = post(&app, &format!("/retries/{doomed}/now"), "csrf=wrong&back=/retries").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(redis.lrange("resque:queue:rq"), Vec::<String>::new());

    let (status, headers, _) =
        post(&app, &format!("/retries/{doomed}/now"), &format!("csrf={csrf}&back=/retries")).await;
    assert_eq!((status, &headers["location"]), (StatusCode::SEE_OTHER, &"/retries".parse().unwrap()));
    assert_eq!(redis.lrange("resque:queue:rq"), [r#"{"class":"Doomed","args":[9]}"#]);
    // Queued already: the id names no waiting retry any more.
    let (status, _, body) =
        post(&app, &format!("/retries/{doomed}/now"), &format!("csrf={csrf}&back=/retries")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("no waiting retry"), "{body}");
    assert_eq!(redis.lrange("resque:queue:rq").len(), 1);

    let (status, _, _) = post(&app, &format!("/retries/{mailer}/cancel"), "csrf=&back=/retries").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) =
        post(&app, &format!("/retries/{mailer}/cancel"), &format!("csrf={csrf}&back=/retries")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(redis.lrange("resque:failed"), [kept_failure("Mailer", json!([XSS]), "smtp <b>down</b>")]);
    let left: Vec<String> = redis.conn().keys("resque:*Mailer*").unwrap();
    assert_eq!(left, Vec::<String>::new());
    let (_, _, page) = get(&app, "/retries").await;
    assert!(page.contains("No retries waiting."), "{page}");
}

#[tokio::test]
async fn metrics_count_the_retried_runs() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    let (_, _, text) = get(&app, "/metrics").await;
    assert!(
        text.contains(
            "# HELP resque_jobs_retried_total Failed runs a retry policy retried rather than recorded as failed.\n\
             # TYPE resque_jobs_retried_total counter\nresque_jobs_retried_total 0\n"
        ),
        "{text}"
    );
    let () = redis.conn().set("resque:stat:retried", "7").unwrap();
    let (_, _, text) = get(&app, "/metrics").await;
    assert!(text.contains("\nresque_jobs_retried_total 7\n"), "{text}");
}

#[tokio::test]
async fn the_failed_tab_shows_the_attempts_of_a_job_given_up_on() {
    let redis = TestRedis::start();
    let mut given_up: Value = serde_json::from_str(&kept_failure("Doomed", json!([9]), "boom")).unwrap();
    given_up["attempts"] = json!(3);
    let plain = kept_failure("Plain", json!([]), "once");
    let () = redis.conn().rpush("resque:failed", vec![given_up.to_string(), plain]).unwrap();
    let app = router(redis.client());
    let (status, _, page) = get(&app, "/failed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("gave up after 3 attempts").count(), 1, "{page}");
    assert!(page.contains("<dt>Attempts</dt><dd>3</dd>"), "{page}");
    let (_, _, api) = get(&app, "/api/failed").await;
    let entries = json_body(&api)["entries"].clone();
    assert_eq!((&entries[0]["attempts"], entries[1].get("attempts")), (&json!(3), None));
}
