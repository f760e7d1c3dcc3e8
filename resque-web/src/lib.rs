//! A web view of a Resque Redis: resque-web's pages, Prometheus metrics and
//! a JSON API, as an [`axum::Router`] to serve on its own ([`serve`]) or to
//! mount in an application's own axum app ([`router`]).
//!
//! Everything goes through [`resque::Client`], so it shows what Ruby Resque,
//! resque-web and node-resque see in the same Redis.
//!
//! The pages are resque-web's tabs: Overview, Working, Failed, Queues,
//! Workers and Stats, with resque-scheduler's Delayed and Schedule and
//! resque-retry's Retries. Unlike resque-web, every state change (retry, remove,
//! clear, remove a queue, prune workers) is a POST carrying a per-process
//! CSRF token, every value from Redis is HTML-escaped, and pages forbid
//! inline script (Content-Security-Policy).
//!
//! | page | what |
//! | --- | --- |
//! | `GET /overview` | pending, processed and failed counts, queues with their latency (the oldest job's age, when its payload carries `enqueued_at`), workers working now (live) |
//! | `GET /working` | every busy worker: queue, class, arguments, since when (live) |
//! | `GET /failed?list=&class=&queue=&start=` | failures, 20 a page, newest first, filterable, each with its id; retry or remove one (by its id: `POST /failed/{id}/retry`, `/failed/{id}/remove`; an index still works there), retry those not retried yet, retry all (those retried before included), clear, clear retried; one `<queue>_failed` list with `list` |
//! | `GET /queues`, `GET /queues/{name}?start=`, `GET /queue?name=&start=` | queues with sizes and latency; one queue's jobs, 20 a page; remove the queue (`POST /queues/{name}/remove`, `/queue/remove?name=`). Queues named `.` or `..`, which a browser folds out of a path, are linked as `/queue?name=` |
//! | `GET /workers`, `GET /workers/{id}` | workers grouped by host, stale ones flagged and prunable (live); one worker's details |
//! | `GET /delayed?class=&start=`, `GET /delayed/{unix second}?start=` | seconds with delayed jobs and how many, 20 a page (live), or the delayed jobs of a class; one second's jobs; queue a second's jobs now, cancel them, clear every delayed job |
//! | `GET /retries?start=` | the failed runs whose retry waits for its second (resque-retry's keys, by a resque-rs worker or Ruby), 20 a page (live): class, queue, arguments, attempt n of the runs allowed (n alone when the job is not linked here), next run, last error; retry one now (`POST /retries/{id}/now`) or cancel it, its last failure moving to `failed` (`POST /retries/{id}/cancel`) |
//! | `GET /schedule` | every recurring schedule (static: the schedule file's and those declared on the linked jobs; dynamic: `persistent_schedules`) with its next and last run, and which scheduler leads (live); enqueue one now, remove a dynamic one |
//! | `GET /stats`, `/stats/redis`, `/stats/keys`, `/stats/keys/{key}`, `/stats.txt` | `Resque.info`, Redis `INFO`, the namespace's keys, one key's contents, resque-web's text stats |
//!
//! | route | what |
//! | --- | --- |
//! | `GET /metrics` | Prometheus text format: `resque_jobs_processed_total`, `resque_jobs_failed_total`, `resque_jobs_retried_total` (`stat:retried`), `resque_queue_length{queue}`, `resque_workers`, `resque_workers_working`, `resque_failed_jobs`, `resque_workers_paused`, `resque_delayed_jobs`, `resque_scheduler_leader` (1 when a scheduler holds the master lock, with its `leader="host:pid"`) |
//! | `GET /api/info` | `Resque.info`'s counts and `paused` |
//! | `GET /api/queues` | `[{"name", "size", "latency"}]`: latency is how long the oldest job has waited, in seconds, from the enqueue time its payload carries (`enqueued_at`, Sidekiq's or ActiveJob's); 0 for an empty queue, `null` when the job carries none (Resque's own payloads) |
//! | `GET /api/queues/{name}?start=&count=`, `GET /api/queue?name=&start=&count=` | `{"name", "size", "start", "jobs": [...]}` (count: default 20, at most 1000); the second form for any name, `.` and `..` included |
//! | `GET /api/workers` | `[{"id", "host", "pid", "queues", "started", "heartbeat", "processed", "failed", "working"}]` |
//! | `GET /api/failed?start=&count=` | `{"count", "start", "entries": [{"index", ...entry, "id"}]}` |
//! | `GET /api/failed/{id or index}` | `{"index", ...entry, "id"}`, or 404 |
//! | `GET /api/delayed?start=&count=` | `{"count", "jobs", "start", "seconds": [{"at", "jobs"}]}`: seconds with delayed jobs, earliest first |
//! | `GET /api/delayed/{unix second}?start=&count=` | `{"at", "size", "start", "jobs": [...]}`, or 400 for a bad second |
//! | `GET /api/retries?start=&count=` | `{"count", "start", "retries": [{"id", "at", "queue", "class", "args", "attempt", "retry_limit", "max_attempts", "last_error", "failure", "failure_key", "counter_key"}]}`: waiting retries, earliest first |
//! | `GET /api/schedules` | `{"leader", "schedules": [{"name", "class", "queue", "args", "cron", "every", "first_in", "description", "catch_up", "dynamic", "next_run", "next_run_at", "last_run"}]}` |
//!
//! Errors are JSON `{"error": "..."}`: 400 for a bad query parameter, 404
//! for something that does not exist, 503 when Redis does not answer.
//!
//! The app needs no Redis to start: while Redis does not answer, every page
//! shows its frame and navigation with a banner saying so (503), the JSON
//! routes answer 503, and the first request after Redis is back is served
//! as usual. The app's own connection gives up connecting after
//! [`REDIS_CONNECT_TIMEOUT`] and waiting for a reply after
//! [`REDIS_REPLY_TIMEOUT`], so no page waits long on a Redis that is gone.
//!
//! It answers only requests whose `Host` names it (against DNS rebinding):
//! the address it listens on, `localhost`, `127.0.0.1`, `[::1]`, any IP
//! literal when it listens on every address (or is mounted in another
//! app), and the names [`WebOptions::with_allowed_hosts`] adds; other
//! hosts get a 421. A POST whose `Origin` (or `Referer`) names another host
//! is refused too. Every answer, errors and JSON included, carries
//! `Content-Security-Policy`, `X-Frame-Options: DENY`,
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin`.

mod api;
mod auth;
mod guard;
mod metrics;
mod read;
mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;

pub use api::ApiError;

/// How long a worker may go without a heartbeat before the Workers page
/// calls it stale: Ruby's prune interval, five 60-second heartbeats.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(300);

/// How long the app waits for Redis to accept a connection before a page
/// says Redis is not answering.
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the app waits for a Redis reply (or to send a command) before a
/// page says Redis is not answering. Redis answers every command the pages
/// send well within it; a Redis stalled longer stalls its workers too.
pub const REDIS_REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// How [`router_with`] builds the app.
#[derive(Clone)]
#[non_exhaustive]
pub struct WebOptions {
    /// HTTP basic auth credentials `(user, password)` every request must
    /// carry; `None` serves everyone.
    pub auth: Option<(String, String)>,
    /// How old a heartbeat makes a worker stale (and prunable from the
    /// Workers page); [`DEFAULT_STALE_AFTER`] unless set.
    pub stale_after: Duration,
    /// Static schedules (a schedule file's) the Schedule tab lists, besides
    /// the dynamic ones in Redis and those declared on the linked jobs.
    pub schedules: Vec<resque::scheduler::ScheduleEntry>,
    /// Host names the app answers to besides its own address and
    /// `localhost` (see [`WebOptions::with_allowed_hosts`]).
    pub allowed_hosts: Vec<String>,
    /// The address the app listens on, set by [`serve_on`]: its IP is the
    /// one IP literal a `Host` may name (any, when it is unspecified).
    bound: Option<SocketAddr>,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            auth: None,
            stale_after: DEFAULT_STALE_AFTER,
            schedules: Vec::new(),
            allowed_hosts: Vec::new(),
            bound: None,
        }
    }
}

impl WebOptions {
    /// Options with nothing set: no auth, [`DEFAULT_STALE_AFTER`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls a worker stale once its heartbeat is older than `after`.
    pub fn with_stale_after(mut self, after: Duration) -> Self {
        self.stale_after = after;
        self
    }

    /// Lists these static schedules (a schedule file's) on the Schedule tab.
    pub fn with_schedules(mut self, schedules: Vec<resque::scheduler::ScheduleEntry>) -> Self {
        self.schedules = schedules;
        self
    }

    /// Also answers requests for these host names (a name given with a port
    /// counts without it; case and a trailing dot do not matter): the names
    /// a reverse proxy or the users' browsers reach the app by. Without
    /// them the app answers only to its own address, `localhost`,
    /// `127.0.0.1` and `[::1]` (any IP literal when it listens on every
    /// address), and refuses other names with 421, which stops DNS
    /// rebinding.
    ///
    /// ```
    /// use axum::body::Body;
    /// use axum::http::{Request, StatusCode};
    /// use tower::ServiceExt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let client = resque::Client::new("redis://127.0.0.1:1").unwrap();
    /// let options = resque_web::WebOptions::new().with_allowed_hosts(["resque.example.com"]);
    /// let app = resque_web::router_with(client, options);
    /// let asset = |host: &str| {
    ///     Request::get("/assets/app.css").header("host", host).body(Body::empty()).unwrap()
    /// };
    /// let ok = app.clone().oneshot(asset("resque.example.com")).await.unwrap();
    /// assert_eq!(ok.status(), StatusCode::OK);
    /// let refused = app.oneshot(asset("evil.example:5678")).await.unwrap();
    /// assert_eq!(refused.status(), StatusCode::MISDIRECTED_REQUEST);
    /// # }
    /// ```
    pub fn with_allowed_hosts<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_hosts.extend(names.into_iter().map(Into::into));
        self
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
        f.debug_struct("WebOptions")
            .field("auth", &self.auth.as_ref().map(|(user, _)| user))
            .field("stale_after", &self.stale_after)
            .field("schedules", &self.schedules.len())
            .field("allowed_hosts", &self.allowed_hosts)
            .field("bound", &self.bound)
            .finish()
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
/// [`Router::merge`] or [`Router::nest`]; links in the pages follow the
/// mount point. It answers to `localhost` and IP literals only: reached by
/// a host name, build it with [`router_with`] and
/// [`WebOptions::with_allowed_hosts`].
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
    router_with(client, WebOptions::default())
}

