//! The HTML pages: resque-web's tabs (Overview, Working, Failed, Queues,
//! Workers, Stats, resque-scheduler's Delayed and Schedule, and resque-retry's
//! Retries), every state change a
//! POST carrying the CSRF token.

mod actions;
pub(crate) mod failed;
mod layout;
mod pages;
mod time;

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use resque::Client;

use crate::api::ApiError;

/// The Failed page's query parameter naming a failure id an action found
/// gone (set by the action's redirect).
pub(crate) const GONE: &str = "gone";

/// What every page handler shares: the client, the CSRF token and the
/// age after which a worker's heartbeat counts as stale.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) client: Client,
    pub(crate) csrf: std::sync::Arc<str>,
    pub(crate) stale_after: Duration,
    /// The static schedules the Schedule tab lists (a schedule file's and
    /// those declared on the linked jobs).
    pub(crate) schedules: std::sync::Arc<Vec<resque::scheduler::ScheduleEntry>>,
}

impl FromRef<AppState> for Client {
    fn from_ref(state: &AppState) -> Client {
        state.client.clone()
    }
}

/// The HTML routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|ctx: Ctx| async move { Redirect::to(&ctx.link("/overview")) }))
        .route("/overview", get(pages::overview))
        .route("/working", get(pages::working))
        .route("/failed", get(pages::failed))
        .route("/failed/retry-all", post(actions::failed_retry_all))
        .route("/failed/retry-not-retried", post(actions::failed_retry_not_retried))
        .route("/failed/clear", post(actions::failed_clear))
        .route("/failed/clear-retried", post(actions::failed_clear_retried))
        .route("/failed/{entry}/retry", post(actions::failed_retry))
        .route("/failed/{entry}/remove", post(actions::failed_remove))
        .route("/queues", get(pages::queues))
        .route("/queues/{name}", get(pages::queue))
        .route("/queues/{name}/remove", post(actions::queue_remove))
        .route("/queue", get(pages::queue_by_query))
        .route("/queue/remove", post(actions::queue_remove_by_query))
        .route("/workers", get(pages::workers))
        .route("/workers/prune", post(actions::workers_prune))
        .route("/workers/{id}", get(pages::worker))
        .route("/workers/{id}/remove", post(actions::worker_remove))
        .route("/delayed", get(pages::delayed))
        .route("/delayed/clear", post(actions::delayed_clear))
        .route("/delayed/{at}", get(pages::delayed_at))
        .route("/delayed/{at}/queue-now", post(actions::delayed_queue_now))
        .route("/delayed/{at}/cancel", post(actions::delayed_cancel))
        .route("/retries", get(pages::retries))
        .route("/retries/{id}/now", post(actions::retry_now))
        .route("/retries/{id}/cancel", post(actions::retry_cancel))
        .route("/schedule", get(pages::schedule))
        .route("/schedule/{name}/enqueue-now", post(actions::schedule_enqueue_now))
        .route("/schedule/{name}/remove", post(actions::schedule_remove))
        .route("/stats", get(pages::stats))
        .route("/stats/redis", get(pages::stats_redis))
        .route("/stats/keys", get(pages::stats_keys))
        .route("/stats/keys/{*key}", get(pages::stats_key))
        .route("/stats.txt", get(pages::stats_txt))
        .route("/assets/{name}", get(layout::asset))
}

/// The app's layer that shows a page Redis could not fill (a 503
/// marked [`RedisDown`]) as the page's frame, navigation included, with a
/// banner saying why. Nothing is cached: the next request tries Redis again.
pub(crate) async fn redis_down(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(ctx) = Ctx::from_request_parts(&mut parts, &state).await;
    let response = next.run(axum::extract::Request::from_parts(parts, body)).await;
    let Some(RedisDown(why)) = response.extensions().get::<RedisDown>().cloned() else {
        return response;
    };
    tracing::warn!(path = %ctx.here, "{why}");
    let tab = layout::Tab::of_path(parts_path(&ctx.here));
    let mut page = layout::page(&ctx, tab, "Redis is not answering", false, layout::redis_down_banner(&why));
    *page.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    page
}

/// The path of a path and query.
fn parts_path(here: &str) -> &str {
    here.split('?').next().unwrap_or(here)
}

/// A page request's context: the app state, and the path the app is
/// mounted under, so that links work when a user nests the router.
pub(crate) struct Ctx {
    pub(crate) state: AppState,
    /// The mount point without a trailing slash: `""` at the root.
    pub(crate) base: String,
    /// This request's path and query inside the app, where a form on the
    /// page sends the browser back to.
    pub(crate) here: String,
}

