//! The Delayed tab, its actions, `/api/delayed` and `resque_delayed_jobs`
//! against a real Redis holding delayed jobs as resque-scheduler and
//! node-resque write them.

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
const ITEM: &str = r#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#;
const NODE_ITEM: &str = r#"{"class":"Mailer","queue":"mail","args":["<script>alert(1)</script>"]}"#;

fn populate(redis: &TestRedis) {
    redis.delay_as_ruby(AT, ITEM);
    redis.delay_as_ruby(AT, NODE_ITEM);
    redis.delay_as_ruby(AT + 60, ITEM);
}

fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn the_tab_lists_seconds_and_one_seconds_jobs() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    let (status, _, empty) = get(&app, "/delayed").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("No delayed jobs."), "{empty}");
    populate(&redis);
    let (status, _, page) = get(&app, "/delayed").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"class="tab active" href="/delayed""#), "{page}");
    assert!(page.contains("3 delayed jobs") && page.contains("at 2 seconds"), "{page}");
    assert!(page.contains(&format!(r#"<tr data-at="{AT}">"#)), "{page}");
    assert!(page.contains(&format!(r#"href="/delayed/{AT}">{AT}</a>"#)), "{page}");
    assert!(page.contains(&format!(r#"action="/delayed/{}/queue-now""#, AT + 60)), "{page}");
    assert!(page.contains(&format!(r#"action="/delayed/{AT}/cancel""#)), "{page}");
    assert!(page.contains("data-live"), "{page}");
    let (status, _, second) = get(&app, &format!("/delayed/{AT}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(second.contains("2 jobs") && second.contains("Archive") && second.contains("Mailer"), "{second}");
    assert!(second.contains(r#"href="/queues/mail""#), "{second}");
    assert!(!second.contains("<script>alert(1)</script>"), "unescaped payload text");
    let (_, _, none) = get(&app, "/delayed/12").await;
    assert!(none.contains("No delayed jobs at this second"), "{none}");
}

#[tokio::test]
async fn a_search_finds_the_jobs_of_a_class() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (status, _, page) = get(&app, "/delayed?class=Archive").await;
    assert_eq!(status, StatusCode::OK);
    let found = &page[page.find(r#"id="found""#).expect("the search's card")..];
    assert!(found.contains(&format!(r#"href="/delayed/{AT}""#)), "{found}");
    assert!(found.contains(&format!(r#"href="/delayed/{}""#, AT + 60)), "{found}");
    assert!(!found.contains("Mailer"), "{found}");
    assert!(found.contains("44, &quot;masterbrew&quot;"), "{found}");
    let (_, _, none) = get(&app, "/delayed?class=Nope").await;
    assert!(none.contains("No delayed job of this class."), "{none}");
}

#[tokio::test]
async fn bad_seconds_are_a_400_with_a_reason() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    for bad in ["soon", "99999999999999999999", "1.5", "%00", "-"] {
        let (status, _, body) = get(&app, &format!("/delayed/{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.contains("is not a second"), "{bad}: {body}");
        let (status, _, body) = get(&app, &format!("/api/delayed/{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(json_body(&body)["error"].as_str().unwrap().contains("is not a second"), "{body}");
    }
    // Seconds out of the calendar's range are still seconds: shown, never a panic.
    let (status, _, body) = get(&app, &format!("/delayed/{}", i64::MIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = get(&app, "/delayed?start=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn queue_now_cancel_and_clear_need_the_token_and_act() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (_, _, page) = get(&app, "/delayed").await;
    let csrf = csrf_of(&page);
    let (status, _, _) = post(&app, &format!("/delayed/{AT}/queue-now"), "csrf=wrong&back=/delayed").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(redis.lrange("resque:queue:file_serve"), Vec::<String>::new());
    let (status, headers, _) =
        post(&app, &format!("/delayed/{AT}/queue-now"), &format!("csrf={csrf}&back=/delayed")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/delayed");
    assert_eq!(redis.lrange("resque:queue:file_serve"), [r#"{"class":"Archive","args":[44,"masterbrew"]}"#]);
    assert_eq!(
        redis.lrange("resque:queue:mail"),
        [r#"{"class":"Mailer","args":["<script>alert(1)</script>"]}"#]
    );
    let (status, _, body) = post(&app, "/delayed/soon/cancel", &format!("csrf={csrf}&back=/delayed")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("is not a second"), "{body}");
    let (status, _, _) =
        post(&app, &format!("/delayed/{}/cancel", AT + 60), &format!("csrf={csrf}&back=/delayed")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let left: Vec<String> = redis.conn().keys("resque:*delay*").unwrap();
    assert_eq!(left, Vec::<String>::new());
    redis.delay_as_ruby(AT, ITEM);
    let (status, _, _) = post(&app, "/delayed/clear", "csrf=&back=/delayed").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, headers, _) = post(&app, "/delayed/clear", &format!("csrf={csrf}&back=/delayed")).await;
    assert_eq!((status, &headers["location"]), (StatusCode::SEE_OTHER, &"/delayed".parse().unwrap()));
    let left: Vec<String> = redis.conn().keys("resque:*").unwrap();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["resque:queue:file_serve", "resque:queue:mail", "resque:queues"]);
}

#[tokio::test]
async fn the_api_gives_seconds_with_counts_and_one_seconds_jobs() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (status, _, body) = get(&app, "/api/delayed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_body(&body),
        json!({
            "count": 2, "jobs": 3, "start": 0,
            "seconds": [{"at": AT, "jobs": 2}, {"at": AT + 60, "jobs": 1}]
        })
    );
    let (_, _, body) = get(&app, "/api/delayed?start=1&count=1").await;
    assert_eq!(json_body(&body)["seconds"], json!([{"at": AT + 60, "jobs": 1}]));
    let (_, _, body) = get(&app, &format!("/api/delayed/{AT}?start=1")).await;
    assert_eq!(
        json_body(&body),
        json!({
            "at": AT, "size": 2, "start": 1,
            "jobs": [{"class": "Mailer", "queue": "mail", "args": ["<script>alert(1)</script>"]}]
        })
    );
    let (status, _, _) = get(&app, "/api/delayed?count=5000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metrics_count_the_delayed_jobs() {
    let redis = TestRedis::start();
    let app = router(redis.client());
    let (_, _, text) = get(&app, "/metrics").await;
    assert!(text.contains("# TYPE resque_delayed_jobs gauge\nresque_delayed_jobs 0\n"), "{text}");
    populate(&redis);
    let (_, _, text) = get(&app, "/metrics").await;
    assert!(text.contains("\nresque_delayed_jobs 3\n"), "{text}");
}
