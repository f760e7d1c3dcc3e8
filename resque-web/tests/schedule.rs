//! The Schedule tab, its actions, `/api/schedules` and
//! `resque_scheduler_leader` against a real Redis holding dynamic
//! schedules and a master lock as resque-scheduler writes them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use axum::http::StatusCode;
use common::{csrf_of, get, post};
use redis::Commands;
use resque::scheduler::ScheduleEntry;
use resque_tests::TestRedis;
use resque_web::{router, router_with, WebOptions};
use serde_json::{json, Value};

const PERSISTENT: &str = "resque:persistent_schedules";
const LOCK: &str = "resque:resque:resque_scheduler_master_lock";

/// A dynamic schedule as Ruby's `Resque.set_schedule` persists it, and a
/// static one from a schedule file.
fn populate(redis: &TestRedis) -> Vec<ScheduleEntry> {
    let _: () = redis
        .conn()
        .hset(
            PERSISTENT,
            "dyn",
            r#"{"every":"1h","class":"Mailer","queue":"mail","args":["<script>x</script>"]}"#,
        )
        .unwrap();
    let _: () =
        redis.conn().hset("resque:delayed:last_enqueued_at", "dyn", "2026-12-01 21:21:54 +0000").unwrap();
    ScheduleEntry::parse_file_text(
        "nightly:\n  cron: \"0 3 * * *\"\n  class: Archive\n  queue: file_serve\n  args: [44]\n",
    )
    .unwrap()
}

/// A Redis with [`populate`]'s schedules and the app listing its static one.
fn populated_app() -> (TestRedis, axum::Router) {
    let redis = TestRedis::start();
    let statics = populate(&redis);
    let app = router_with(redis.client(), WebOptions::new().with_schedules(statics));
    (redis, app)
}

fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn the_tab_lists_static_and_dynamic_schedules_and_the_leader() {
    let redis = TestRedis::start();
    // The job declared with a cron in the test binary is listed from the start.
    let (status, _, declared) = get(&router(redis.client()), "/schedule").await;
    assert_eq!(status, StatusCode::OK);
    assert!(declared.contains("1 schedule<") && declared.contains("no scheduler leads"), "{declared}");
    assert!(
        declared.contains("cron 0 0 1 1 * UTC") && declared.contains(r#"href="/queues/yearly""#),
        "{declared}"
    );
    let statics = populate(&redis);
    let _: () = redis.conn().set(LOCK, "web1:42").unwrap();
    let app = router_with(redis.client(), WebOptions::new().with_schedules(statics));
    let (status, _, page) = get(&app, "/schedule").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"class="tab active" href="/schedule""#), "{page}");
    assert!(page.contains("3 schedules") && page.contains("web1:42"), "{page}");
    assert!(page.contains(r#"<tr data-schedule="nightly">"#) && page.contains("cron 0 3 * * *"), "{page}");
    assert!(page.contains(r#"<tr data-schedule="dyn">"#) && page.contains("every 1h"), "{page}");
    assert!(page.contains(r#"action="/schedule/nightly/enqueue-now""#), "{page}");
    assert!(page.contains(r#"action="/schedule/dyn/remove""#), "{page}");
    assert!(!page.contains(r#"action="/schedule/nightly/remove""#), "a static one cannot be removed");
    assert!(page.contains(r#"href="/queues/mail""#) && page.contains("data-live"), "{page}");
    assert!(!page.contains("<script>x</script>"), "unescaped args");
}

#[tokio::test]
async fn enqueue_now_and_remove_need_the_token_and_act() {
    let (redis, app) = populated_app();
    let (_, _, page) = get(&app, "/schedule").await;
    let csrf = csrf_of(&page);
    let (status, _, _) = post(&app, "/schedule/nightly/enqueue-now", "csrf=wrong&back=/schedule").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(redis.lrange("resque:queue:file_serve"), Vec::<String>::new());
    let form = format!("csrf={csrf}&back=/schedule");
    let (status, headers, _) = post(&app, "/schedule/nightly/enqueue-now", &form).await;
    assert_eq!((status, &headers["location"]), (StatusCode::SEE_OTHER, &"/schedule".parse().unwrap()));
    assert_eq!(redis.lrange("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44]}"#]);
    let (status, _, _) = post(&app, "/schedule/dyn/enqueue-now", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(redis.lrange("resque:queue:mail"), [r#"{"class":"Mailer","args":["<script>x</script>"]}"#]);
    // The last run stays: the next one is not moved.
    let last: Option<String> = redis.conn().hget("resque:delayed:last_enqueued_at", "dyn").unwrap();
    assert_eq!(last.as_deref(), Some("2026-12-01 21:21:54 +0000"));
    let (status, _, body) = post(&app, "/schedule/nope/enqueue-now", &form).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = post(&app, "/schedule/dyn/remove", "csrf=&back=/schedule").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = post(&app, "/schedule/dyn/remove", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let left: Option<String> = redis.conn().hget(PERSISTENT, "dyn").unwrap();
    assert_eq!(left, None);
    let changed: Vec<String> = redis.conn().smembers("resque:schedules_changed").unwrap();
    assert_eq!(changed, ["dyn"]);
    let (status, _, _) = post(&app, "/schedule/nightly/remove", &form).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a static schedule is not in Redis");
}

#[tokio::test]
async fn the_api_gives_every_schedule_and_the_leader() {
    let (_redis, app) = populated_app();
    let (status, _, body) = get(&app, "/api/schedules").await;
    assert_eq!(status, StatusCode::OK);
    let body = json_body(&body);
    assert_eq!(body["leader"], Value::Null);
    let schedules = body["schedules"].as_array().unwrap();
    assert_eq!(schedules.len(), 3, "the file's, the declared one, the dynamic one: {body}");
    let dynamic = &schedules[2];
    for (key, want) in [
        ("name", json!("dyn")),
        ("class", json!("Mailer")),
        ("queue", json!("mail")),
        ("args", json!(["<script>x</script>"])),
        ("cron", Value::Null),
        ("every", json!("1h")),
        ("dynamic", json!(true)),
        ("last_run", json!("2026-12-01 21:21:54 +0000")),
    ] {
        assert_eq!(dynamic[key], want, "{key}: {dynamic}");
    }
    assert_eq!(dynamic["next_run_at"].as_i64().unwrap() % 3600, 1_764_624_114 % 3600, "{dynamic}");
    assert_eq!(
        (schedules[0]["cron"].as_str(), schedules[0]["dynamic"].as_bool()),
        (Some("0 3 * * *"), Some(false))
    );
}

#[tokio::test]
async fn metrics_say_whether_a_scheduler_leads() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    for (holder, sample) in [
        (None, "\nresque_scheduler_leader 0\n"),
        (Some("rubyhost:77"), "\nresque_scheduler_leader{leader=\"rubyhost:77\"} 1\n"),
    ] {
        if let Some(holder) = holder {
            let _: () = redis.conn().set(LOCK, holder).unwrap();
        }
        let text = get(&app, "/metrics").await.2;
        assert!(text.contains("# TYPE resque_scheduler_leader gauge\n") && text.contains(sample), "{text}");
    }
}
