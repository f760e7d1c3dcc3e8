//! The frame around every page (header, tabs, footer), the shared widgets
//! (action buttons, pagination, payloads) and the static assets.
//!
//! Every value is spliced with maud's `(...)`, which HTML-escapes it; the
//! only unescaped text is the doctype. Styles and scripts are files served
//! from `/assets/`, so the Content-Security-Policy forbids inline script.

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::Ctx;

/// The tab a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Overview,
    Working,
    Failed,
    Queues,
    Workers,
    Stats,
    Delayed,
    Retries,
    Schedule,
}

impl Tab {
    /// The tab an app path belongs to (Overview for one of none).
    pub(crate) fn of_path(path: &str) -> Tab {
        let first = match path.trim_start_matches('/').split(['/', '.']).next().unwrap_or_default() {
            // `/queue?name=`: one queue's page.
            "queue" => "queues",
            first => first,
        };
        TABS.iter().find(|(_, _, p)| p.trim_start_matches('/') == first).map_or(Tab::Overview, |(t, _, _)| *t)
    }
}

const TABS: [(Tab, &str, &str); 9] = [
    (Tab::Overview, "Overview", "/overview"),
    (Tab::Working, "Working", "/working"),
    (Tab::Failed, "Failed", "/failed"),
    (Tab::Queues, "Queues", "/queues"),
    (Tab::Workers, "Workers", "/workers"),
    (Tab::Stats, "Stats", "/stats"),
    (Tab::Delayed, "Delayed", "/delayed"),
    (Tab::Retries, "Retries", "/retries"),
    (Tab::Schedule, "Schedule", "/schedule"),
];

/// The stylesheet, served at `/assets/app.css`.
pub(crate) const CSS: &str = include_str!("app.css");
/// The script (live polling, confirmations), served at `/assets/app.js`.
pub(crate) const JS: &str = include_str!("app.js");

/// An HTML answer, never cached (the security headers are the app's
/// outermost layer's, on every answer).
pub(crate) fn respond(markup: Markup) -> Response {
    let mut response = Html(markup.into_string()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A whole page: header, tabs, `body`. A `live` page refreshes its
/// `[data-live]` parts every two seconds while "Live" is on.
pub(crate) fn page(ctx: &Ctx, tab: Tab, title: &str, live: bool, body: Markup) -> Response {
    let client = &ctx.state.client;
    respond(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · resque" }
                link rel="stylesheet" href=(ctx.link("/assets/app.css"));
                script src=(ctx.link("/assets/app.js")) defer {}
            }
            body {
                header.top {
                    div.bar {
                        a.brand href=(ctx.link("/overview")) { span.logo { "R" } "resque" }
                        nav.tabs {
                            @for (t, label, path) in TABS {
                                a.tab.active[t == tab] href=(ctx.link(path)) { (label) }
                            }
                        }
                        div.where {
                            @if live {
                                label.live title="Refresh this page's figures every 2 seconds" {
                                    input #live-toggle type="checkbox" checked;
                                    " Live"
                                }
                            }
                            span.server title="Redis server and namespace" {
                                (client.address().to_string()) " · " code { (client.namespace()) }
                            }
                        }
                    }
                }
                main.content { (body) }
                footer.foot {
                    "resque-rs " (env!("CARGO_PKG_VERSION")) " · "
                    a href=(ctx.link("/stats.txt")) { "stats.txt" } " · "
                    a href=(ctx.link("/metrics")) { "metrics" } " · "
                    a href=(ctx.link("/api/info")) { "JSON API" }
                }
            }
        }
    })
}

/// The body of a page Redis could not fill: why, and that the page tries
/// again by itself (`app.js` reloads it once Redis answers).
pub(crate) fn redis_down_banner(why: &str) -> Markup {
    html! {
        h1 { "Redis is not answering" }
        div.notice.down role="alert" data-redis-down {
            strong { (why) "; retrying" }
            p { "This page shows again as soon as Redis answers; nothing needs restarting." }
        }
    }
}

/// A page that stands alone (errors), with the stylesheet inlined as a
/// link would not resolve under an unknown mount point.
pub(crate) fn error_page(title: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " · resque" } }
            body style="font-family: system-ui, sans-serif; margin: 3rem;" {
                h1 { (title) }
                p { (message) }
            }
        }
    }
}

/// A button that POSTs to `path` with the CSRF token, then comes back to
/// this page. With `confirm`, the browser asks first.
pub(crate) fn action(ctx: &Ctx, path: &str, label: &str, class: &str, confirm: Option<&str>) -> Markup {
    action_with(ctx, path, label, class, confirm, &[])
}

/// [`action`] with extra form fields.
pub(crate) fn action_with(
    ctx: &Ctx,
    path: &str,
    label: &str,
    class: &str,
    confirm: Option<&str>,
    fields: &[(&str, &str)],
) -> Markup {
    html! {
        form.inline method="post" action=(ctx.link(path)) data-confirm=[confirm] {
            input type="hidden" name="csrf" value=(ctx.state.csrf);
            input type="hidden" name="back" value=(ctx.here);
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            button class=(format!("btn {class}").trim_end()) type="submit" { (label) }
        }
    }
}

/// "Showing 21 to 40 of 123" with previous/next links. `href(start)` makes
/// a page's link. A `start` past the end (a hand-made link) says so and
/// links to the last page.
pub(crate) fn pagination(
    start: usize,
    shown: usize,
    total: u64,
    per_page: usize,
    href: impl Fn(usize) -> String,
) -> Markup {
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let per_page = per_page.max(1);
    html! {
        div.pager {
            @if total == 0 {
                span.muted { "Nothing to show" }
            } @else if start >= total {
                span.muted { "Nothing from " (start.saturating_add(1)) " on: there are " (total) }
                span.links {
                    a.btn href=(href((total - 1) / per_page * per_page)) { "‹ Last page" }
                }
            } @else {
                span.muted { "Showing " (start + 1) " to " (start.saturating_add(shown).min(total)) " of " (total) }
                span.links {
                    @if start > 0 {
                        a.btn href=(href(start.saturating_sub(per_page))) { "‹ Newer" }
                    }
                    @if start.saturating_add(per_page) < total {
                        a.btn href=(href(start + per_page)) { "Older ›" }
                    }
                }
            }
        }
    }
}

/// A JSON value as indented text, escaped by the caller's splice.
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A payload's `args` on one line, as resque-web shows them.
pub(crate) fn args_line(payload: &Value) -> String {
    match payload.get("args") {
        Some(Value::Array(args)) => args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
        None => match payload {
            Value::String(text) => text.clone(),
            _ => String::new(),
        },
    }
}

/// A payload's `class`, or `?` when it has none.
pub(crate) fn class_of(payload: &Value) -> &str {
    payload.get("class").and_then(Value::as_str).unwrap_or("?")
}

/// The static assets.
pub(crate) async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (axum::http::StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "max-age=300")], body).into_response()
}
