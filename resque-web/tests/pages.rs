//! The HTML pages and their POST actions against a real Redis, request by
//! request: every tab renders Ruby-written data, actions change Redis only
//! with the CSRF token, payload text is escaped, links follow a mount point.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{csrf_of, get, post, request};
use redis::Commands;
use resque::failure::{FailureBackend, RedisFailures};
use resque::keys::{stat, Keys};
use resque::payload::FailureId;
use resque_tests::TestRedis;
use resque_web::{router, router_with, WebOptions};
use serde_json::{json, Value};

const WORKER: &str = "web1:4211:file_serve";
const XSS: &str = "<script>alert(1)</script>";

/// A failure entry as Ruby Resque writes it, by this file's worker.
fn ruby_failure(class: &str, queue: &str, args: Value, error: &str) -> String {
    common::ruby_failure(WORKER, class, queue, args, error)
}

/// The namespaced key names of the test Redis.
fn keys(redis: &TestRedis) -> Keys {
    redis.client().keys().clone()
}

/// Jobs in two queues (one carrying the XSS text), two failures and a busy
/// Ruby worker.
fn populate(redis: &TestRedis) {
    let client = redis.client();
    let keys = client.keys();
    client.enqueue_class("file_serve", "Archive", &(44, "masterbrew")).unwrap();
    client.enqueue_class("mail", "Mailer", &[XSS]).unwrap();
    let mut conn = redis.conn();
    let _: () = conn
        .rpush(keys.failed(), ruby_failure("Archive", "file_serve", json!([44, "masterbrew"]), "disk full"))
        .unwrap();
    let _: () =
        conn.rpush(keys.failed(), ruby_failure("Mailer", "mail", json!([XSS]), "<b>550</b>")).unwrap();
    let _: () = conn.sadd(keys.workers(), WORKER).unwrap();
    let _: () = conn.set(keys.worker_started(WORKER), "2026-11-23 23:50:00 +0000").unwrap();
    let _: () = conn
        .set(
            keys.worker(WORKER),
            json!({"queue": "file_serve", "run_at": "2026-11-23T23:50:00Z", "payload": {"class": "Archive", "args": [1, "main"]}})
                .to_string(),
        )
        .unwrap();
    let _: () = conn.set(keys.stat(stat::PROCESSED), "7").unwrap();
}