/// The routes, on a connection of the app's own that gives up quickly.
fn app(client: resque::Client, options: &WebOptions) -> Router {
    let client = client.with_timeouts(REDIS_CONNECT_TIMEOUT, REDIS_REPLY_TIMEOUT);
    let schedules = resque::scheduler::static_schedules(options.schedules.clone()).unwrap_or_else(|e| {
        tracing::error!("the jobs' declared schedules cannot be read, not listed: {e}");
        options.schedules.clone()
    });
    let state = ui::AppState {
        client,
        csrf: csrf_token(),
        stale_after: options.stale_after,
        schedules: Arc::new(schedules),
    };
    ui::routes()
        .route("/metrics", get(metrics::metrics))
        .route("/api/info", get(api::info))
        .route("/api/queues", get(api::queues))
        .route("/api/queues/{name}", get(api::queue))
        .route("/api/queue", get(api::queue_by_query))
        .route("/api/workers", get(api::workers))
        .route("/api/failed", get(api::failed))
        .route("/api/failed/{entry}", get(api::failure))
        .route("/api/delayed", get(api::delayed))
        .route("/api/delayed/{at}", get(api::delayed_at))
        .route("/api/schedules", get(api::schedules))
        .route("/api/retries", get(api::retries))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), ui::redis_down))
        .with_state(state)
}

