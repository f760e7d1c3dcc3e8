//! The Overview tab: counts, queues and the workers busy now.

use axum::response::Response;
use maud::html;

use super::queue_table;
use super::working::working_table;
use crate::read::{self, blocking};
use crate::ui::layout::{page, Tab};
use crate::ui::{Ctx, PageError};

pub(crate) async fn overview(ctx: Ctx) -> Result<Response, PageError> {
    let (read::Overview { info, queues, working, .. }, paused, now, latencies) =
        blocking(ctx.client(), |c| {
            let overview = read::overview(c)?;
            let now = c.redis_time()?;
            let latencies = read::latencies(c, &overview.queues, now)?;
            Ok((overview, c.all_workers_paused()?, now, latencies))
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
                (queue_table(&ctx, &queues, &latencies, info.failed))
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
