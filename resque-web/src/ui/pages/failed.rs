//! The Failed tab: a failed list, a page at a time, filterable, with
//! each entry's actions.

use axum::response::Response;
use maud::{html, Markup};
use resque::payload::{Failure, FailureId};

use super::{queue_link, when, worker_link};
use crate::read::{self, blocking, param, query_params, start_of, QueryResult, PER_PAGE};
use crate::ui::failed::FailedList;
use crate::ui::layout::{action, action_with, args_line, class_of, page, pagination, pretty, Tab};
use crate::ui::{encode, Ctx, PageError};

pub(crate) async fn failed(ctx: Ctx, query: QueryResult) -> Result<Response, PageError> {
    let params = query_params(query)?;
    let start = start_of(&params)?;
    let failed_list = FailedList::from_param(param(&params, "list"));
    let list = failed_list.name().map(str::to_string);
    let class = param(&params, "class").map(str::to_string);
    let queue = param(&params, "queue").map(str::to_string);
    let gone = param(&params, crate::ui::GONE).and_then(FailureId::parse);
    let view = {
        let (class, queue) = (class.clone(), queue.clone());
        blocking(ctx.client(), move |c| {
            read::failed_page(c, &failed_list, class.as_deref(), queue.as_deref(), start)
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
            (pagination(view.start, view.entries.len(), view.matching, PER_PAGE, href))
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
                @if let Some(n) = f.attempts {
                    span.badge.attempts title="A retry policy gave up on this job after this many runs" { "gave up after " (n) (if n == 1 { " attempt" } else { " attempts" }) }
                }
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
                @if let Some(n) = f.attempts { dt { "Attempts" } dd { (n) } }
            }
            details { summary { "Payload" } pre { (pretty(&f.payload)) } }
            @if !backtrace.is_empty() {
                details { summary { "Backtrace (" (backtrace.len()) " lines)" } pre { (backtrace.join("\n")) } }
            }
        }
    }
}
