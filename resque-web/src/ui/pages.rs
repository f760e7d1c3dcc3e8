//! The GET pages: one handler per tab and per detail view.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use resque::failure::RedisMultiQueueFailures;
use resque::payload::{Failure, FailureId, WorkingOn};
use resque::{Client, WorkerId};

use super::failed::FailedList;
use super::layout::{action, action_with, args_line, class_of, page, pagination, pretty, Tab};
use super::{encode, time, Ctx, PageError};
use crate::api::{blocking, collect_workers, describe_worker, paging, query_params, ApiError, WorkerBody};

/// Jobs, failures and key elements per page.
pub(crate) const PER_PAGE: usize = 20;

type QueryResult = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

/// A page's `start` (a multiple of nothing in particular: any offset).
fn start_of(params: &HashMap<String, String>) -> Result<usize, ApiError> {
    paging(params).map(|(start, _)| start)
}

/// The `start` parameter of a paged page's query.
fn start_param(query: QueryResult) -> Result<usize, ApiError> {
    start_of(&query_params(query)?)
}

/// The pager under a table of `PER_PAGE` entries a page at `path`.
fn pager(ctx: &Ctx, path: &str, start: usize, shown: usize, total: u64) -> Markup {
    pagination(start, shown, total, PER_PAGE, |s| ctx.link(&format!("{path}?start={s}")))
}

/// Every queue with its size, and a last row for the `failed` list.
fn queue_table(ctx: &Ctx, queues: &[(String, u64)], failed: u64) -> Markup {
    html! {
        table {
            thead { tr { th { "Name" } th.num { "Jobs" } } }
            tbody {
                @for (name, size) in queues {
                    tr { td { (queue_link(ctx, name)) } td.num { (size) } }
                }
                tr.total {
                    td { a href=(ctx.link("/failed")) { "failed" } }
                    td.num { span.badge.bad[failed > 0] { (failed) } }
                }
            }
        }
    }
}

/// A non-empty query parameter.
fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A link to a worker's page.
fn worker_link(ctx: &Ctx, id: &str) -> Markup {
    let parsed = WorkerId::parse(id);
    let short = match parsed.pid() {
        Some(pid) => format!("{}:{pid}", parsed.host()),
        None => id.to_string(),
    };
    html! { a.mono href=(ctx.link(&format!("/workers/{}", encode(id)))) title=(id) { (short) } }
}

fn queue_link(ctx: &Ctx, queue: &str) -> Markup {
    html! { a href=(ctx.link(&format!("/queues/{}", encode(queue)))) { (queue) } }
}

/// "5m ago" for a time text, with the text itself on hover.
fn when(now: i64, text: &str) -> Markup {
    match resque::payload::time::parse_any(text) {
        Some(t) => html! { span title=(text) { (time::ago(now, t)) } },
        None => html! { span { (text) } },
    }
}

/// Busy workers as a table.
fn working_table(ctx: &Ctx, now: i64, working: &[(String, WorkingOn)]) -> Markup {
    html! {
        @if working.is_empty() {
            div.empty { "Nothing is happening right now." }
        } @else {
            table {
                thead { tr { th { "Worker" } th { "Queue" } th { "Class" } th { "Arguments" } th { "Started" } } }
                tbody {
                    @for (id, job) in working {
                        tr {
                            td { (worker_link(ctx, id)) }
                            td { (queue_link(ctx, &job.queue)) }
                            td.mono { (class_of(&job.payload)) }
                            td.args { (args_line(&job.payload)) }
                            td { (when(now, &job.run_at)) }
                        }
                    }
                }
            }
        }
    }
}

// ----- Overview ---------------------------------------------------------------

