//! What guards every answer: the Host check against DNS rebinding (GET and
//! POST), the Origin check against the app's hosts, and the security
//! headers on pages, errors, JSON, assets and text; and the app served on
//! a real socket with no Redis behind it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::io::{Read, Write};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use common::{csrf_of, get, request};
use resque_tests::TestRedis;
use resque_web::{router, router_with, WebOptions};

/// A request for `uri` naming `host`, with `method` and a form body.
fn with_host(method: &str, uri: &str, host: &str, form: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri).header(header::HOST, host);
    if form.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    req.body(form.map_or_else(Body::empty, |f| Body::from(f.to_string()))).unwrap()
}

fn assert_security_headers(what: &str, headers: &HeaderMap) {
    let csp = headers.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap().to_string());
    let csp = csp.unwrap_or_else(|| panic!("{what}: no Content-Security-Policy in {headers:?}"));
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(headers.get(header::X_FRAME_OPTIONS).map(|v| v.as_bytes()), Some(&b"DENY"[..]), "{what}");
    assert_eq!(
        headers.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{what}"
    );
    assert_eq!(
        headers.get(header::REFERRER_POLICY).map(|v| v.as_bytes()),
        Some(&b"same-origin"[..]),
        "{what}"
    );
}

#[tokio::test]
async fn a_foreign_host_is_refused_on_get_and_post() {
    let redis = TestRedis::start();
    let client = redis.client();
    client.enqueue_class("mail", "Mailer", &[1]).unwrap();
    let app = router(redis.client());

    for host in ["evil.example:5678", "evil.example", "localhost.evil.example", "EVIL.example."] {
        let (status, headers, body) = request(&app, with_host("GET", "/overview", host, None)).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{host}: {body}");
        assert!(body.contains("--allowed-host"), "{host}: the page says how to allow it: {body}");
        assert!(!body.contains("csrf"), "{host}: {body}");
        assert_security_headers(&format!("refused {host}"), &headers);
    }
    let (status, _, body) = request(&app, with_host("GET", "/overview", "evil.example:5678", None)).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    assert!(body.contains("&quot;evil.example:5678&quot;"), "names the refused host: {body}");
    let (status, headers, body) = request(&app, with_host("GET", "/api/info", "evil.example", None)).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    assert!(body.contains("--allowed-host"), "{body}");

    // A POST with a token read earlier (as a rebinding page would) is
    // refused by its Host alone, and nothing is removed.
    let (_, _, page) = request(&app, with_host("GET", "/queues/mail", "localhost", None)).await;
    let form = format!("csrf={}", csrf_of(&page));
    let (status, _, _) =
        request(&app, with_host("POST", "/queues/mail/remove", "evil.example:5678", Some(&form))).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    assert!(client.queues().unwrap().contains(&"mail".to_string()), "nothing was removed");

    // The app's own names are served.
    for host in ["127.0.0.1:5678", "127.0.0.1", "localhost:5678", "localhost", "[::1]:5678"] {
        let (status, _, body) = request(&app, with_host("GET", "/overview", host, None)).await;
        assert_eq!(status, StatusCode::OK, "{host}: {body}");
    }
}

