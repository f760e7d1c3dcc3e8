//! What the pages and the JSON API read from Redis: each view's data in one
//! blocking call, and the query parameters that choose it.

use std::collections::HashMap;

use axum::extract::Query;
use resque::failure::{FailureBackend, FailureRef, RedisFailures, RedisMultiQueueFailures};
use resque::payload::{Failure, WorkingOn};
use resque::{Client, WorkerId, WorkerStats};
use serde::Serialize;
use serde_json::Value;

use crate::api::ApiError;
use crate::ui::failed::FailedList;

/// How many jobs or failures an API page shows when `count` is not given.
const DEFAULT_COUNT: usize = 20;
/// The most an API page shows.
const MAX_COUNT: usize = 1000;
/// Jobs, failures and key elements per HTML page.
pub(crate) const PER_PAGE: usize = 20;

/// A query string as axum extracts it: the pairs, or why it is malformed.
pub(crate) type QueryResult =
    Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

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
            Some(raw) => offset(raw).ok_or_else(|| {
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

/// A non-negative integer of digits only; one too large for a `usize`
/// counts as the largest (an offset past any list's end), so that a page
/// can say so rather than refuse.
fn offset(raw: &str) -> Option<usize> {
    let digits = raw.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<usize>().unwrap_or(usize::MAX))
}

/// `start` when it is inside a list of `total` elements, else the start
/// of the list's last page of `per_page` (0 for an empty list): a page
/// asked for past the end shows the end.
pub(crate) fn clamp_start(start: usize, total: u64, per_page: usize) -> usize {
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    if start < total || total == 0 {
        return if total == 0 { 0 } else { start };
    }
    (total - 1) / per_page.max(1) * per_page.max(1)
}

/// The query string's pairs, or a 400 for a malformed one.
pub(crate) fn query_params(query: QueryResult) -> Result<HashMap<String, String>, ApiError> {
    query.map(|Query(q)| q).map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))
}

/// A page's `start` (a multiple of nothing in particular: any offset).
pub(crate) fn start_of(params: &HashMap<String, String>) -> Result<usize, ApiError> {
    paging(params).map(|(start, _)| start)
}

/// The `start` parameter of a paged page's query.
pub(crate) fn start_param(query: QueryResult) -> Result<usize, ApiError> {
    start_of(&query_params(query)?)
}

/// A non-empty query parameter.
pub(crate) fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A failure from a path: its id (12 hex digits) or its index.
pub(crate) fn failure_ref(raw: &str) -> Result<FailureRef, ApiError> {
    raw.parse::<FailureRef>().map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `Resque.info` and whether all workers are paused.
pub(crate) fn info_and_paused(c: &Client) -> Result<(resque::Info, bool), ApiError> {
    Ok((c.info()?, c.all_workers_paused()?))
}

/// The queues with their sizes, the busy workers and `Resque.info` counted
/// from them: what the Overview and `/stats.txt` show.
pub(crate) struct Overview {
    pub(crate) info: resque::Info,
    pub(crate) queues: Vec<(String, u64)>,
    pub(crate) working: Vec<(String, WorkingOn)>,
}

/// What [`Overview`] holds, read from Redis.
pub(crate) fn overview(c: &Client) -> Result<Overview, ApiError> {
    let queues = c.queue_sizes()?;
    let (workers, working) = c.workers_and_working()?;
    let info = c.info_from(&queues, workers.len(), working.len())?;
    Ok(Overview { info, queues, working })
}

/// A queue's size, the page's start (clamped to the queue's last page) and
/// up to [`PER_PAGE`] of its jobs from there.
pub(crate) fn queue_page(c: &Client, name: &str, start: usize) -> Result<(u64, usize, Vec<Value>), ApiError> {
    let size = c.size(name)?;
    let start = clamp_start(start, size, PER_PAGE);
    Ok((size, start, c.peek(name, start, PER_PAGE)?))
}

/// A queue's size and up to `count` of its jobs from `start`.
pub(crate) fn queue_jobs(
    c: &Client,
    name: &str,
    start: usize,
    count: usize,
) -> Result<(u64, Vec<Value>), ApiError> {
    Ok((c.size(name)?, c.peek(name, start, count)?))
}

/// How long a queue's oldest job has waited (Sidekiq's "latency"), from
/// the enqueue time its payload carries (see [`resque::payload::enqueued_at`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Latency {
    /// No job waits: nothing is late, as Sidekiq counts it (0 s).
    Empty,
    /// The oldest job's payload carries no enqueue time (Resque's own
    /// payloads do not).
    Unknown,
    /// The oldest job was enqueued `at`, `seconds` before Redis's clock
    /// (0 for a time ahead of it).
    Since { seconds: f64, at: jiff::Timestamp },
}