pub(crate) async fn overview(ctx: Ctx) -> Result<Response, PageError> {
    let (info, paused, queues, working, now) = blocking(ctx.client(), |c| {
        let queues = c.queue_sizes()?;
        let (workers, working) = c.workers_and_working()?;
        let info = c.info_from(&queues, workers.len(), working.len())?;
        Ok((info, c.all_workers_paused()?, queues, working, c.redis_time()?))
    })
    .await?;
    let body = html! {
        h1 { "Overview" }
        p.sub { "Queues waiting, jobs failed and what every worker does now." }
        @if paused {
            div.notice data-live { "All workers are paused (" code { "pause-all-workers" } "). Run " code { "resque-cli resume" } " to let them go on." }
        }
        div.stats-row data-live {
            div.stat { div.n { (info.pending) } div.l { "Pending" } }
            div.stat.good { div.n { (info.processed) } div.l { "Processed" } }
            div.stat.bad[info.failed > 0] { div.n { (info.failed) } div.l { "Failed" } }
            div.stat { div.n { (info.queues) } div.l { "Queues" } }
            div.stat { div.n { (info.workers) } div.l { "Workers" } }
            div.stat { div.n { (info.working) } div.l { "Working" } }
        }
        div.grid2 {
            div.card data-live {
                div.card-head { h2 { "Queues" } span.muted { (queues.len()) " known" } }
                (queue_table(&ctx, &queues, info.failed))
            }
            div.card data-live {
                div.card-head {
                    h2 { "Working" }
                    span.muted { (working.len()) " of " (info.workers) " workers are busy" }
                }
                (working_table(&ctx, now, &working))
            }
        }
    };
    Ok(page(&ctx, Tab::Overview, "Overview", true, body))
}

// ----- Working ----------------------------------------------------------------

pub(crate) async fn working(ctx: Ctx) -> Result<Response, PageError> {
    let (working, workers, now) = blocking(ctx.client(), |c| {
        let (workers, working) = c.workers_and_working()?;
        Ok((working, workers.len(), c.redis_time()?))
    })
    .await?;
    let body = html! {
        h1 { "Working" }
        p.sub { "Every worker processing a job now." }
        div.card data-live {
            div.card-head { h2 { (working.len()) " of " (workers) (if workers == 1 { " worker" } else { " workers" }) " working" } }
            (working_table(&ctx, now, &working))
        }
    };
    Ok(page(&ctx, Tab::Working, "Working", true, body))
}

// ----- Failed -----------------------------------------------------------------

/// The failures a Failed page shows, read in one blocking call.
struct FailedView {
    /// `<queue>_failed` lists with their sizes (the multi-queue backend).
    lists: Vec<(String, u64)>,
    /// Size of the list shown (all of it, before filtering).
    total: u64,
    /// Size of the default `failed` list.
    default_total: u64,
    /// Entries matching the filter.
    matching: u64,
    /// The page: `(index in the list, entry)`, newest first.
    entries: Vec<(usize, Failure)>,
    now: i64,
}

fn read_failed(
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
    let (matching, entries) = if class.is_some() || queue.is_some() {
        let all = list.select(c, class, queue)?;
        let matching = all.len() as u64;
        (matching, all.into_iter().rev().skip(start).take(PER_PAGE).collect())
    } else {
        // Newest first: the page counted from the end of the list.
        let end = (total as usize).saturating_sub(start);
        let first = end.saturating_sub(PER_PAGE);
        let page = list.entries(c, first, end - first)?;
        (total, page.into_iter().enumerate().map(|(i, f)| (first + i, f)).rev().collect())
    };
    Ok(FailedView { lists, total, default_total, matching, entries, now: c.redis_time()? })
}

