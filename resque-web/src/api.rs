//! The JSON API and its errors: handlers that answer with what
//! [`crate::read`] reads.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use resque::payload::Failure;
use resque::Client;
use serde::Serialize;
use serde_json::Value;

use crate::read::{self, blocking, failure_ref, paging, query_params, QueryResult, WorkerBody};

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
    /// Redis does not answer (503): `Redis at <address> is not answering:
    /// <reason>`.
    #[error("{0}")]
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
        match &e {
            resque::Error::Connect { address, source } | resque::Error::Redis { address, source }
                if e.is_unavailable() =>
            {
                ApiError::Unavailable(format!("Redis at {address} is not answering: {source}"))
            }
            _ if e.is_unavailable() => ApiError::Unavailable(e.to_string()),
            _ => ApiError::Internal(e.to_string()),
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

/// `/api/info`: `Resque.info` and whether all workers are paused.
#[derive(Serialize)]
pub(crate) struct InfoBody {
    #[serde(flatten)]
    info: resque::Info,
    paused: bool,
}

pub(crate) async fn info(State(client): State<Client>) -> Result<Json<InfoBody>, ApiError> {
    let (info, paused) = blocking(client, read::info_and_paused).await?;
    Ok(Json(InfoBody { info, paused }))
}

/// A queue, how many jobs wait in it, and how long its oldest job has
/// waited (seconds; 0 when empty, `null` when the job carries no enqueue
/// time).
#[derive(Serialize)]
pub(crate) struct QueueSize {
    name: String,
    size: u64,
    latency: Option<f64>,
}

pub(crate) async fn queues(State(client): State<Client>) -> Result<Json<Vec<QueueSize>>, ApiError> {
    blocking(client, |c| {
        let queues = c.queue_sizes()?;
        let latencies = read::latencies(c, &queues, c.redis_time()?)?;
        Ok(queues
            .into_iter()
            .zip(latencies)
            .map(|((name, size), latency)| QueueSize { name, size, latency: latency.seconds() })
            .collect())
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
    query: QueryResult,
) -> Result<Json<QueueJobs>, ApiError> {
    let (start, count) = paging(&query_params(query)?)?;
    blocking(client, move |c| {
        let (size, jobs) = read::queue_jobs(c, &name, start, count)?;
        Ok(QueueJobs { name, size, start, jobs })
    })
    .await
    .map(Json)
}

/// `/api/queue?name=`: [`queue`] for a name a path cannot carry (`.`,
/// `..`, which clients resolve away), or any other.
pub(crate) async fn queue_by_query(
    State(client): State<Client>,
    query: QueryResult,
) -> Result<Json<QueueJobs>, ApiError> {
    let params = query_params(query)?;
    let (start, count) = paging(&params)?;
    let Some(name) = params.get("name").cloned() else {
        return Err(ApiError::BadRequest("name the queue: /api/queue?name=<queue>".into()));
    };
    blocking(client, move |c| {
        let (size, jobs) = read::queue_jobs(c, &name, start, count)?;
        Ok(QueueJobs { name, size, start, jobs })
    })
    .await
    .map(Json)
}

pub(crate) async fn workers(State(client): State<Client>) -> Result<Json<Vec<WorkerBody>>, ApiError> {
    blocking(client, read::collect_workers).await.map(Json)
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
    query: QueryResult,
) -> Result<Json<FailedPage>, ApiError> {
    let (start, count) = paging(&query_params(query)?)?;
    let (total, entries) = blocking(client, move |c| read::failures(c, start, count)).await?;
    let entries = entries.into_iter().map(|(index, entry)| IndexedFailure { index, entry }).collect();
    Ok(Json(FailedPage { count: total, start, entries }))
}

pub(crate) async fn failure(
    State(client): State<Client>,
    Path(entry): Path<String>,
) -> Result<Json<IndexedFailure>, ApiError> {
    let named = failure_ref(&entry)?;
    let (index, entry) = blocking(client, move |c| read::failure(c, named)).await?;
    Ok(Json(IndexedFailure { index, entry }))
}

/// `/api/delayed`: the seconds that have delayed jobs, with how many.
pub(crate) async fn delayed(
    State(client): State<Client>,
    query: QueryResult,
) -> Result<Json<read::DelayedSeconds>, ApiError> {
    let (start, count) = paging(&query_params(query)?)?;
    blocking(client, move |c| read::delayed_seconds(c, start, count)).await.map(Json)
}

/// `/api/delayed/{ts}`: the jobs due at one second.
pub(crate) async fn delayed_at(
    State(client): State<Client>,
    Path(at): Path<String>,
    query: QueryResult,
) -> Result<Json<read::DelayedJobs>, ApiError> {
    let at = read::unix_second(&at)?;
    let (start, count) = paging(&query_params(query)?)?;
    blocking(client, move |c| read::delayed_jobs(c, at, start, count)).await.map(Json)
}

/// `/api/schedules`: every schedule with its next and last run, and who leads.
pub(crate) async fn schedules(
    State(state): State<crate::ui::AppState>,
) -> Result<Json<resque::scheduler::ScheduleListing>, ApiError> {
    let statics = state.schedules.clone();
    blocking(state.client, move |c| read::schedules(c, &statics)).await.map(Json)
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("no such page".into())
}

/// `/api/retries`: the retries waiting for their second, earliest first.
pub(crate) async fn retries(
    State(client): State<Client>,
    query: QueryResult,
) -> Result<Json<read::Retries>, ApiError> {
    let (start, count) = paging(&query_params(query)?)?;
    blocking(client, move |c| read::retries(c, start, count)).await.map(Json)
}