impl Latency {
    /// Seconds, as the JSON API gives it: 0 for an empty queue, `None`
    /// when the oldest job carries no enqueue time.
    pub(crate) fn seconds(self) -> Option<f64> {
        match self {
            Latency::Empty => Some(0.0),
            Latency::Unknown => None,
            Latency::Since { seconds, .. } => Some(seconds),
        }
    }
}

/// Each queue's latency: its oldest job (`LINDEX queue:<name> 0`, the job a
/// worker takes next) against Redis's clock `now` (Unix seconds).
pub(crate) fn latencies(c: &Client, queues: &[(String, u64)], now: i64) -> Result<Vec<Latency>, ApiError> {
    queues
        .iter()
        .map(|(name, size)| {
            if *size == 0 {
                return Ok(Latency::Empty);
            }
            let Some(oldest) = c.peek(name, 0, 1)?.pop() else { return Ok(Latency::Empty) };
            Ok(match resque::payload::enqueued_at(&oldest) {
                None => Latency::Unknown,
                Some(at) => {
                    let millis = (i128::from(now) * 1000 - at.as_millisecond() as i128).max(0);
                    Latency::Since { seconds: millis as f64 / 1000.0, at }
                }
            })
        })
        .collect()
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

/// One worker's details with its job, and whether it is registered.
pub(crate) fn worker(c: &Client, id: &str) -> Result<(bool, WorkerBody), ApiError> {
    let registered = c.workers()?.iter().any(|w| w == id);
    let one = [id.to_string()];
    let working = c.working_of(&one)?.into_iter().next().map(|(_, job)| job);
    let stats = c.worker_stats(&one)?.into_iter().next().unwrap_or_default();
    let mut body = describe_worker(id, c.heartbeat_of(id)?, stats);
    body.working = working;
    Ok((registered, body))
}

/// The failure `named` names (by id, wherever it is now, or by index in the
/// `failed` list), with its index.
pub(crate) fn failure(c: &Client, named: FailureRef) -> Result<(usize, Failure), ApiError> {
    match named {
        FailureRef::Id(id) => Ok(RedisFailures::new(c.clone()).find(id)?),
        FailureRef::Index(index) => match c.failures(index, 1)?.pop() {
            Some(entry) => Ok((index, entry)),
            None => {
                let count = c.failed_count()?;
                Err(ApiError::NotFound(format!(
                    "no failure at index {index}: the failed list holds {count} entries"
                )))
            }
        },
    }
}

/// The size of the `failed` list and up to `count` entries from index
/// `start`, oldest first, with their indexes.
pub(crate) fn failures(
    c: &Client,
    start: usize,
    count: usize,
) -> Result<(u64, Vec<(usize, Failure)>), ApiError> {
    let total = c.failed_count()?;
    let entries = c.failures(start, count)?.into_iter().enumerate().map(|(i, f)| (start + i, f)).collect();
    Ok((total, entries))
}

/// The failures a Failed page shows, read in one blocking call.
pub(crate) struct FailedView {
    /// `<queue>_failed` lists with their sizes (the multi-queue backend).
    pub(crate) lists: Vec<(String, u64)>,
    /// Size of the list shown (all of it, before filtering).
    pub(crate) total: u64,
    /// Size of the default `failed` list.
    pub(crate) default_total: u64,
    /// Entries matching the filter.
    pub(crate) matching: u64,
    /// The page: `(index in the list, entry)`, newest first.
    pub(crate) entries: Vec<(usize, Failure)>,
    /// Where the page starts (counted from the newest), clamped to the
    /// last page.
    pub(crate) start: usize,
    pub(crate) now: i64,
}

/// A Failed page of `list`: `PER_PAGE` entries from `start`, newest first,
/// those matching `class` and `queue` when given.
pub(crate) fn failed_page(
    c: &Client,
    list: &FailedList,
    class: Option<&str>,
    queue: Option<&str>,
    start: usize,
) -> Result<FailedView, ApiError> {
    let multi = RedisMultiQueueFailures::new(c.clone());
    let lists = multi.lengths()?;
    let default_total = FailedList::Default.count(c)?;
    let total = match list {
        FailedList::Default => default_total,
        FailedList::Named(wanted) => match lists.iter().find(|(name, _)| name == wanted) {
            Some((_, n)) => *n,
            None => return Err(ApiError::NotFound(format!("no failed queue named {wanted:?}"))),
        },
    };
    let (matching, start, entries) = if class.is_some() || queue.is_some() {
        let all = list.select(c, class, queue)?;
        let matching = all.len() as u64;
        let start = clamp_start(start, matching, PER_PAGE);
        (matching, start, all.into_iter().rev().skip(start).take(PER_PAGE).collect())
    } else {
        // Newest first: the page counted from the end of the list.
        let start = clamp_start(start, total, PER_PAGE);
        let end = (total as usize).saturating_sub(start);
        let first = end.saturating_sub(PER_PAGE);
        let page = list.entries(c, first, end - first)?;
        (total, start, page.into_iter().enumerate().map(|(i, f)| (first + i, f)).rev().collect())
    };
    Ok(FailedView { lists, total, default_total, matching, entries, start, now: c.redis_time()? })
}

/// A second from a path or a form: a Unix second, or a 400 saying so.
pub(crate) fn unix_second(raw: &str) -> Result<i64, ApiError> {
    raw.trim().parse::<i64>().map_err(|_| {
        ApiError::BadRequest(format!(
            "{raw:?} is not a second: a delayed job's second is a Unix second, such as 1764633600"
        ))
    })
}

/// A second with delayed jobs and how many.
#[derive(Serialize)]
pub(crate) struct DelayedSecond {
    pub(crate) at: i64,
    pub(crate) jobs: u64,
}

/// A page of the seconds that have delayed jobs, earliest first.
#[derive(Serialize)]
pub(crate) struct DelayedSeconds {
    /// How many seconds have delayed jobs.
    pub(crate) count: u64,
    /// How many delayed jobs wait, in every second.
    pub(crate) jobs: u64,
    pub(crate) start: usize,
    pub(crate) seconds: Vec<DelayedSecond>,
}

/// Up to `count` seconds with delayed jobs from position `start`, with
/// their sizes and the totals.
pub(crate) fn delayed_seconds(c: &Client, start: usize, count: usize) -> Result<DelayedSeconds, ApiError> {
    let ats = c.delayed_timestamps(start, count)?;
    let sizes = c.delayed_sizes(&ats)?;
    let seconds = ats.into_iter().zip(sizes).map(|(at, jobs)| DelayedSecond { at, jobs }).collect();
    Ok(DelayedSeconds { count: c.delayed_timestamp_count()?, jobs: c.delayed_count()?, start, seconds })
}

/// The delayed jobs due at one second, a page of them.
#[derive(Serialize)]
pub(crate) struct DelayedJobs {
    pub(crate) at: i64,
    /// How many jobs are due at that second.
    pub(crate) size: u64,
    pub(crate) start: usize,
    /// The delayed items, `queue` included (a JSON string of the text of one that is not JSON).
    pub(crate) jobs: Vec<Value>,
}

/// Up to `count` of the jobs due at `at` from position `start`.
pub(crate) fn delayed_jobs(c: &Client, at: i64, start: usize, count: usize) -> Result<DelayedJobs, ApiError> {
    Ok(DelayedJobs { at, size: c.delayed_size_at(at)?, start, jobs: c.delayed_at(at, start, count)? })
}

/// Every schedule, `statics` and the dynamic ones, with who leads.
pub(crate) fn schedules(
    c: &Client,
    statics: &[resque::scheduler::ScheduleEntry],
) -> Result<resque::scheduler::ScheduleListing, ApiError> {
    Ok(resque::scheduler::listing(c, statics)?)
}

/// The schedule named `name`, or a 404.
pub(crate) fn schedule(
    c: &Client,
    statics: &[resque::scheduler::ScheduleEntry],
    name: &str,
) -> Result<resque::scheduler::Schedule, ApiError> {
    resque::scheduler::schedules(c, statics)?
        .into_iter()
        .find(|s| s.entry.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no schedule named {name:?}")))
}

/// Who leads: the scheduler master lock's value under this environment's
/// prefix.
pub(crate) fn scheduler_leader(c: &Client) -> Result<Option<String>, ApiError> {
    let prefix = resque::scheduler::SchedulerOptions::from_env().lock_prefix;
    Ok(resque::scheduler::leader(c, prefix.as_deref())?)
}

/// A waiting retry as the Retries tab and `/api/retries` show it.
#[derive(Serialize)]
pub(crate) struct RetryRow {
    /// The id its actions name (see [`resque::PendingRetry::id`]).
    pub(crate) id: String,
    #[serde(flatten)]
    pub(crate) retry: resque::PendingRetry,
    /// How many runs its policy allows in all, when known.
    pub(crate) max_attempts: Option<u64>,
    /// `exception: error` of the run that is retried, when known.
    pub(crate) last_error: Option<String>,
}

/// A page of the waiting retries, earliest first.
#[derive(Serialize)]
pub(crate) struct Retries {
    /// How many retries wait.
    pub(crate) count: u64,
    pub(crate) start: usize,
    pub(crate) retries: Vec<RetryRow>,
}

/// Up to `count` waiting retries from position `start`.
pub(crate) fn retries(c: &Client, start: usize, count: usize) -> Result<Retries, ApiError> {
    let all = c.pending_retries()?;
    let total = all.len() as u64;
    let retries = all
        .into_iter()
        .skip(start)
        .take(count)
        .map(|retry| RetryRow {
            id: retry.id(),
            max_attempts: retry.max_attempts(),
            last_error: retry.last_error(),
            retry,
        })
        .collect();
    Ok(Retries { count: total, start, retries })
}

/// The waiting retry with this id, or a 404.
pub(crate) fn pending_retry(c: &Client, id: &str) -> Result<resque::PendingRetry, ApiError> {
    c.find_pending_retry(id)?.ok_or_else(|| {
        ApiError::NotFound(format!("no waiting retry with id {id:?}: it ran, or was queued or cancelled"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_digits_and_saturate() {
        assert_eq!(offset("20"), Some(20));
        assert_eq!(offset(" 7 "), Some(7));
        assert_eq!(offset("18446744073709551615"), Some(usize::MAX));
        assert_eq!(offset("99999999999999999999999999"), Some(usize::MAX));
        for bad in ["", "-1", "+1", "1e3", "x", "0x10", "1.5"] {
            assert_eq!(offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_start_past_the_end_is_the_last_page() {
        assert_eq!(clamp_start(0, 0, 20), 0);
        assert_eq!(clamp_start(usize::MAX, 0, 20), 0);
        assert_eq!(clamp_start(5, 12, 20), 5);
        assert_eq!(clamp_start(12, 12, 20), 0);
        assert_eq!(clamp_start(usize::MAX, 45, 20), 40);
        assert_eq!(clamp_start(40, 40, 20), 20);
    }
}
