//! The Delayed tab (resque-scheduler's): the seconds that have delayed
//! jobs with how many, a search by class, and one second's jobs; each
//! second can be queued now or cancelled.

use axum::extract::Path;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value;

use super::{pager, queue_link};
use crate::read::{self, blocking, param, query_params, start_of, start_param, QueryResult, PER_PAGE};
use crate::ui::layout::{action, args_line, class_of, page, pretty, Tab};
use crate::ui::{encode, time, Ctx, PageError};

/// The most jobs a search by class shows.
const FOUND_LIMIT: usize = 100;

/// A second as the pages show it: the time (Ruby's `Time#to_s`, as workers'
/// start times), how far ahead or behind it is, and the Unix second.
pub(super) fn second(now: i64, at: i64) -> Markup {
    match jiff::Timestamp::from_second(at) {
        Ok(ts) => html! {
            span title=(format!("Unix second {at}")) { (resque::payload::time::started(ts)) }
            " " span.muted { "(" (time::ago(now, ts)) ")" }
        },
        Err(_) => html! { span { "second " (at) } },
    }
}

/// A link to one second's page.
fn second_link(ctx: &Ctx, at: i64) -> Markup {
    html! { a.mono href=(ctx.link(&format!("/delayed/{at}"))) { (at) } }
}

/// The buttons acting on every job of one second.
fn second_actions(ctx: &Ctx, at: i64) -> Markup {
    html! {
        (action(ctx, &format!("/delayed/{at}/queue-now"), "Queue now", "primary", None))
        (action(ctx, &format!("/delayed/{at}/cancel"), "Cancel", "danger", Some("Cancel every job delayed to this second? This cannot be undone.")))
    }
}

pub(crate) async fn delayed(ctx: Ctx, query: QueryResult) -> Result<Response, PageError> {
    let params = query_params(query)?;
    let start = start_of(&params)?;
    let class = param(&params, "class").map(str::to_string);
    let (view, found, now) = {
        let class = class.clone();
        blocking(ctx.client(), move |c| {
            let found = match &class {
                Some(class) => Some(c.find_delayed(Some(class), FOUND_LIMIT)?),
                None => None,
            };
            Ok((read::delayed_seconds(c, start, PER_PAGE)?, found, c.redis_time()?))
        })
        .await?
    };
    let body = html! {
        h1 { "Delayed" }
        p.sub { "Jobs waiting for their second, earliest first (resque-scheduler's delayed queue). A scheduler moves each to its queue when its second comes; Queue now moves them at once." }
        div.card data-live {
            div.card-head {
                h2 { (view.jobs) " delayed " (if view.jobs == 1 { "job" } else { "jobs" }) }
                span.muted { "at " (view.count) " " (if view.count == 1 { "second" } else { "seconds" }) }
                div.actions {
                    @if view.jobs > 0 {
                        (action(&ctx, "/delayed/clear", "Clear all", "danger", Some("Remove every delayed job? This cannot be undone.")))
                    }
                }
            }
            form.card-body.filters method="get" action=(ctx.link("/delayed")) {
                label { "Class " input type="text" name="class" value=[class.as_deref()] placeholder="Archive"; }
                button.btn type="submit" { "Search" }
                @if class.is_some() { a.btn href=(ctx.link("/delayed")) { "Clear search" } }
            }
            @if view.seconds.is_empty() {
                div.empty { "No delayed jobs." }
            } @else {
                table {
                    thead { tr { th { "Due" } th { "Unix second" } th.num { "Jobs" } th { "" } } }
                    tbody {
                        @for s in &view.seconds {
                            tr data-at=(s.at) {
                                td { (second(now, s.at)) }
                                td { (second_link(&ctx, s.at)) }
                                td.num { (s.jobs) }
                                td { div.actions { (second_actions(&ctx, s.at)) } }
                            }
                        }
                    }
                }
            }
            (pager(&ctx, "/delayed", start, view.seconds.len(), view.count))
        }
        @if let (Some(class), Some(found)) = (&class, &found) {
            (found_card(&ctx, now, class, found))
        }
    };
    Ok(page(&ctx, Tab::Delayed, "Delayed", true, body))
}

/// The delayed jobs of one class, earliest first.
fn found_card(ctx: &Ctx, now: i64, class: &str, found: &[(i64, Value)]) -> Markup {
    html! {
        div.card #found {
            div.card-head {
                h2 { "Delayed jobs of " code { (class) } }
                span.muted {
                    (found.len()) @if found.len() == FOUND_LIMIT { " (the first " (FOUND_LIMIT) ")" }
                }
            }
            @if found.is_empty() {
                div.empty { "No delayed job of this class." }
            } @else {
                table {
                    thead { tr { th { "Due" } th { "Unix second" } th { "Queue" } th { "Arguments" } } }
                    tbody {
                        @for (at, job) in found {
                            tr {
                                td { (second(now, *at)) }
                                td { (second_link(ctx, *at)) }
                                td { (queue_of(ctx, job)) }
                                td.args { (args_line(job)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A delayed item's queue, linked, or `?`.
fn queue_of(ctx: &Ctx, job: &Value) -> Markup {
    match job.get("queue").and_then(Value::as_str) {
        Some(queue) => queue_link(ctx, queue),
        None => html! { "?" },
    }
}

pub(crate) async fn delayed_at(
    ctx: Ctx,
    Path(raw): Path<String>,
    query: QueryResult,
) -> Result<Response, PageError> {
    let at = read::unix_second(&raw)?;
    let start = start_param(query)?;
    let (view, now) =
        blocking(ctx.client(), move |c| Ok((read::delayed_jobs(c, at, start, PER_PAGE)?, c.redis_time()?)))
            .await?;
    let body = html! {
        h1 { "Delayed at " code { (at) } }
        p.sub { "Due " (second(now, at)) ". Jobs in the order they were delayed." }
        div.card data-live {
            div.card-head {
                h2 { (view.size) " " (if view.size == 1 { "job" } else { "jobs" }) }
                div.actions { @if view.size > 0 { (second_actions(&ctx, at)) } }
            }
            @if view.jobs.is_empty() {
                div.empty { "No delayed jobs at this second: they were queued or cancelled, or none were delayed to it." }
            } @else {
                table {
                    thead { tr { th.num { "#" } th { "Class" } th { "Queue" } th { "Arguments" } th { "Item" } } }
                    tbody {
                        @for (i, job) in view.jobs.iter().enumerate() {
                            tr {
                                td.num { (start + i) }
                                td.mono { (class_of(job)) }
                                td { (queue_of(&ctx, job)) }
                                td.args { (args_line(job)) }
                                td { details { summary { "JSON" } pre { (pretty(job)) } } }
                            }
                        }
                    }
                }
            }
            (pager(&ctx, &format!("/delayed/{}", encode(&at.to_string())), start, view.jobs.len(), view.size))
        }
    };
    Ok(page(&ctx, Tab::Delayed, &format!("Delayed at {at}"), true, body))
}
