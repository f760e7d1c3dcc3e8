//! A web view of a Resque Redis: Prometheus metrics and a read-only JSON API,
//! as an [`axum::Router`] to serve on its own ([`serve`]) or to mount in an
//! application's own axum app ([`router`]).
//!
//! Everything goes through [`resque::Client`], so it shows what Ruby Resque,
//! resque-web and node-resque see in the same Redis.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /metrics` | Prometheus text format: `resque_jobs_processed_total`, `resque_jobs_failed_total`, `resque_queue_length{queue}`, `resque_workers`, `resque_workers_working`, `resque_failed_jobs`, `resque_workers_paused` |
//! | `GET /api/info` | `Resque.info`'s counts and `paused` |
//! | `GET /api/queues` | `[{"name", "size"}]` |
//! | `GET /api/queues/{name}?start=&count=` | `{"name", "size", "start", "jobs": [...]}` (count: default 20, at most 1000) |
//! | `GET /api/workers` | `[{"id", "host", "pid", "queues", "started", "heartbeat", "processed", "failed", "working"}]` |
//! | `GET /api/failed?start=&count=` | `{"count", "start", "entries": [{"index", ...entry}]}` |
//! | `GET /api/failed/{index}` | `{"index", ...entry}`, or 404 |
//!
//! Errors are JSON `{"error": "..."}`: 400 for a bad query parameter, 404
//! for something that does not exist, 503 when Redis does not answer.

mod api;
mod auth;
mod metrics;

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;

pub use api::ApiError;

/// How [`router_with`] builds the app.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct WebOptions {
    /// HTTP basic auth credentials `(user, password)` every request must
    /// carry; `None` serves everyone.
    pub auth: Option<(String, String)>,
}

impl WebOptions {
    /// Options with nothing set: no auth.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires HTTP basic auth with these credentials.
    pub fn with_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some((user.into(), password.into()));
        self
    }
}

impl std::fmt::Debug for WebOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("WebOptions").field("auth", &self.auth.as_ref().map(|(user, _)| user)).finish()
    }
}

/// Why [`serve`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the web server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// The app, without auth: the routes listed in the crate docs, with
/// `client` as their state. Mount it in an application's own router with
/// [`Router::merge`] or [`Router::nest`].
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = resque::Client::new("redis://127.0.0.1:6379")?;
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "my app" }))
///     .nest("/resque", resque_web::router(client));
/// # let _ = app;
/// # Ok(()) }
/// ```
pub fn router(client: resque::Client) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .route("/api/info", get(api::info))
        .route("/api/queues", get(api::queues))
        .route("/api/queues/{name}", get(api::queue))
        .route("/api/workers", get(api::workers))
        .route("/api/failed", get(api::failed))
        .route("/api/failed/{index}", get(api::failure))
        .fallback(api::not_found)
        .with_state(client)
}

/// The app as [`router`] builds it, with the layers `options` asks for.
pub fn router_with(client: resque::Client, options: WebOptions) -> Router {
    let app = router(client);
    match options.auth {
        Some((user, password)) => auth::require(app, &user, &password),
        None => app,
    }
}

/// Serves the app on `addr` until the server fails, with HTTP basic auth
/// when `auth` gives `(user, password)`.
pub async fn serve(
    client: resque::Client,
    addr: SocketAddr,
    auth: Option<(String, String)>,
) -> Result<(), WebError> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })?;
    serve_on(listener, client, WebOptions { auth }).await
}

/// Serves the app on a listener already bound (e.g. to port 0, to learn the
/// port first) until the server fails.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    client: resque::Client,
    options: WebOptions,
) -> Result<(), WebError> {
    axum::serve(listener, router_with(client, options)).await.map_err(WebError::Serve)
}
