//! The Workers tab: every registered worker, grouped by host, and one
//! worker's details.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::response::Response;
use maud::{html, Markup};

use super::{queue_link, when, worker_link};
use crate::api::ApiError;
use crate::read::{self, blocking, WorkerBody};
use crate::ui::layout::{action, class_of, page, pretty, Tab};
use crate::ui::{encode, time, Ctx, PageError};

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
    let (workers, now) = blocking(ctx.client(), |c| Ok((read::collect_workers(c)?, c.redis_time()?))).await?;
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
    let ((registered, w), now) = {
        let id = id.clone();
        blocking(ctx.client(), move |c| Ok((read::worker(c, &id)?, c.redis_time()?))).await?
    };
    if !registered {
        return Err(PageError(ApiError::NotFound(format!("no worker {id:?} is registered"))));
    }
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
