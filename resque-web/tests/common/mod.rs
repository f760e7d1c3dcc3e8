//! Requests to the router without a socket, and Ruby-written fixtures,
//! shared by the test files.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // helpers; not every file uses each

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Sends `req` to `app` and returns the status, headers and body text.
pub async fn request(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

/// A GET of `uri`.
pub async fn get(app: &Router, uri: &str) -> (StatusCode, HeaderMap, String) {
    request(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A failure entry as Ruby Resque writes it, by `worker`, with `args` given.
pub fn ruby_failure(worker: &str, class: &str, queue: &str, args: Value, error: &str) -> String {
    json!({
        "failed_at": "2026/11/23 23:50:00 UTC",
        "payload": {"class": class, "args": args},
        "exception": "RuntimeError",
        "error": error,
        "backtrace": ["app/jobs/archive.rb:12:in `perform'", "lib/resque/job.rb:166:in `perform'"],
        "worker": worker,
        "queue": queue,
    })
    .to_string()
}

/// A form POST of `form` to `uri`, from the app's own host.
pub async fn post(app: &Router, uri: &str, form: &str) -> (StatusCode, HeaderMap, String) {
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "localhost")
        .body(Body::from(form.to_string()))
        .unwrap();
    request(app, req).await
}

/// The CSRF token the pages' forms carry.
pub fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a form with a CSRF token");
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}