pub(crate) async fn failed(ctx: Ctx, query: QueryResult) -> Result<Response, PageError> {
    let params = query_params(query)?;
    let start = start_of(&params)?;
    let failed_list = FailedList::from_param(param(&params, "list"));
    let list = failed_list.name().map(str::to_string);
    let class = param(&params, "class").map(str::to_string);
    let queue = param(&params, "queue").map(str::to_string);
    let gone = param(&params, super::GONE).and_then(FailureId::parse);
    let view = {
        let (class, queue) = (class.clone(), queue.clone());
        blocking(ctx.client(), move |c| {
            read_failed(c, &failed_list, class.as_deref(), queue.as_deref(), start)
        })
        .await?
    };
    let list_field: Vec<(&str, &str)> = list.as_deref().map(|l| vec![("list", l)]).unwrap_or_default();
    let filtered = class.is_some() || queue.is_some();
    let href = |start: usize| {
        let mut q = vec![format!("start={start}")];
        for (name, value) in [("list", &list), ("class", &class), ("queue", &queue)] {
            if let Some(v) = value {
                q.push(format!("{name}={}", encode(v)));
            }
        }
        ctx.link(&format!("/failed?{}", q.join("&")))
    };
    let title = match &list {
        Some(list) => format!("Failed: {list}"),
        None => "Failed".to_string(),
    };
    let body = html! {
        h1 { (title) }
        p.sub { "Jobs that raised, newest first. Retrying puts a job back at the end of its queue and marks the entry retried; the entry stays until it is removed or cleared." }
        @if let Some(id) = gone {
            div.notice.gone {
                "No failure entry with id " code { (id) } " any more: it was removed or changed since the page was shown, so nothing was done."
            }
        }
        @if !view.lists.is_empty() {
            div.card {
                div.card-head { h2 { "Failed queues" } span.muted { "(the multi-queue failure backend)" } }
                table {
                    thead { tr { th { "List" } th.num { "Jobs" } } }
                    tbody {
                        tr.total[list.is_none()] {
                            td { a href=(ctx.link("/failed")) { "failed" } " " span.muted { "(the default list)" } }
                            td.num { (view.default_total) }
                        }
                        @for (name, n) in &view.lists {
                            tr.total[list.as_deref() == Some(name.as_str())] {
                                td { a href=(ctx.link(&format!("/failed?list={}", encode(name)))) { (name) } }
                                td.num { (n) }
                            }
                        }
                    }
                }
            }
        }
        div.card {
            div.card-head {
                h2 { (view.matching) " " (if view.matching == 1 { "job" } else { "jobs" }) }
                @if filtered { span.muted { "of " (view.total) ", filtered" } }
                div.actions {
                    @if view.total > 0 {
                        (action_with(&ctx, "/failed/retry-not-retried", "Retry not yet retried", "primary", Some("Retry every failed job in this list that was not retried yet? Jobs already retried are left alone."), &list_field))
                        (action_with(&ctx, "/failed/retry-all", "Retry all, including retried", "", Some("Retry every failed job in this list, including those already retried? Each of them runs again, once more per click."), &list_field))
                        @if list.is_none() {
                            (action(&ctx, "/failed/clear-retried", "Clear retried", "", Some("Remove every entry that was retried?")))
                        }
                        (action_with(&ctx, "/failed/clear", "Clear all", "danger", Some("Remove every failed job in this list? This cannot be undone."), &list_field))
                    }
                }
            }
            @if view.total > 0 {
                p.card-body.muted.explain {
                    b { "Retry not yet retried" } " puts back the job of each entry without a retried mark and marks it: pressing it twice runs no job twice. "
                    b { "Retry all, including retried" } " puts back every job in the list, those already retried too, so each of those runs again. "
                    "Each entry's own Retry and Remove act on that entry (by its id), wherever it is in the list by then."
                }
            }
            form.card-body.filters method="get" action=(ctx.link("/failed")) {
                @if let Some(list) = &list { input type="hidden" name="list" value=(list); }
                label { "Class " input type="text" name="class" value=[class.as_deref()] placeholder="Archive"; }
                label { "Queue " input type="text" name="queue" value=[queue.as_deref()] placeholder="file_serve"; }
                button.btn type="submit" { "Filter" }
                @if filtered {
                    a.btn href=(match &list { Some(l) => ctx.link(&format!("/failed?list={}", encode(l))), None => ctx.link("/failed") }) { "Clear filter" }
                }
            }
            @if view.entries.is_empty() {
                div.empty { (if filtered { "No failed job matches." } else { "No failed jobs. Nice." }) }
            }
            @for (index, f) in &view.entries {
                (failure_entry(&ctx, view.now, *index, f, &list_field))
            }
            (pagination(start, view.entries.len(), view.matching, PER_PAGE, href))
        }
    };
    Ok(page(&ctx, Tab::Failed, &title, false, body))
}

