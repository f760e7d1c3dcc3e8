//! The Working tab: every worker processing a job now.

use axum::response::Response;
use maud::{html, Markup};
use resque::payload::WorkingOn;

use super::{queue_link, when, worker_link};
use crate::read::blocking;
use crate::ui::layout::{args_line, class_of, page, Tab};
use crate::ui::{Ctx, PageError};

/// Busy workers as a table.
pub(super) fn working_table(ctx: &Ctx, now: i64, working: &[(String, WorkingOn)]) -> Markup {
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