impl Ctx {
    pub(crate) fn client(&self) -> Client {
        self.state.client.clone()
    }

    /// An app path (`/failed`) as a link from the browser's point of view.
    pub(crate) fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let inner = parts.uri.path().to_string();
        let outer =
            parts.extensions.get::<OriginalUri>().map_or_else(|| inner.clone(), |o| o.path().to_string());
        let here = parts.uri.path_and_query().map_or_else(|| inner.clone(), |pq| pq.as_str().to_string());
        Ok(Ctx { state: state.clone(), base: mount_point(&outer, &inner), here })
    }
}

/// The prefix `outer` (the path the browser asked for) has over `inner`
/// (the path the router matched).
fn mount_point(outer: &str, inner: &str) -> String {
    if let Some(base) = outer.strip_suffix(inner) {
        return base.trim_end_matches('/').to_string();
    }
    if inner == "/" {
        return outer.trim_end_matches('/').to_string();
    }
    String::new()
}

/// Percent-encodes a path segment (a queue name, a worker id, a key).
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a browser would drop or fold `name` as a path segment: `.` and
/// `..` (written `%2E` too) are resolved away before the request is sent,
/// and an empty segment matches no route.
fn not_a_segment(name: &str) -> bool {
    matches!(name, "" | "." | "..")
}

/// The app path of a queue's page: `/queues/<name>`, or, for a name a
/// path cannot carry (`.`, `..`, empty), `/queue?name=<name>`.
pub(crate) fn queue_path(name: &str) -> String {
    if not_a_segment(name) {
        format!("/queue?name={}", encode(name))
    } else {
        format!("/queues/{}", encode(name))
    }
}

/// The app path of an action on a queue (`remove`), in the form
/// [`queue_path`] chooses.
pub(crate) fn queue_action_path(name: &str, action: &str) -> String {
    if not_a_segment(name) {
        format!("/queue/{action}?name={}", encode(name))
    } else {
        format!("/queues/{}/{action}", encode(name))
    }
}

/// A page that could not be shown: the API's error, rendered as HTML.
pub(crate) struct PageError(pub(crate) ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<resque::Error> for PageError {
    fn from(e: resque::Error) -> Self {
        PageError(e.into())
    }
}

/// On a page's 503: why Redis does not answer, for [`redis_down`] to show
/// in the page's own frame.
#[derive(Clone)]
struct RedisDown(String);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if let ApiError::Unavailable(why) = &self.0 {
            let mut response = (
                status,
                Html(layout::error_page("Redis is not answering", &format!("{why}; retrying")).into_string()),
            )
                .into_response();
            response.extensions_mut().insert(RedisDown(why.clone()));
            return response;
        }
        let title = match status {
            StatusCode::SERVICE_UNAVAILABLE => "Redis is unavailable",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::FORBIDDEN => "Forbidden",
            _ => "Something went wrong",
        };
        (status, Html(layout::error_page(title, &self.0.to_string()).into_string())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points() {
        assert_eq!(mount_point("/failed", "/failed"), "");
        assert_eq!(mount_point("/resque/failed", "/failed"), "/resque");
        assert_eq!(mount_point("/resque", "/"), "/resque");
        assert_eq!(mount_point("/resque/", "/"), "/resque");
        assert_eq!(mount_point("/", "/"), "");
    }

    #[test]
    fn paths_belong_to_their_tabs() {
        use layout::Tab;
        for (path, tab) in [
            ("/", Tab::Overview),
            ("/queues/mail", Tab::Queues),
            ("/queue", Tab::Queues),
            ("/stats.txt", Tab::Stats),
            ("/failed", Tab::Failed),
            ("/nowhere", Tab::Overview),
        ] {
            assert!(Tab::of_path(path) == tab, "{path}");
        }
    }

    #[test]
    fn dot_queues_link_by_query() {
        assert_eq!(queue_path("file_serve"), "/queues/file_serve");
        assert_eq!(queue_path("..."), "/queues/...");
        assert_eq!(queue_path("."), "/queue?name=.");
        assert_eq!(queue_path(".."), "/queue?name=..");
        assert_eq!(queue_action_path("..", "remove"), "/queue/remove?name=..");
        assert_eq!(queue_action_path("a b", "remove"), "/queues/a%20b/remove");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode("file_serve"), "file_serve");
        assert_eq!(encode("web1:42:a,b*"), "web1%3A42%3Aa%2Cb%2A");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
