//! The Queues tab: every queue with its size, and one queue's jobs.

use axum::extract::Path;
use axum::response::Response;
use maud::html;

use super::{pager, queue_table};
use crate::api::ApiError;
use crate::read::{self, blocking, query_params, start_of, start_param, QueryResult};
use crate::ui::layout::{action, args_line, class_of, page, pretty, Tab};
use crate::ui::{queue_action_path, queue_path, Ctx, PageError};

pub(crate) async fn queues(ctx: Ctx) -> Result<Response, PageError> {
    let (queues, failed, latencies) = blocking(ctx.client(), |c| {
        let queues = c.queue_sizes()?;
        let latencies = read::latencies(c, &queues, c.redis_time()?)?;
        Ok((queues, c.failed_count()?, latencies))
    })
    .await?;
    let body = html! {
        h1 { "Queues" }
        p.sub { "The list below contains all the registered queues with the number of jobs currently in the queue." }
        div.card data-live {
            div.card-head { h2 { (queues.len()) " queues" } }
            (queue_table(&ctx, &queues, &latencies, failed))
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
    queue_page(ctx, name, start).await
}

/// `/queue?name=`: a queue's page for a name a path cannot carry (`.`,
/// `..`), or any other.
pub(crate) async fn queue_by_query(ctx: Ctx, query: QueryResult) -> Result<Response, PageError> {
    let params = query_params(query)?;
    let start = start_of(&params)?;
    let Some(name) = params.get("name").cloned() else {
        return Err(PageError(ApiError::BadRequest("name the queue: /queue?name=<queue>".into())));
    };
    queue_page(ctx, name, start).await
}

async fn queue_page(ctx: Ctx, name: String, start: usize) -> Result<Response, PageError> {
    let (size, start, jobs, known) = {
        let name = name.clone();
        blocking(ctx.client(), move |c| {
            let known = c.queues()?.contains(&name);
            let (size, start, jobs) = read::queue_page(c, &name, start)?;
            Ok((size, start, jobs, known))
        })
        .await?
    };
    if !known && size == 0 {
        return Err(PageError(ApiError::NotFound(format!("no queue named {name:?}"))));
    }
    let path = queue_path(&name);
    let body = html! {
        h1 { "Queue " code { (name) } }
        p.sub { "Jobs waiting in this queue, first to run at the top." }
        div.card {
            div.card-head {
                h2 { (size) " " (if size == 1 { "job" } else { "jobs" }) }
                div.actions {
                    (action(&ctx, &queue_action_path(&name, "remove"), "Remove queue", "danger", Some("Remove this queue and every job in it? This cannot be undone.")))
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
