//! The Retries tab: the failed runs whose retry waits for its second
//! (resque-retry's keys, written by resque-rs workers or by Ruby), each
//! with how many times the job ran, when it runs next and why it failed;
//! each can be retried now or cancelled.

use axum::response::Response;
use maud::{html, Markup};

use super::delayed::second;
use super::{pager, queue_link};
use crate::read::{self, blocking, start_param, QueryResult, RetryRow, PER_PAGE};
use crate::ui::layout::{action, args_line, Tab};
use crate::ui::{layout::page, Ctx, PageError};

/// "2 of 4" (runs so far of runs allowed), "2" when the limit is not known
/// (the job is not linked in this program).
pub(crate) fn attempt_text(attempt: Option<u64>, max: Option<u64>) -> String {
    match (attempt, max) {
        (Some(n), Some(max)) => format!("{n} of {max}"),
        (Some(n), None) => n.to_string(),
        (None, Some(max)) => format!("? of {max}"),
        (None, None) => "?".to_string(),
    }
}

/// The buttons acting on one retry.
fn retry_actions(ctx: &Ctx, id: &str) -> Markup {
    html! {
        (action(ctx, &format!("/retries/{id}/now"), "Retry now", "primary", None))
        (action(ctx, &format!("/retries/{id}/cancel"), "Cancel", "danger", Some("Cancel this retry? The job will not run again; its last failure moves to Failed.")))
    }
}

fn row(ctx: &Ctx, now: i64, r: &RetryRow) -> Markup {
    let args = serde_json::json!({ "args": r.retry.args });
    html! {
        tr data-id=(r.id) {
            td.mono { (r.retry.class) }
            td { (queue_link(ctx, &r.retry.queue)) }
            td.args { (args_line(&args)) }
            td.num title="Runs so far, of the runs its retry policy allows" { (attempt_text(r.retry.attempt, r.max_attempts)) }
            td { (second(now, r.retry.at)) }
            td.error { (r.last_error.as_deref().unwrap_or("?")) }
            td { div.actions { (retry_actions(ctx, &r.id)) } }
        }
    }
}

pub(crate) async fn retries(ctx: Ctx, query: QueryResult) -> Result<Response, PageError> {
    let start = start_param(query)?;
    let (view, now) =
        blocking(ctx.client(), move |c| Ok((read::retries(c, start, PER_PAGE)?, c.redis_time()?))).await?;
    let body = html! {
        h1 { "Retries" }
        p.sub {
            "Failed runs whose retry waits for its second, earliest first (resque-retry's keys, shared with Ruby). "
            "A scheduler queues each when it is due; Retry now queues it at once; Cancel drops the retry and moves its last failure to Failed."
        }
        div.card data-live {
            div.card-head {
                h2 { (view.count) " waiting " (if view.count == 1 { "retry" } else { "retries" }) }
            }
            @if view.retries.is_empty() {
                div.empty { "No retries waiting." }
            } @else {
                table {
                    thead { tr { th { "Class" } th { "Queue" } th { "Arguments" } th.num { "Attempt" } th { "Next run" } th { "Last error" } th { "" } } }
                    tbody {
                        @for r in &view.retries { (row(&ctx, now, r)) }
                    }
                }
            }
            (pager(&ctx, "/retries", start, view.retries.len(), view.count))
        }
    };
    Ok(page(&ctx, Tab::Retries, "Retries", true, body))
}