#[tokio::test]
async fn an_allowed_host_is_served_and_posts_from_it() {
    let redis = TestRedis::start();
    let client = redis.client();
    client.enqueue_class("mail", "Mailer", &[1]).unwrap();
    let app = router_with(redis.client(), WebOptions::new().with_allowed_hosts(["resque.example.com"]));
    let host = "resque.example.com:8080";
    let (status, _, page) = request(&app, with_host("GET", "/queues/mail", host, None)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let form = format!("csrf={}", csrf_of(&page));

    // The Origin is checked against the app's hosts, not against the
    // request's own Host: a rebound name in both is still refused.
    let mut evil = with_host("POST", "/queues/mail/remove", "resque.example.com", Some(&form));
    evil.headers_mut().insert(header::ORIGIN, "http://evil.example:8080".parse().unwrap());
    let (status, headers, body) = request(&app, evil).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("evil.example"), "{body}");
    assert_security_headers("a cross-origin POST", &headers);
    let mut evil = with_host("POST", "/queues/mail/remove", "resque.example.com", Some(&form));
    evil.headers_mut().insert(header::REFERER, "http://evil.example/queues/mail".parse().unwrap());
    assert_eq!(request(&app, evil).await.0, StatusCode::FORBIDDEN);
    assert!(client.queues().unwrap().contains(&"mail".to_string()), "nothing was removed");

    let mut own = with_host("POST", "/queues/mail/remove", host, Some(&form));
    own.headers_mut().insert(header::ORIGIN, "https://resque.example.com:8080".parse().unwrap());
    let (status, _, body) = request(&app, own).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(!client.queues().unwrap().contains(&"mail".to_string()), "the queue was removed");

    // Another name is still refused.
    let (status, _, _) = request(&app, with_host("GET", "/overview", "other.example.com", None)).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let mut redis = TestRedis::start();
    let app: Router = router(redis.client());
    for (uri, expected) in [
        ("/overview", StatusCode::OK),
        ("/no-such-page", StatusCode::NOT_FOUND),
        ("/api/info", StatusCode::OK),
        ("/api/failed/999999", StatusCode::NOT_FOUND),
        ("/api/queues/x?start=x", StatusCode::BAD_REQUEST),
        ("/assets/app.css", StatusCode::OK),
        ("/assets/none.css", StatusCode::NOT_FOUND),
        ("/metrics", StatusCode::OK),
        ("/stats.txt", StatusCode::OK),
    ] {
        let (status, headers, body) = get(&app, uri).await;
        assert_eq!(status, expected, "{uri}: {body}");
        assert_security_headers(uri, &headers);
    }
    // A POST without the CSRF token, and one to a GET route.
    let (status, headers, _) = common::post(&app, "/queues/mail/remove", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_security_headers("a POST without a CSRF token", &headers);
    let (status, headers, _) = common::post(&app, "/overview", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_security_headers("a POST to a page", &headers);
    // 401 under auth.
    let authed = router_with(redis.client(), WebOptions::new().with_auth("ops", "secret"));
    let (status, headers, _) = get(&authed, "/overview").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_security_headers("401", &headers);
    // 503 pages and JSON.
    redis.stop();
    for uri in ["/overview", "/api/info", "/metrics"] {
        let (status, headers, _) = get(&app, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_security_headers(&format!("503 {uri}"), &headers);
    }
}

/// A GET over a real socket: the status line and the body.
fn http_get(port: u16, path: &str, host: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or_default().to_string(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_without_redis_and_recovers_by_itself() {
    let mut redis = TestRedis::start();
    redis.stop();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(resque_web::serve_on(listener, redis.client(), WebOptions::new()));

    let (status, body) =
        tokio::task::spawn_blocking(move || http_get(port, "/overview", "127.0.0.1")).await.unwrap();
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    assert!(body.contains("is not answering") && body.contains(r#"href="/queues">Queues</a>"#), "{body}");
    let (status, body) =
        tokio::task::spawn_blocking(move || http_get(port, "/api/info", "localhost")).await.unwrap();
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    assert!(body.starts_with("{\"error\":\"Redis at "), "{body}");
    // The bound address is served; another IP literal is not (it is not
    // bound to every address), nor a foreign name.
    let (status, _) =
        tokio::task::spawn_blocking(move || http_get(port, "/overview", "10.1.2.3")).await.unwrap();
    assert!(status.starts_with("HTTP/1.1 421"), "{status}");

    redis.restart();
    let (status, body) =
        tokio::task::spawn_blocking(move || http_get(port, "/overview", "127.0.0.1")).await.unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}: {body}");
    assert!(!body.contains("data-redis-down"), "{body}");
}
