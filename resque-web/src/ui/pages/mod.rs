//! The GET pages: one file per tab (its list and detail views), over
//! [`crate::read`]'s data; here what several tabs show alike.

mod delayed;
mod failed;
mod overview;
mod queues;
mod retries;
mod schedule;
mod stats;
mod workers;
mod working;

use maud::{html, Markup};
use resque::WorkerId;

use super::layout::pagination;
use super::{encode, time, Ctx};
use crate::read::{Latency, PER_PAGE};

pub(crate) use delayed::{delayed, delayed_at};
pub(crate) use failed::failed;
pub(crate) use overview::overview;
pub(crate) use queues::{queue, queue_by_query, queues};
pub(crate) use retries::retries;
pub(crate) use schedule::schedule;
pub(crate) use stats::{stats, stats_key, stats_keys, stats_redis, stats_txt};
pub(crate) use workers::{worker, workers};
pub(crate) use working::working;

/// The pager under a table of `PER_PAGE` entries a page at `path`.
fn pager(ctx: &Ctx, path: &str, start: usize, shown: usize, total: u64) -> Markup {
    let sep = if path.contains('?') { '&' } else { '?' };
    pagination(start, shown, total, PER_PAGE, |s| ctx.link(&format!("{path}{sep}start={s}")))
}

/// Every queue with its size and latency, and a last row for the `failed`
/// list.
fn queue_table(ctx: &Ctx, queues: &[(String, u64)], latencies: &[Latency], failed: u64) -> Markup {
    html! {
        table {
            thead { tr {
                th { "Name" }
                th.num { "Jobs" }
                th.num title="How long the oldest job has waited, from the enqueue time its payload carries" { "Latency" }
            } }
            tbody {
                @for (i, (name, size)) in queues.iter().enumerate() {
                    tr {
                        td { (queue_link(ctx, name)) }
                        td.num { (size) }
                        (latency_cell(latencies.get(i).copied().unwrap_or(Latency::Unknown)))
                    }
                }
                tr.total {
                    td { a href=(ctx.link("/failed")) { "failed" } }
                    td.num { span.badge.bad[failed > 0] { (failed) } }
                    td.num {}
                }
            }
        }
    }
}

/// A queue's latency cell: `0 s` for an empty queue (nothing waits, so
/// nothing is late, as Sidekiq counts it), `—` when the oldest job carries
/// no enqueue time, else how long it has waited.
fn latency_cell(latency: Latency) -> Markup {
    match latency {
        Latency::Empty => html! { td.num.latency title="No job waits" { "0 s" } },
        Latency::Unknown => html! {
            td.num.latency.muted title="The oldest job's payload carries no enqueue time (enqueued_at)" { "—" }
        },
        Latency::Since { seconds, at } => html! {
            td.num.latency title=(format!("The oldest job was enqueued at {}", at.strftime("%Y-%m-%d %H:%M:%S UTC"))) { (time::span(seconds)) }
        },
    }
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

/// A link to a queue's page.
fn queue_link(ctx: &Ctx, queue: &str) -> Markup {
    html! { a href=(ctx.link(&crate::ui::queue_path(queue))) { (queue) } }
}

/// "5m ago" for a time text, with the text itself on hover.
fn when(now: i64, text: &str) -> Markup {
    match resque::payload::time::parse_any(text) {
        Some(t) => html! { span title=(text) { (time::ago(now, t)) } },
        None => html! { span { (text) } },
    }
}

#[cfg(test)]
mod tests {
    use crate::ui::layout::args_line;
    use maud::html;
    use serde_json::json;

    #[test]
    fn a_pager_past_the_end_says_so() {
        use crate::ui::layout::pagination;
        let href = |s: usize| format!("/delayed?start={s}");
        let text = pagination(usize::MAX, 0, 45, 20, href).into_string();
        assert!(text.contains("Nothing from 18446744073709551615 on: there are 45"), "{text}");
        assert!(text.contains(r#"href="/delayed?start=40""#), "{text}");
        let text = pagination(40, 5, 45, 20, href).into_string();
        assert!(text.contains("Showing 41 to 45 of 45") && !text.contains("Older"), "{text}");
    }

    #[test]
    fn layout_escapes_spliced_text() {
        let markup = html! { td { (args_line(&json!({"args": ["<script>alert(1)</script>"]}))) } };
        let text = markup.into_string();
        assert!(!text.contains("<script>"), "{text}");
        assert!(text.contains("&lt;script&gt;"), "{text}");
    }
}
