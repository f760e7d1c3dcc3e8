//! The JSON API and its errors.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use resque::failure::{FailureBackend, FailureRef, RedisFailures};
use resque::payload::{Failure, WorkingOn};
use resque::{Client, WorkerId, WorkerStats};
use serde::Serialize;
use serde_json::Value;

/// How many jobs or failures a page shows when `count` is not given.
const DEFAULT_COUNT: usize = 20;
/// The most a page shows.
const MAX_COUNT: usize = 1000;

/// An error answer: a status and a JSON body `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A request that cannot be answered as asked (400).
    #[error("{0}")]
    BadRequest(String),
    /// A state change without a valid CSRF token (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing at that address (404).
    #[error("{0}")]
    NotFound(String),
    /// Redis does not answer (503).
    #[error("Redis is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status the error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<resque::Error> for ApiError {
    fn from(e: resque::Error) -> Self {
        match &e {
            resque::Error::NoSuchFailure { .. } | resque::Error::NoSuchFailureId { .. } => {
                return ApiError::NotFound(e.to_string())
            }
            resque::Error::AmbiguousFailureId { .. } => return ApiError::BadRequest(e.to_string()),
            resque::Error::BadFailure { .. } => return ApiError::BadRequest(e.to_string()),
            _ => {}
        }
        let unavailable = e.is_unavailable();
        if unavailable {
            ApiError::Unavailable(e.to_string())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        (self.status(), Json(ErrorBody { error: &message })).into_response()
    }
}

/// Runs `f` with the client on the blocking pool: the client is synchronous.
pub(crate) async fn blocking<T, F>(client: Client, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Client) -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || f(&client))
        .await
        .map_err(|e| ApiError::Internal(format!("the Redis task failed: {e}")))?
}

/// `start` and `count` from a query string, with `count` defaulting to 20
/// and at most 1000.
pub(crate) fn paging(params: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        match params.get(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse::<usize>().map_err(|_| {
                ApiError::BadRequest(format!("{name} must be a non-negative integer, not {raw:?}"))
            }),
        }
    };
    let start = number("start", 0)?;
    let count = number("count", DEFAULT_COUNT)?;
    if count > MAX_COUNT {
        return Err(ApiError::BadRequest(format!("count must be at most {MAX_COUNT}, not {count}")));
    }
    Ok((start, count))
}

pub(crate) fn query_params(
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    query.map(|Query(q)| q).map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))
}

/// `/api/info`: `Resque.info` and whether all workers are paused.
#[derive(Serialize)]
pub(crate) struct InfoBody {
    #[serde(flatten)]
    info: resque::Info,
    paused: bool,
}

pub(crate) async fn info(State(client): State<Client>) -> Result<Json<InfoBody>, ApiError> {
    blocking(client, |c| Ok(InfoBody { info: c.info()?, paused: c.all_workers_paused()? })).await.map(Json)
}

/// A queue and how many jobs wait in it.
#[derive(Serialize)]
pub(crate) struct QueueSize {
    name: String,
    size: u64,
}

pub(crate) async fn queues(State(client): State<Client>) -> Result<Json<Vec<QueueSize>>, ApiError> {
    blocking(client, |c| {
        Ok(c.queue_sizes()?.into_iter().map(|(name, size)| QueueSize { name, size }).collect())
    })
    .await
    .map(Json)
}

/// One queue's jobs, a page at a time.
#[derive(Serialize)]
pub(crate) struct QueueJobs {
    name: String,
    size: u64,
    start: usize,
    jobs: Vec<Value>,
}