fn failure_entry(ctx: &Ctx, now: i64, index: usize, f: &Failure, list_field: &[(&str, &str)]) -> Markup {
    let backtrace = f.backtrace.as_deref().unwrap_or_default();
    html! {
        div.failure id=(format!("failure-{index}")) data-index=(index) data-id=(f.id) {
            div.head {
                span.exception { (f.exception.as_deref().unwrap_or("(no exception)")) }
                span.mono { (class_of(&f.payload)) }
                @if let Some(retried) = &f.retried_at {
                    span.badge.retried title=(retried) { "retried " (when(now, retried)) }
                }
                span.mono.muted.fid title="This entry's id: the first 12 hex digits of the SHA-1 of its bytes (retried_at left out)" { "id " (f.id) }
                div.actions {
                    (action_with(ctx, &format!("/failed/{}/retry", f.id), "Retry", "primary", None, list_field))
                    (action_with(ctx, &format!("/failed/{}/remove", f.id), "Remove", "danger", None, list_field))
                }
            }
            div.error { (f.error.as_deref().unwrap_or("")) }
            dl {
                dt { "Queue" } dd { @if let Some(q) = &f.queue { (queue_link(ctx, q)) } @else { "?" } }
                dt { "Worker" } dd { @if let Some(w) = &f.worker { (worker_link(ctx, w)) } @else { "?" } }
                dt { "Failed" } dd { @if let Some(at) = &f.failed_at { (when(now, at)) " · " span.muted { (at) } } @else { "?" } }
                dt { "Arguments" } dd.args { (args_line(&f.payload)) }
            }
            details { summary { "Payload" } pre { (pretty(&f.payload)) } }
            @if !backtrace.is_empty() {
                details { summary { "Backtrace (" (backtrace.len()) " lines)" } pre { (backtrace.join("\n")) } }
            }
        }
    }
}

// ----- Queues -----------------------------------------------------------------

pub(crate) async fn queues(ctx: Ctx) -> Result<Response, PageError> {
    let (queues, failed) = blocking(ctx.client(), |c| Ok((c.queue_sizes()?, c.failed_count()?))).await?;
    let body = html! {
        h1 { "Queues" }
        p.sub { "The list below contains all the registered queues with the number of jobs currently in the queue." }
        div.card data-live {
            div.card-head { h2 { (queues.len()) " queues" } }
            (queue_table(&ctx, &queues, failed))
        }
    };
    Ok(page(&ctx, Tab::Queues, "Queues", true, body))
}

pub(crate) async fn queue(
    ctx: Ctx,
    Path(name): Path<String>,
    query: QueryResult,
) -> Result<Response, PageError> {
    let start = start_param(query)?;
    let (size, jobs, known) = {
        let name = name.clone();
        blocking(ctx.client(), move |c| {
            let known = c.queues()?.contains(&name);
            Ok((c.size(&name)?, c.peek(&name, start, PER_PAGE)?, known))
        })
        .await?
    };
    if !known && size == 0 {
        return Err(PageError(ApiError::NotFound(format!("no queue named {name:?}"))));
    }
    let path = format!("/queues/{}", encode(&name));
    let body = html! {
        h1 { "Queue " code { (name) } }
        p.sub { "Jobs waiting in this queue, first to run at the top." }
        div.card {
            div.card-head {
                h2 { (size) " " (if size == 1 { "job" } else { "jobs" }) }
                div.actions {
                    (action(&ctx, &format!("{path}/remove"), "Remove queue", "danger", Some("Remove this queue and every job in it? This cannot be undone.")))
                }
            }
            @if jobs.is_empty() {
                div.empty { "This queue is empty." }
            } @else {
                table {
                    thead { tr { th.num { "#" } th { "Class" } th { "Arguments" } th { "Payload" } } }
                    tbody {
                        @for (i, job) in jobs.iter().enumerate() {
                            tr {
                                td.num { (start + i) }
                                td.mono { (class_of(job)) }
                                td.args { (args_line(job)) }
                                td { details { summary { "JSON" } pre { (pretty(job)) } } }
                            }
                        }
                    }
                }
            }
            (pager(&ctx, &path, start, jobs.len(), size))
        }
    };
    Ok(page(&ctx, Tab::Queues, &format!("Queue {name}"), false, body))
}

