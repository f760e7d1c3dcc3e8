//! The Schedule tab (resque-scheduler's): every recurring schedule, static
//! and dynamic, with its next and last run and which scheduler leads; each
//! can be enqueued now, and a dynamic one removed.

use axum::response::Response;
use maud::{html, Markup};
use resque::scheduler::Schedule;

use super::delayed::second;
use super::{queue_link, when};
use crate::read::{self, blocking};
use crate::ui::layout::{action, page, Tab};
use crate::ui::{encode, Ctx, PageError};

/// The buttons acting on one schedule.
fn schedule_actions(ctx: &Ctx, s: &Schedule) -> Markup {
    let path = format!("/schedule/{}", encode(&s.entry.name));
    html! {
        (action(ctx, &format!("{path}/enqueue-now"), "Enqueue now", "primary", None))
        @if s.dynamic {
            (action(ctx, &format!("{path}/remove"), "Remove", "danger", Some("Remove this dynamic schedule? Its runs stop.")))
        }
    }
}

pub(crate) async fn schedule(ctx: Ctx) -> Result<Response, PageError> {
    let statics = ctx.state.schedules.clone();
    let (listing, now) =
        blocking(ctx.client(), move |c| Ok((read::schedules(c, &statics)?, c.redis_time()?))).await?;
    let body = html! {
        h1 { "Schedule" }
        p.sub { "Recurring schedules (resque-scheduler's): static ones from the schedule file and the jobs' declarations, dynamic ones from Redis. The leading scheduler enqueues each run once; Enqueue now runs one more without moving the next." }
        div.card data-live {
            div.card-head {
                h2 { (listing.schedules.len()) " " (if listing.schedules.len() == 1 { "schedule" } else { "schedules" }) }
                span.muted #leader {
                    @match &listing.leader {
                        Some(who) => { "Leading scheduler: " code { (who) } },
                        None => { span.badge.bad { "no scheduler leads" } },
                    }
                }
            }
            @if listing.schedules.is_empty() {
                div.empty { "No schedules." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Class" } th { "Queue" } th { "Arguments" } th { "When" } th { "Next run" } th { "Last run" } th { "Kind" } th { "" } } }
                    tbody {
                        @for s in &listing.schedules {
                            tr data-schedule=(s.entry.name) {
                                td.mono title=[s.entry.description.as_deref()] { (s.entry.name) }
                                td.mono { (s.entry.class) }
                                td { @match s.queue() { Some(q) => (queue_link(&ctx, &q)), None => "?" } }
                                td.args { (s.entry.args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")) }
                                td.mono { (s.entry.timing) }
                                td { @match s.next_run { Some(t) => (second(now, t.as_second())), None => "-" } }
                                td { @match &s.last_run { Some(t) => (when(now, t)), None => "never" } }
                                td { @if s.dynamic { span.badge { "dynamic" } } @else { span.muted { "static" } } }
                                td { div.actions { (schedule_actions(&ctx, s)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, Tab::Schedule, "Schedule", true, body))
}