pub(crate) async fn queue(
    State(client): State<Client>,
    Path(name): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<QueueJobs>, ApiError> {
    let (start, count) = paging(&query_params(query)?)?;
    blocking(client, move |c| {
        let size = c.size(&name)?;
        let jobs = c.peek(&name, start, count)?;
        Ok(QueueJobs { name, size, start, jobs })
    })
    .await
    .map(Json)
}

/// A registered worker, its id split as Ruby writes it
/// (`<host>:<pid>:<queue,list>`).
#[derive(Serialize)]
pub(crate) struct WorkerBody {
    pub(crate) id: String,
    pub(crate) host: String,
    pub(crate) pid: Option<u64>,
    pub(crate) queues: Vec<String>,
    pub(crate) started: Option<String>,
    pub(crate) heartbeat: Option<String>,
    pub(crate) processed: u64,
    pub(crate) failed: u64,
    pub(crate) working: Option<WorkingOn>,
}

/// Every registered worker with its details, sorted by id: the worker set,
/// their jobs, heartbeats and stats, each read once for all of them.
pub(crate) fn collect_workers(c: &Client) -> Result<Vec<WorkerBody>, ApiError> {
    let (ids, working) = c.workers_and_working()?;
    let mut working: HashMap<String, WorkingOn> = working.into_iter().collect();
    let mut beats = c.heartbeats()?;
    let stats = c.worker_stats(&ids)?;
    Ok(ids
        .iter()
        .zip(stats)
        .map(|(id, stats)| {
            let mut worker = describe_worker(id, beats.remove(id), stats);
            worker.working = working.remove(id);
            worker
        })
        .collect())
}

/// One worker's details, whether or not it is registered, from its
/// heartbeat and stats as read by the caller.
pub(crate) fn describe_worker(id: &str, heartbeat: Option<String>, stats: WorkerStats) -> WorkerBody {
    let parts = WorkerId::parse(id);
    let host = parts.host().to_string();
    let pid = parts.pid().map(u64::from);
    let queues = parts.queues().map(str::to_string).collect();
    WorkerBody {
        started: stats.started,
        heartbeat,
        processed: stats.processed,
        failed: stats.failed,
        working: None,
        host,
        pid,
        queues,
        id: id.to_string(),
    }
}

pub(crate) async fn workers(State(client): State<Client>) -> Result<Json<Vec<WorkerBody>>, ApiError> {
    blocking(client, collect_workers).await.map(Json)
}

/// A failure entry with its index in the `failed` list.
#[derive(Serialize)]
pub(crate) struct IndexedFailure {
    index: usize,
    #[serde(flatten)]
    entry: Failure,
}

/// A page of the `failed` list.
#[derive(Serialize)]
pub(crate) struct FailedPage {
    count: u64,
    start: usize,
    entries: Vec<IndexedFailure>,
}

pub(crate) async fn failed(
    State(client): State<Client>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FailedPage>, ApiError> {
    let (start, count) = paging(&query_params(query)?)?;
    blocking(client, move |c| {
        let total = c.failed_count()?;
        let entries = c
            .failures(start, count)?
            .into_iter()
            .enumerate()
            .map(|(i, entry)| IndexedFailure { index: start + i, entry })
            .collect();
        Ok(FailedPage { count: total, start, entries })
    })
    .await
    .map(Json)
}

/// A failure from a path: its id (12 hex digits) or its index.
pub(crate) fn failure_ref(raw: &str) -> Result<FailureRef, ApiError> {
    raw.parse::<FailureRef>().map_err(|e| ApiError::BadRequest(e.to_string()))
}

pub(crate) async fn failure(
    State(client): State<Client>,
    Path(entry): Path<String>,
) -> Result<Json<IndexedFailure>, ApiError> {
    let index = match failure_ref(&entry)? {
        FailureRef::Index(index) => index,
        FailureRef::Id(id) => {
            let (index, entry) =
                blocking(client, move |c| Ok(RedisFailures::new(c.clone()).find(id)?)).await?;
            return Ok(Json(IndexedFailure { index, entry }));
        }
    };
    blocking(client, move |c| match c.failures(index, 1)?.pop() {
        Some(entry) => Ok(IndexedFailure { index, entry }),
        None => {
            let count = c.failed_count()?;
            Err(ApiError::NotFound(format!(
                "no failure at index {index}: the failed list holds {count} entries"
            )))
        }
    })
    .await
    .map(Json)
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("no such page".into())
}