#[tokio::test]
async fn every_tab_renders_ruby_data() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    for (uri, expect) in [
        (
            "/overview",
            vec![
                "<h1>Overview</h1>",
                r#"<div class="n">2</div><div class="l">Pending</div>"#,
                r#"<div class="n">7</div><div class="l">Processed</div>"#,
                r#"<div class="n">2</div><div class="l">Failed</div>"#,
                r#"<a href="/queues/file_serve">file_serve</a></td><td class="num">1</td>"#,
                r#"<a href="/queues/mail">mail</a></td><td class="num">1</td>"#,
                r#"title="web1:4211:file_serve">web1:4211</a>"#,
                r#"<td class="mono">Archive</td>"#,
            ],
        ),
        ("/working", vec!["1 of 1 worker working", "web1:4211", "1, &quot;main&quot;"]),
        ("/failed", vec!["2 jobs", "disk full", "RuntimeError", "lib/resque/job.rb:166", "Retry all"]),
        (
            "/queues",
            vec![
                r#"<a href="/queues/file_serve">file_serve</a></td><td class="num">1</td>"#,
                r#"<a href="/queues/mail">mail</a></td><td class="num">1</td>"#,
                r#"<a href="/failed">failed</a></td><td class="num"><span class="badge bad">2</span>"#,
            ],
        ),
        ("/queues/file_serve", vec!["1 job", "44, &quot;masterbrew&quot;", "Remove queue"]),
        (
            "/workers",
            vec![
                "<h2>1 worker</h2>",
                r#"<span class="badge busy">working</span></td><td><a class="mono" href="/workers/web1%3A4211%3Afile_serve" title="web1:4211:file_serve">web1:4211</a>"#,
            ],
        ),
        ("/workers/web1%3A4211%3Afile_serve", vec!["Details", "file_serve", "Archive"]),
        ("/stats", vec![r#"<td>processed</td><td class="num">7</td>"#]),
        ("/stats/redis", vec!["redis_version"]),
        ("/stats/keys", vec!["queue:file_serve", "list", "stat:processed", "string"]),
        ("/stats/keys/queue%3Afile_serve", vec!["masterbrew", "list, size 1"]),
    ] {
        let (status, headers, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{uri}");
        assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
        for text in expect {
            assert!(body.contains(text), "{uri} lacks {text:?}");
        }
    }
    // Each key's row carries its type and size (a list's length, a string's bytes).
    let (_, _, keys) = get(&app, "/stats/keys").await;
    for row in [
        r#">queue:file_serve</a></td><td>list</td><td class="num">1</td>"#,
        r#">stat:processed</a></td><td>string</td><td class="num">1</td>"#,
        r#">failed</a></td><td>list</td><td class="num">2</td>"#,
    ] {
        assert!(keys.contains(row), "/stats/keys lacks {row:?}: {keys}");
    }
    let (status, headers, _) = get(&app, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/overview");
}

#[tokio::test]
async fn stats_txt_is_resque_webs() {
    let redis = TestRedis::start();
    populate(&redis);
    let (status, headers, body) = get(&router(redis.client()), "/stats.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(
        body,
        "resque.pending=2\nresque.processed+=7\nresque.failed+=2\nresque.workers=1\nresque.working=1\n\
         queues.file_serve=1\nqueues.mail=1"
    );
}

#[tokio::test]
async fn stats_txt_writes_each_queue_on_one_line() {
    let redis = TestRedis::start();
    let keys = keys(&redis);
    let mut conn = redis.conn();
    for name in [&b"a\nresque.fake=1"[..], b"caf\xe9\r", b"ok"] {
        let _: () = conn.sadd(keys.queues(), name).unwrap();
        let mut queue = keys.queue("").into_bytes();
        queue.extend_from_slice(name);
        let _: () = conn.rpush(queue, r#"{"class":"Archive","args":[]}"#).unwrap();
    }
    let (status, _, body) = get(&router(redis.client()), "/stats.txt").await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = body.lines().collect();
    assert!(!lines.iter().any(|l| l.starts_with("resque.fake")), "a queue name started a line: {body}");
    assert_eq!(lines.len(), 8, "{body}");
    assert_eq!(lines[5], "queues.a\\x0aresque.fake=1=1", "{body}");
    // (Its size is the library's to read; the name is this file's to write.)
    assert!(lines[6].starts_with("queues.caf\\xe9\\x0d="), "{body}");
    assert_eq!(lines[7], "queues.ok=1", "{body}");
}

#[tokio::test]
async fn payload_text_is_escaped_everywhere() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    // The pages showing the failure's error must show it escaped, not as markup.
    for (uri, shows_error) in [
        ("/failed", true),
        ("/queues/mail", false),
        ("/stats/keys/queue%3Amail", false),
        ("/stats/keys/failed", true),
    ] {
        let (_, _, body) = get(&app, uri).await;
        assert!(!body.contains(XSS), "{uri} carries the raw script");
        assert!(!body.contains("<b>550</b>"), "{uri} carries raw markup");
        assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{uri} lacks the escaped text");
        if shows_error {
            assert!(body.contains("&lt;b&gt;550&lt;/b&gt;"), "{uri} lacks the escaped error");
        }
    }
}

#[tokio::test]
async fn actions_need_the_csrf_token() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let client = redis.client();

    // Retrying on GET, as resque-web does, is not a route.
    let (status, _, _) = get(&app, "/failed/0/retry").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, body) = post(&app, "/failed/0/retry", "back=%2Ffailed").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    let (status, _, _) = post(&app, "/failed/0/retry", "csrf=guess&back=%2Ffailed").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = post(&app, "/queues/mail/remove", "csrf=").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(client.size("file_serve").unwrap(), 1, "nothing was retried");
    assert!(client.queues().unwrap().contains(&"mail".to_string()), "nothing was removed");

    // With the page's token, from the same origin, it works.
    let (_, _, page) = get(&app, "/failed").await;
    assert!(!page.contains(r#"<span class="badge retried""#), "nothing is marked retried yet");
    let token = csrf_of(&page);
    let (status, headers, body) =
        post(&app, "/failed/0/retry", &format!("csrf={token}&back=%2Ffailed%3Fstart%3D0")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(headers[header::LOCATION], "/failed?start=0");
    assert_eq!(client.size("file_serve").unwrap(), 2, "the failed job is back in its queue");
    let (_, _, page) = get(&app, "/failed").await;
    assert!(page.contains(r#"<span class="badge retried""#), "the entry is marked retried");

    // A cross-site form carrying a stolen token is refused by its Origin.
    let req = Request::post("/queues/mail/remove")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "localhost:5678")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(format!("csrf={token}")))
        .unwrap();
    let (status, _, _) = request(&app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(client.queues().unwrap().contains(&"mail".to_string()));

    // `back` never leaves the app.
    let (status, headers, _) =
        post(&app, "/failed/0/remove", &format!("csrf={token}&back=%2F%2Fevil.example")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/failed");
    assert_eq!(client.failed_count().unwrap(), 1);
}

#[tokio::test]
async fn failure_actions() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let client = redis.client();
    let (_, _, page) = get(&app, "/failed").await;
    let token = csrf_of(&page);

    // Newest first: the Mailer entry (index 1) comes before Archive (0).
    let mailer = page.find(r#"id="failure-1""#).unwrap();
    let archive = page.find(r#"id="failure-0""#).unwrap();
    assert!(mailer < archive);

    // Filters.
    let (_, _, page) = get(&app, "/failed?class=Mailer").await;
    assert!(page.contains(r#"id="failure-1""#) && !page.contains(r#"id="failure-0""#));
    let (_, _, page) = get(&app, "/failed?queue=file_serve").await;
    assert!(page.contains(r#"id="failure-0""#) && !page.contains(r#"id="failure-1""#));

    let (status, _, body) = post(&app, "/failed/7/retry", &format!("csrf={token}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, _, _) = post(&app, "/failed/retry-all", &format!("csrf={token}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!((client.size("file_serve").unwrap(), client.size("mail").unwrap()), (2, 2));
    let (status, _, _) = post(&app, "/failed/clear-retried", &format!("csrf={token}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(client.failed_count().unwrap(), 0);

    let mut conn = redis.conn();
    let _: () =
        conn.rpush(keys(&redis).failed(), ruby_failure("Archive", "file_serve", json!([1]), "x")).unwrap();
    let (status, _, _) = post(&app, "/failed/clear", &format!("csrf={token}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(client.failed_count().unwrap(), 0);
}

/// The ids the Failed page's `verb` buttons (`retry`, `remove`) post to, in page order.
fn posted_ids(page: &str, verb: &str) -> Vec<String> {
    let suffix = format!("/{verb}\"");
    page.match_indices(r#"action="/failed/"#)
        .filter_map(|(at, m)| {
            let rest = &page[at + m.len()..];
            let end = rest.find('"')?;
            rest[..end + 1].strip_suffix(&suffix[1..]).and_then(|id| id.strip_suffix('/')).map(str::to_string)
        })
        .collect()
}

#[tokio::test]
async fn failure_buttons_post_ids_and_a_gone_id_is_a_notice() {
    let redis = TestRedis::start();
    populate(&redis);
    let third = ruby_failure("Archive", "file_serve", json!([3]), "third");
    let _: () = redis.conn().rpush(keys(&redis).failed(), &third).unwrap();
    let entries: Vec<String> = redis.conn().lrange(keys(&redis).failed(), 0, -1).unwrap();
    let ids: Vec<String> = entries.iter().map(|e| FailureId::of(e.as_bytes()).to_string()).collect();
    let app = router(redis.client());
    let client = redis.client();
    let (_, _, page) = get(&app, "/failed").await;
    let token = csrf_of(&page);
    // Newest first, each button naming its entry by id.
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(posted_ids(&page, "retry"), newest_first, "{page}");
    assert_eq!(posted_ids(&page, "remove"), newest_first);
    assert!(page.contains(&format!(r#"data-index="1" data-id="{}""#, ids[1])), "{page}");
    assert!(page.contains(&format!("id {}</span>", ids[1])), "the id is shown");

    // Another client removes index 0 after the page was shown: the Mailer
    // entry the user sees as index 1 is now at 0, and index 1 is `third`.
    RedisFailures::new(client.clone()).remove(0).unwrap();
    let (status, headers, _) = post(
        &app,
        &format!("/failed/{}/remove", ids[1]),
        &format!("csrf={token}&back=%2Ffailed%3Fstart%3D0"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/failed?start=0");
    let left: Vec<String> = redis.conn().lrange(keys(&redis).failed(), 0, -1).unwrap();
    assert_eq!(left, std::slice::from_ref(&third), "the entry seen was removed, not its neighbour");

    // Pressing a button of the old page again: its entry is gone. The page
    // says so, and nothing changes.
    for verb in ["remove", "retry"] {
        let (status, headers, body) = post(
            &app,
            &format!("/failed/{}/{verb}", ids[1]),
            &format!("csrf={token}&back=%2Ffailed%3Fstart%3D0%26gone%3D{}", ids[0]),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{verb}: {body}");
        let location = headers[header::LOCATION].to_str().unwrap().to_string();
        assert_eq!(location, format!("/failed?start=0&gone={}", ids[1]), "{verb}");
        let (status, _, page) = get(&app, &location).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains(&format!(
                "No failure entry with id <code>{}</code> any more: it was removed or changed since the page was shown, so nothing was done.",
                ids[1]
            )),
            "{page}"
        );
    }
    assert_eq!(client.failed_count().unwrap(), 1);
    assert_eq!(client.size("mail").unwrap(), 1, "nothing was retried");
    // A later action that works leaves no stale notice behind.
    let (_, headers, _) = post(
        &app,
        &format!("/failed/{}/retry", ids[2]),
        &format!("csrf={token}&back=%2Ffailed%3Fgone%3D{}", ids[1]),
    )
    .await;
    assert_eq!(headers[header::LOCATION], "/failed");
    assert_eq!(client.size("file_serve").unwrap(), 2);
    let (_, _, page) = get(&app, "/failed").await;
    assert!(!page.contains("No failure entry with id"));
    // A retried entry keeps its id, so the button still names it.
    assert_eq!(posted_ids(&page, "remove"), [ids[2].clone()]);
}

#[tokio::test]
async fn retry_not_retried_is_the_first_retry_button() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let client = redis.client();
    let (_, _, page) = get(&app, "/failed").await;
    let token = csrf_of(&page);
    let first = page.find(r#"<button class="btn primary" type="submit">Retry not yet retried</button>"#);
    let all = page.find(r#"<button class="btn" type="submit">Retry all, including retried</button>"#);
    assert!(first.is_some() && all.is_some() && first < all, "{page}");
    assert!(page.contains(r#"action="/failed/retry-not-retried""#));
    for words in [
        "pressing it twice runs no job twice",
        "puts back every job in the list, those already retried too, so each of those runs again",
    ] {
        assert!(page.contains(words), "{words:?} missing");
    }

    let (status, _, _) = post(&app, "/failed/0/retry", &format!("csrf={token}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!((client.size("file_serve").unwrap(), client.size("mail").unwrap()), (2, 1));
    // Five clicks retry the entry not retried yet once.
    for _ in 0..5 {
        let (status, _, _) = post(&app, "/failed/retry-not-retried", &format!("csrf={token}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    assert_eq!((client.size("file_serve").unwrap(), client.size("mail").unwrap()), (2, 2));
    let (status, _, _) = post(&app, "/failed/retry-all", &format!("csrf={token}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!((client.size("file_serve").unwrap(), client.size("mail").unwrap()), (3, 3));
}

#[tokio::test]
async fn failed_pages_twenty_at_a_time() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    for i in 0..45 {
        let _: () = conn
            .rpush(keys(&redis).failed(), ruby_failure("Archive", "file_serve", json!([i]), "x"))
            .unwrap();
    }
    let app = router(redis.client());
    let (_, _, page) = get(&app, "/failed").await;
    assert!(page.contains("Showing 1 to 20 of 45"));
    assert!(page.contains(r#"id="failure-44""#) && page.contains(r#"id="failure-25""#));
    assert!(!page.contains(r#"id="failure-24""#));
    let (_, _, page) = get(&app, "/failed?start=40").await;
    assert!(page.contains("Showing 41 to 45 of 45"));
    assert!(page.contains(r#"id="failure-4""#) && page.contains(r#"id="failure-0""#));
}

#[tokio::test]
async fn a_start_past_the_end_shows_the_last_page_and_garbage_is_a_400() {
    let redis = TestRedis::start();
    let client = redis.client();
    let mut conn = redis.conn();
    for i in 0..45 {
        client.enqueue_class("file_serve", "Archive", &[i]).unwrap();
        let _: () = conn
            .rpush(keys(&redis).failed(), ruby_failure("Archive", "file_serve", json!([i]), "boom"))
            .unwrap();
    }
    let app = router(redis.client());
    for huge in ["45", "18446744073709551615", "18446744073709551616", "99999999999999999999999999999"] {
        let (status, _, page) = get(&app, &format!("/queues/file_serve?start={huge}")).await;
        assert_eq!(status, StatusCode::OK, "{huge}: {page}");
        assert!(page.contains("Showing 41 to 45 of 45"), "{huge}: {page}");
        assert!(page.contains(r#"<td class="num">44</td>"#), "{huge}: the last job is shown");
        assert!(!page.contains("Showing 0") && !page.contains("to 18446744073709551615"), "{huge}: {page}");
        let (status, _, page) = get(&app, &format!("/failed?start={huge}")).await;
        assert_eq!(status, StatusCode::OK, "{huge}: {page}");
        assert!(page.contains("Showing 41 to 45 of 45"), "{huge}: {page}");
        assert!(page.contains(r#"id="failure-0""#), "{huge}: the oldest entry is shown");
        let (status, _, page) = get(&app, &format!("/failed?class=Archive&start={huge}")).await;
        assert_eq!(status, StatusCode::OK, "{huge}: {page}");
        assert!(page.contains("Showing 41 to 45 of 45"), "filtered, {huge}: {page}");
    }
    for garbage in ["-1", "x", "1e3", "%2B%2B", "0x10"] {
        for path in ["/queues/file_serve", "/failed"] {
            let (status, _, page) = get(&app, &format!("{path}?start={garbage}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?start={garbage}");
            assert!(page.contains("start must be a non-negative integer"), "{page}");
        }
    }
}

#[tokio::test]
async fn multi_queue_failures_have_their_own_view() {
    let redis = TestRedis::start();
    let mut conn = redis.conn();
    let keys = keys(&redis);
    let _: () = conn.sadd(keys.failed_queues(), Keys::failed_queue_name("mail")).unwrap();
    let _: () = conn
        .rpush(keys.failed_queue("mail"), ruby_failure("Mailer", "mail", json!([1]), "smtp down"))
        .unwrap();
    let app = router(redis.client());
    let (_, _, page) = get(&app, "/failed").await;
    assert!(page.contains("Failed queues") && page.contains("mail_failed"), "{page}");
    let (status, _, page) = get(&app, "/failed?list=mail_failed").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("smtp down"));
    let token = csrf_of(&page);
    let (status, _, _) = post(&app, "/failed/0/retry", &format!("csrf={token}&list=mail_failed")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(redis.client().size("mail").unwrap(), 1);
    // The buttons of a `<queue>_failed` list post ids too, acted on in that list.
    let second = ruby_failure("Mailer", "mail", json!([2]), "smtp down again");
    let _: () = conn.rpush(keys.failed_queue("mail"), &second).unwrap();
    let id = FailureId::of(second.as_bytes()).to_string();
    let (_, _, page) = get(&app, "/failed?list=mail_failed").await;
    assert!(posted_ids(&page, "remove").contains(&id), "{page}");
    let (status, _, _) =
        post(&app, &format!("/failed/{id}/remove"), &format!("csrf={token}&list=mail_failed")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let left: Vec<String> = conn.lrange(keys.failed_queue("mail"), 0, -1).unwrap();
    assert_eq!(left.len(), 1);
    assert!(!left.contains(&second));
    let (_, headers, _) =
        post(&app, &format!("/failed/{id}/retry"), &format!("csrf={token}&list=mail_failed")).await;
    assert_eq!(headers[header::LOCATION], format!("/failed?gone={id}"));
    let (status, _, _) = post(&app, "/failed/clear", &format!("csrf={token}&list=mail_failed")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let left: u64 = conn.llen(keys.failed_queue("mail")).unwrap();
    assert_eq!(left, 0);
    let (status, _, _) = get(&app, "/failed?list=nope_failed").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A link's path and query as a browser sends it: `.` and `..` segments
/// (`%2E` too, any case) resolved away, as the URL standard says.
fn as_a_browser_sends(href: &str) -> String {
    let (path, query) = match href.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (href, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let lower = seg.to_ascii_lowercase();
        let last = i == segments.len() - 1;
        if lower == "." || lower == "%2e" {
            if last {
                out.push("");
            }
        } else if matches!(lower.as_str(), ".." | ".%2e" | "%2e." | "%2e%2e") {
            out.pop();
            if last {
                out.push("");
            }
        } else {
            out.push(seg);
        }
    }
    let path = format!("/{}", out.join("/"));
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

/// The `href` of the link whose text is `text`.
fn href_of<'a>(page: &'a str, text: &str) -> &'a str {
    let end = page.find(&format!(">{text}</a>")).unwrap_or_else(|| panic!("no link {text:?} in {page}"));
    let start = page[..end].rfind("href=\"").unwrap() + "href=\"".len();
    &page[start..start + page[start..].find('"').unwrap()]
}

#[tokio::test]
async fn dot_queues_are_reached_from_their_links() {
    let redis = TestRedis::start();
    let client = redis.client();
    client.enqueue_class(".", "Dot", &[1]).unwrap();
    client.enqueue_class("..", "DotDot", &[2]).unwrap();
    client.enqueue_class("...", "Dots", &[3]).unwrap();
    let app = router(redis.client());
    assert_eq!(as_a_browser_sends("/queues/."), "/queues/", "the normalizer resolves as browsers do");
    assert_eq!(as_a_browser_sends("/queues/%2E%2E/remove"), "/remove");
    let (_, _, list) = get(&app, "/queues").await;
    for (name, class) in [(".", "Dot"), ("..", "DotDot"), ("...", "Dots")] {
        let sent = as_a_browser_sends(href_of(&list, name));
        let (status, _, page) = get(&app, &sent).await;
        assert_eq!(status, StatusCode::OK, "{name}: {sent}: {page}");
        assert!(page.contains(&format!("<h1>Queue <code>{name}</code></h1>")), "{name}: {sent}: {page}");
        assert!(page.contains(&format!(r#"<td class="mono">{class}</td>"#)), "{name}: {page}");
    }
    // The Overview's links too.
    let (_, _, overview) = get(&app, "/overview").await;
    let (status, _, page) = get(&app, &as_a_browser_sends(href_of(&overview, ".."))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Queue <code>..</code></h1>"));

    // The queue page's Remove removes that queue, and no other.
    let (_, _, page) = get(&app, &as_a_browser_sends(href_of(&list, ".."))).await;
    let at = page.find(r#"method="post" action=""#).unwrap() + r#"method="post" action=""#.len();
    let action = as_a_browser_sends(&page[at..at + page[at..].find('"').unwrap()].replace("&amp;", "&"));
    let (status, headers, body) = post(&app, &action, &format!("csrf={}", csrf_of(&page))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{action}: {body}");
    assert_eq!(headers[header::LOCATION], "/queues");
    assert_eq!(client.queues().unwrap(), [".", "..."]);
    assert_eq!(client.size(".").unwrap(), 1);

    // Today's URLs still work for ordinary names, and the query form for any.
    let (status, _, _) = get(&app, "/queues/...").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, page) = get(&app, "/queue?name=...").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Queue <code>...</code></h1>"));
    let (status, _, _) = get(&app, "/queue").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn overview_shows_each_queues_latency() {
    let redis = TestRedis::start();
    let client = redis.client();
    let keys = keys(&redis);
    let now = client.redis_time().unwrap();
    let iso = |at: i64| {
        jiff::Timestamp::from_second(at).unwrap().strftime("%Y-%m-%dT%H:%M:%S.123456789Z").to_string()
    };
    let mut conn = redis.conn();
    // Hand-written payload bytes, the oldest job first in each list.
    let payloads: [(&str, String); 5] = [
        (
            "sidekiq",
            format!(
                r#"{{"class":"Archive","args":[1],"enqueued_at":{}.25}}"#,
                now - (2 * 3600 + 30 * 60 + 30)
            ),
        ),
        (
            "sidekiq_iso",
            format!(
                r#"{{"class":"Archive","args":[1],"enqueued_at":"{}"}}"#,
                iso(now - 2 * 86_400 - 4 * 3600 - 1800)
            ),
        ),
        (
            "rails",
            format!(
                r#"{{"class":"ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper","args":[{{"job_class":"MailJob","job_id":"b1","queue_name":"rails","arguments":[],"enqueued_at":"{}"}}]}}"#,
                iso(now - 3 * 86_400 - 5 * 3600 - 1800)
            ),
        ),
        ("plain", r#"{"class":"Archive","args":[44,"masterbrew"]}"#.to_string()),
        ("garbage", "not json at all".to_string()),
    ];
    for (queue, payload) in &payloads {
        let _: () = conn.rpush(keys.queue(queue), payload).unwrap();
        let _: () = conn.rpush(keys.queue(queue), r#"{"class":"Later","args":[]}"#).unwrap();
        let _: () = conn.sadd(keys.queues(), *queue).unwrap();
    }
    let _: () = conn.sadd(keys.queues(), "empty").unwrap();
    let app = router(redis.client());
    for uri in ["/overview", "/queues"] {
        let (status, _, page) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK);
        let cell = |queue: &str| {
            let row = &page[page.find(&format!(">{queue}</a>")).unwrap()..];
            let at = row.find(r#"class="num latency"#).unwrap();
            row[at..at + row[at..].find("</td>").unwrap()].to_string()
        };
        assert!(cell("sidekiq").ends_with(">2 h 30 m"), "{uri}: {}", cell("sidekiq"));
        assert!(cell("sidekiq").contains("The oldest job was enqueued at "), "{}", cell("sidekiq"));
        assert!(cell("sidekiq_iso").ends_with(">2 d 4 h"), "{uri}: {}", cell("sidekiq_iso"));
        assert!(cell("rails").ends_with(">3 d 5 h"), "{uri}: {}", cell("rails"));
        for none in ["plain", "garbage"] {
            assert!(cell(none).ends_with(">—"), "{uri}: {none}: {}", cell(none));
            assert!(cell(none).contains("carries no enqueue time"), "{uri}: {none}: {}", cell(none));
        }
        assert!(cell("empty").ends_with(">0 s"), "{uri}: {}", cell("empty"));
    }
}

#[tokio::test]
async fn remove_queue() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = router(redis.client());
    let (_, _, page) = get(&app, "/queues/mail").await;
    let (status, headers, _) = post(&app, "/queues/mail/remove", &format!("csrf={}", csrf_of(&page))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/queues");
    assert_eq!(redis.client().queues().unwrap(), vec!["file_serve".to_string()]);
    let (status, _, _) = get(&app, "/queues/mail").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn stale_workers_are_flagged_and_pruned() {
    let redis = TestRedis::start();
    populate(&redis);
    let stale = "db1:99:mail";
    let mut conn = redis.conn();
    let keys = keys(&redis);
    let _: () = conn.sadd(keys.workers(), stale).unwrap();
    let _: () = conn.hset(keys.heartbeat(), stale, "2026-01-01T00:00:00+00:00").unwrap();
    // A job it had in flight goes back to its queue when it is pruned.
    let _: () = conn
        .rpush(keys.inflight(stale), r#"{"queue":"mail","payload":"{\"class\":\"Mailer\",\"args\":[9]}"}"#)
        .unwrap();
    let now: i64 = redis.client().redis_time().unwrap();
    let fresh = jiff::Timestamp::from_second(now).unwrap().strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let _: () = conn.hset(keys.heartbeat(), WORKER, fresh).unwrap();

    let app = router(redis.client());
    let (_, _, page) = get(&app, "/workers").await;
    assert!(page.contains("1 worker has sent no heartbeat"), "{page}");
    assert!(page.contains("stale") && page.contains("Prune stale workers"));
    assert!(page.contains("on 2 hosts"), "grouped by host");
    let (status, _, _) =
        post(&app, "/workers/prune", &format!("csrf={}&back=%2Fworkers", csrf_of(&page))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(redis.client().workers().unwrap(), vec![WORKER.to_string()], "only the stale worker went");
    assert_eq!(redis.client().size("mail").unwrap(), 2, "its in-flight job is back");
    let (status, _, _) = get(&app, &format!("/workers/{}", "db1%3A99%3Amail")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A stale Ruby worker (nothing in flight) pruned from the page has its job
/// failed as Ruby's pruning records it.
#[tokio::test]
async fn pruning_a_stale_ruby_worker_fails_its_job_as_ruby_does() {
    let redis = TestRedis::start();
    let keys = keys(&redis);
    let stale = "db1:99:mail";
    let mut conn = redis.conn();
    let _: () = conn.sadd(keys.workers(), stale).unwrap();
    let _: () = conn.hset(keys.heartbeat(), stale, "2026-01-01T00:00:00+00:00").unwrap();
    let job = json!({"queue": "mail", "run_at": "2026-01-01T00:00:00Z", "payload": {"class": "Mailer", "args": [9]}});
    let _: () = conn.set(keys.worker(stale), job.to_string()).unwrap();

    let app = router(redis.client());
    let (_, _, page) = get(&app, "/workers").await;
    let (status, _, _) = post(&app, "/workers/prune", &format!("csrf={}", csrf_of(&page))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(redis.client().workers().unwrap().is_empty(), "the stale worker went");
    let failed: Vec<String> = conn.lrange(keys.failed(), 0, -1).unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let entry: Value = serde_json::from_str(&failed[0]).unwrap();
    assert_eq!(entry["exception"], "Resque::PruneDeadWorkerDirtyExit", "{entry}");
    assert_eq!(entry["worker"], stale);
    assert_eq!(entry["payload"]["class"], "Mailer");
}

#[tokio::test]
async fn links_follow_the_mount_point() {
    let redis = TestRedis::start();
    populate(&redis);
    let app = Router::new().nest("/admin/resque", router(redis.client()));
    let (status, _, page) = get(&app, "/admin/resque/overview").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"href="/admin/resque/failed""#));
    assert!(page.contains(r#"href="/admin/resque/assets/app.css""#));
    assert!(page.contains(r#"href="/admin/resque/queues/file_serve""#));
    let (status, _, css) = get(&app, "/admin/resque/assets/app.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains(".card"));
    let (_, _, page) = get(&app, "/admin/resque/queues/mail").await;
    let (status, headers, _) =
        post(&app, "/admin/resque/queues/mail/remove", &format!("csrf={}", csrf_of(&page))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/admin/resque/queues");
}

#[tokio::test]
async fn pages_need_auth_when_asked() {
    let redis = TestRedis::start();
    let app = router_with(redis.client(), WebOptions::new().with_auth("admin", "s3cret"));
    let (status, _, _) = get(&app, "/overview").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = post(&app, "/failed/clear", "csrf=x").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let with_auth = |credentials: &str| {
        Request::get("/overview")
            .header(header::AUTHORIZATION, format!("Basic {credentials}"))
            .body(Body::empty())
            .unwrap()
    };
    // admin:s3cret gets in; admin:wrong does not.
    let (status, _, page) = request(&app, with_auth("YWRtaW46czNjcmV0")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1>Overview</h1>"), "{page}");
    let (status, _, _) = request(&app, with_auth("YWRtaW46d3Jvbmc=")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn redis_down_is_a_503_page_with_the_navigation() {
    let mut redis = TestRedis::start();
    let app = router(redis.client());
    redis.stop();
    let banner = format!("Redis at {} is not answering: ", redis.client().address());
    for (uri, active) in
        [("/overview", "Overview"), ("/queues/mail", "Queues"), ("/failed?start=20", "Failed")]
    {
        let (status, headers, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert!(body.contains(&banner) && body.contains("; retrying"), "{uri}: {body}");
        assert!(body.contains("data-redis-down"), "{uri}: {body}");
        for (path, label) in
            [("/overview", "Overview"), ("/queues", "Queues"), ("/failed", "Failed"), ("/workers", "Workers")]
        {
            assert!(
                body.contains(&format!(r#"href="{path}">{label}</a>"#)),
                "{uri} lacks the {label} tab: {body}"
            );
        }
        assert!(
            body.contains(&format!(r#"class="tab active" href="/{}">"#, active.to_lowercase())),
            "{uri}: {body}"
        );
    }
    // Mounted under a prefix, the tabs follow the mount point.
    let nested = Router::new().nest("/admin/resque", router(redis.client()));
    let (status, _, body) = get(&nested, "/admin/resque/failed").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains(r#"href="/admin/resque/queues">Queues</a>"#), "{body}");
    assert!(body.contains(r#"class="tab active" href="/admin/resque/failed">"#), "{body}");

    // A POST is checked for its token before Redis is asked.
    let (status, _, body) = post(&app, "/failed/clear", "csrf=x").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the token is checked before Redis is asked: {body}");

    // Redis comes back: the next request is served, nothing restarted.
    redis.restart();
    let (status, _, body) = get(&app, "/overview").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains("data-redis-down"), "{body}");
    assert!(body.contains("<h1>Overview</h1>"));
}