// ----- Workers ----------------------------------------------------------------

/// Whether a worker's heartbeat is older than `stale_after`.
fn is_stale(ctx: &Ctx, now: i64, worker: &WorkerBody) -> bool {
    time::is_stale(now, worker.heartbeat.as_deref(), ctx.state.stale_after)
}

fn status_badge(ctx: &Ctx, now: i64, worker: &WorkerBody) -> Markup {
    if is_stale(ctx, now, worker) {
        html! { span.badge.stale title="No heartbeat for longer than the prune interval" { "stale" } }
    } else if worker.working.is_some() {
        html! { span.badge.busy { "working" } }
    } else {
        html! { span.badge { "idle" } }
    }
}

pub(crate) async fn workers(ctx: Ctx) -> Result<Response, PageError> {
    let (workers, now) = blocking(ctx.client(), |c| Ok((collect_workers(c)?, c.redis_time()?))).await?;
    let stale = workers.iter().filter(|w| is_stale(&ctx, now, w)).count();
    let mut hosts: BTreeMap<&str, Vec<&WorkerBody>> = BTreeMap::new();
    for w in &workers {
        hosts.entry(w.host.as_str()).or_default().push(w);
    }
    let grouped = hosts.len() > 1;
    let body = html! {
        h1 { "Workers" }
        p.sub { "Every registered worker, its queues and what it is doing." }
        @if stale > 0 {
            div.notice data-live {
                (stale) " " (if stale == 1 { "worker has" } else { "workers have" })
                " sent no heartbeat for more than " (ctx.state.stale_after.as_secs()) " s: probably dead. "
                (action(&ctx, "/workers/prune", "Prune stale workers", "danger", Some("Unregister the stale workers and put their in-flight jobs back?")))
            }
        }
        div.card data-live {
            div.card-head {
                h2 { (workers.len()) (if workers.len() == 1 { " worker" } else { " workers" }) }
                span.muted { (workers.iter().filter(|w| w.working.is_some()).count()) " working" }
                @if grouped { span.muted { "on " (hosts.len()) " hosts" } }
            }
            @if workers.is_empty() {
                div.empty { "No workers are registered." }
            } @else {
                table {
                    thead { tr {
                        th { "Status" } th { "Worker" } th { "Queues" } th.num { "Processed" } th.num { "Failed" }
                        th { "Started" } th { "Heartbeat" } th { "Processing" }
                    } }
                    @for (host, list) in &hosts {
                        tbody {
                            @if grouped { tr { td.host colspan="8" { (host) " · " (list.len()) } } }
                            @for w in list {
                                tr {
                                    td { (status_badge(&ctx, now, w)) }
                                    td { (worker_link(&ctx, &w.id)) }
                                    td { @for (i, q) in w.queues.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        @if q.contains('*') { code { (q) } } @else { (queue_link(&ctx, q)) }
                                    } }
                                    td.num { (w.processed) }
                                    td.num { (w.failed) }
                                    td { @if let Some(s) = &w.started { (when(now, s)) } }
                                    td { @if let Some(b) = &w.heartbeat { (when(now, b)) } @else { span.muted { "none" } } }
                                    td {
                                        @if let Some(job) = &w.working {
                                            span.mono { (class_of(&job.payload)) } " on " (queue_link(&ctx, &job.queue))
                                        } @else { span.muted { "Waiting for a job" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, Tab::Workers, "Workers", true, body))
}

pub(crate) async fn worker(ctx: Ctx, Path(id): Path<String>) -> Result<Response, PageError> {
    let (registered, mut w, working, now) = {
        let id = id.clone();
        blocking(ctx.client(), move |c| {
            let registered = c.workers()?.contains(&id);
            let one = std::slice::from_ref(&id);
            let working = c.working_of(one)?.into_iter().next().map(|(_, job)| job);
            let stats = c.worker_stats(one)?.into_iter().next().unwrap_or_default();
            Ok((registered, describe_worker(&id, c.heartbeat_of(&id)?, stats), working, c.redis_time()?))
        })
        .await?
    };
    if !registered {
        return Err(PageError(ApiError::NotFound(format!("no worker {id:?} is registered"))));
    }
    w.working = working;
    let stale = is_stale(&ctx, now, &w);
    let body = html! {
        h1 { "Worker " code { (w.host) ":" (w.pid.map(|p| p.to_string()).unwrap_or_default()) } }
        p.sub.mono { (w.id) }
        div.card data-live {
            div.card-head {
                h2 { "Details" } (status_badge(&ctx, now, &w))
                @if stale {
                    div.actions {
                        (action(&ctx, &format!("/workers/{}/remove", encode(&w.id)), "Remove worker", "danger", Some("Unregister this worker and put its in-flight jobs back?")))
                    }
                }
            }
            div.card-body {
                dl.kv {
                    dt { "Host" } dd { (w.host) }
                    dt { "Pid" } dd { (w.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())) }
                    dt { "Queues" } dd { (w.queues.join(", ")) }
                    dt { "Started" } dd { @if let Some(s) = &w.started { (when(now, s)) " · " span.muted { (s) } } @else { "?" } }
                    dt { "Heartbeat" } dd { @if let Some(b) = &w.heartbeat { (when(now, b)) " · " span.muted { (b) } } @else { span.muted { "none" } } }
                    dt { "Processed" } dd { (w.processed) }
                    dt { "Failed" } dd { (w.failed) }
                    dt { "Processing" } dd {
                        @if let Some(job) = &w.working {
                            span.mono { (class_of(&job.payload)) } " from " (queue_link(&ctx, &job.queue))
                            " since " (when(now, &job.run_at))
                            pre { (pretty(&job.payload)) }
                        } @else { span.muted { "Waiting for a job" } }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, Tab::Workers, &format!("Worker {}", w.id), true, body))
}

// ----- Stats ------------------------------------------------------------------

fn stats_nav(ctx: &Ctx, current: &str) -> Markup {
    html! {
        div.filters style="margin-bottom: 16px" {
            @for (path, label) in [("/stats", "resque"), ("/stats/redis", "redis"), ("/stats/keys", "keys"), ("/stats.txt", "stats.txt")] {
                a.btn.primary[path == current] href=(ctx.link(path)) { (label) }
            }
        }
    }
}

pub(crate) async fn stats(ctx: Ctx) -> Result<Response, PageError> {
    let (info, paused) = blocking(ctx.client(), |c| Ok((c.info()?, c.all_workers_paused()?))).await?;
    let body = html! {
        h1 { "Stats" }
        p.sub { "Resque's own counters (" code { "Resque.info" } ")." }
        (stats_nav(&ctx, "/stats"))
        div.card data-live {
            div.card-head { h2 { "resque" } }
            table { tbody {
                tr { td { "environment" } td.num { (info.environment) } }
                tr { td { "failed" } td.num { (info.failed) } }
                tr { td { "pending" } td.num { (info.pending) } }
                tr { td { "processed" } td.num { (info.processed) } }
                tr { td { "queues" } td.num { (info.queues) } }
                tr { td { "servers" } td.num { (info.servers.join(", ")) } }
                tr { td { "workers" } td.num { (info.workers) } }
                tr { td { "working" } td.num { (info.working) } }
                tr { td { "paused" } td.num { (paused) } }
            } }
        }
    };
    Ok(page(&ctx, Tab::Stats, "Stats", true, body))
}

pub(crate) async fn stats_redis(ctx: Ctx) -> Result<Response, PageError> {
    let info = blocking(ctx.client(), |c| Ok(c.redis_info()?)).await?;
    let body = html! {
        h1 { "Stats: Redis" }
        p.sub { "The server's " code { "INFO" } " at " (ctx.state.client.address().to_string()) "." }
        (stats_nav(&ctx, "/stats/redis"))
        div.card {
            table { tbody {
                @for (k, v) in &info { tr { td.mono { (k) } td.num.mono { (v) } } }
            } }
        }
    };
    Ok(page(&ctx, Tab::Stats, "Redis", false, body))
}

pub(crate) async fn stats_keys(ctx: Ctx) -> Result<Response, PageError> {
    let keys = blocking(ctx.client(), |c| Ok(c.key_summaries(&c.keys_in_namespace()?)?)).await?;
    let body = html! {
        h1 { "Stats: keys" }
        p.sub { "Every key under the namespace " code { (ctx.state.client.namespace()) } "." }
        (stats_nav(&ctx, "/stats/keys"))
        div.card {
            div.card-head { h2 { (keys.len()) " keys" } }
            table {
                thead { tr { th { "Key" } th { "Type" } th.num { "Size" } } }
                tbody {
                    @for k in &keys {
                        tr {
                            td.mono { a href=(ctx.link(&format!("/stats/keys/{}", encode(&k.name)))) { (k.name) } }
                            td { (k.kind) }
                            td.num { (k.size) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, Tab::Stats, "Keys", false, body))
}

pub(crate) async fn stats_key(
    ctx: Ctx,
    Path(key): Path<String>,
    query: QueryResult,
) -> Result<Response, PageError> {
    let start = start_param(query)?;
    let contents = {
        let key = key.clone();
        blocking(ctx.client(), move |c| Ok(c.key_contents(&key, start, PER_PAGE)?)).await?
    };
    if contents.summary.kind == resque::inspect::KeyKind::None {
        return Err(PageError(ApiError::NotFound(format!("no key {key:?} under the namespace"))));
    }
    let path = format!("/stats/keys/{}", encode(&key));
    let total = match contents.summary.kind {
        resque::inspect::KeyKind::String => 1,
        _ => contents.summary.size,
    };
    let body = html! {
        h1 { "Key " code { (key) } }
        p.sub { (contents.summary.kind) ", size " (contents.summary.size) }
        (stats_nav(&ctx, ""))
        div.card {
            table {
                tbody {
                    @for (i, v) in contents.values.iter().enumerate() {
                        tr { td.num { (start + i) } td.args { (v) } }
                    }
                }
            }
            (pager(&ctx, &path, start, contents.values.len(), total))
        }
    };
    Ok(page(&ctx, Tab::Stats, &format!("Key {key}"), false, body))
}

/// `/stats.txt`, line for line as resque-web prints it.
pub(crate) async fn stats_txt(ctx: Ctx) -> Result<Response, PageError> {
    let text = blocking(ctx.client(), |c| {
        let queues = c.queue_sizes()?;
        let (workers, working) = c.workers_and_working()?;
        let info = c.info_from(&queues, workers.len(), working.len())?;
        let mut lines = vec![
            format!("resque.pending={}", info.pending),
            format!("resque.processed+={}", info.processed),
            format!("resque.failed+={}", info.failed),
            format!("resque.workers={}", info.workers),
            format!("resque.working={}", info.working),
        ];
        for (q, size) in queues {
            lines.push(format!("queues.{q}={size}"));
        }
        Ok(lines.join("\n"))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_escapes_spliced_text() {
        let markup = html! { td { (args_line(&json!({"args": ["<script>alert(1)</script>"]}))) } };
        let text = markup.into_string();
        assert!(!text.contains("<script>"), "{text}");
        assert!(text.contains("&lt;script&gt;"), "{text}");
    }
}