/// The app as [`router`] builds it, with the layers `options` asks for:
/// the Host check first, then auth; the security headers on every answer.
pub fn router_with(client: resque::Client, options: WebOptions) -> Router {
    let hosts = Arc::new(guard::Hosts::new(options.bound, &options.allowed_hosts));
    let mut app = app(client, &options);
    if let Some((user, password)) = &options.auth {
        app = auth::require(app, user, password);
    }
    guard::with_security_headers(guard::require_host(app, hosts))
}

/// A fresh secret for the CSRF token: 32 random bytes as hex. Pages carry
/// it in their forms; a page of another site cannot read it.
fn csrf_token() -> Arc<str> {
    let mut bytes = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut bytes) {
        // Without the OS's randomness, std's per-process random hash keys
        // are the best source left; say so.
        tracing::warn!(error = %e, "no OS randomness for the CSRF token; using hash keys");
        use std::hash::BuildHasher;
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let word = std::collections::hash_map::RandomState::new().hash_one((i, std::process::id()));
            chunk.copy_from_slice(&word.to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>().into()
}

/// Serves the app on `addr` until the server fails, with HTTP basic auth
/// when `auth` gives `(user, password)`.
pub async fn serve(
    client: resque::Client,
    addr: SocketAddr,
    auth: Option<(String, String)>,
) -> Result<(), WebError> {
    serve_with(client, addr, WebOptions { auth, ..WebOptions::default() }).await
}

/// Serves the app on `addr`, built with `options`, until the server fails.
/// Redis need not answer yet: the pages say so until it does.
pub async fn serve_with(
    client: resque::Client,
    addr: SocketAddr,
    options: WebOptions,
) -> Result<(), WebError> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })?;
    serve_on(listener, client, options).await
}

/// Serves the app on a listener already bound (e.g. to port 0, to learn the
/// port first) until the server fails. Requests must name the listener's
/// address, `localhost` or an allowed host (see
/// [`WebOptions::with_allowed_hosts`]).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    client: resque::Client,
    mut options: WebOptions,
) -> Result<(), WebError> {
    options.bound = listener.local_addr().ok();
    axum::serve(listener, router_with(client, options)).await.map_err(WebError::Serve)
}
