//! State changes: POST only, each checked for the CSRF token (and, when the
//! browser sends one, a same-site `Origin`), then a 303 back to the page the
//! form was on.

use axum::extract::{FromRequest, Path, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use resque::failure::{FailureBackend, FailureRef, RedisFailures};
use resque::payload::FailureId;
use resque::Client;
use serde::Deserialize;

use super::failed::FailedList;
use super::GONE;
use super::{AppState, Ctx, PageError};
use crate::api::ApiError;
use crate::auth::constant_time_eq;
use crate::read::{blocking, failure_ref, unix_second};

/// The fields every action form carries.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// The page to go back to, inside the app.
    #[serde(default)]
    back: String,
    /// A `<queue>_failed` list, for failure actions on one failed queue.
    #[serde(default)]
    list: Option<String>,
}

impl ActionForm {
    fn list(&self) -> FailedList {
        FailedList::from_param(self.list.as_deref())
    }
}

/// An action's form, its CSRF token and origin checked: a request that
/// fails the check is refused before the handler runs.
pub(crate) struct Verified(ActionForm);

impl FromRequest<AppState> for Verified {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let headers = request.headers().clone();
        let hosts = request.extensions().get::<std::sync::Arc<crate::guard::Hosts>>().cloned();
        let Form(form) = Form::<ActionForm>::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("bad form: {e}")))?;
        check(state, hosts.as_deref(), &headers, &form)?;
        Ok(Verified(form))
    }
}

/// Refuses a form without the app's CSRF token, or sent from a page of a
/// host that is not one of the app's.
fn check(
    state: &AppState,
    hosts: Option<&crate::guard::Hosts>,
    headers: &HeaderMap,
    form: &ActionForm,
) -> Result<(), PageError> {
    if form.csrf.is_empty() || !constant_time_eq(form.csrf.as_bytes(), state.csrf.as_bytes()) {
        tracing::warn!("refused a POST without a valid CSRF token");
        return Err(ApiError::Forbidden(
            "this action needs the page's CSRF token: reload the page and try again".into(),
        )
        .into());
    }
    if let Err(refused) = crate::guard::same_origin(hosts, headers) {
        tracing::warn!(refused, "refused a cross-origin POST");
        return Err(ApiError::Forbidden(refused).into());
    }
    Ok(())
}

/// 303 to the form's page, or to `fallback` when `back` is not a path
/// inside the app.
fn back(ctx: &Ctx, form: &ActionForm, fallback: &str) -> Response {
    back_with(ctx, form, fallback, None)
}

/// [`back`], telling the page which failure id was gone (`gone=<id>`, shown
/// as a notice); a `gone` the page had before is dropped either way.
fn back_with(ctx: &Ctx, form: &ActionForm, fallback: &str, gone: Option<FailureId>) -> Response {
    let safe = form.back.starts_with('/')
        && !form.back.starts_with("//")
        && !form.back.contains('\\')
        && !form.back.chars().any(char::is_control);
    let target = if safe { form.back.as_str() } else { fallback };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(GONE))
        .map(str::to_string)
        .collect();
    if let Some(id) = gone {
        pairs.push(format!("{GONE}={id}"));
    }
    let target = if pairs.is_empty() { path.to_string() } else { format!("{path}?{}", pairs.join("&")) };
    Redirect::to(&ctx.link(&target)).into_response()
}

/// 303 to an app page.
fn to(ctx: &Ctx, path: &str) -> Response {
    Redirect::to(&ctx.link(path)).into_response()
}

/// What a failure action does to one entry of a failed list.
type FailureOp = fn(&FailedList, &Client, FailureRef) -> Result<(), resque::Error>;

/// Runs `op` on the failure the path names (an id, as the page's buttons
/// post, or an index), in the form's list. An id no entry has any more
/// goes back to the page, which says so; nothing was done.
async fn on_failure(ctx: Ctx, entry: &str, form: ActionForm, op: FailureOp) -> Result<Response, PageError> {
    let (entry, list) = (failure_ref(entry)?, form.list());
    let gone = blocking(ctx.client(), move |c| match op(&list, c, entry) {
        Ok(()) => Ok(None),
        Err(resque::Error::NoSuchFailureId { id }) => Ok(Some(id)),
        Err(e) => Err(e.into()),
    })
    .await?;
    if let Some(id) = gone {
        tracing::info!(%id, "no failure entry with this id any more; nothing done");
    }
    Ok(back_with(&ctx, &form, "/failed", gone))
}

pub(crate) async fn failed_retry(
    ctx: Ctx,
    Path(entry): Path<String>,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    on_failure(ctx, &entry, form, FailedList::requeue).await
}

pub(crate) async fn failed_remove(
    ctx: Ctx,
    Path(entry): Path<String>,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    on_failure(ctx, &entry, form, FailedList::remove).await
}

/// Retries every entry, those retried before included (they run again).
pub(crate) async fn failed_retry_all(ctx: Ctx, Verified(form): Verified) -> Result<Response, PageError> {
    let list = form.list();
    let n = blocking(ctx.client(), move |c| Ok(list.requeue_all(c)?)).await?;
    tracing::info!(jobs = n, "retried every failed job, those retried before included");
    Ok(back(&ctx, &form, "/failed"))
}

/// Retries the entries not retried yet: pressing it again runs nothing twice.
pub(crate) async fn failed_retry_not_retried(
    ctx: Ctx,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    let list = form.list();
    let n = blocking(ctx.client(), move |c| Ok(list.requeue_not_retried(c)?)).await?;
    tracing::info!(jobs = n, "retried the failed jobs not retried yet");
    Ok(back(&ctx, &form, "/failed"))
}

pub(crate) async fn failed_clear(ctx: Ctx, Verified(form): Verified) -> Result<Response, PageError> {
    let list = form.list();
    blocking(ctx.client(), move |c| Ok(list.clear(c)?)).await?;
    Ok(to(&ctx, "/failed"))
}

pub(crate) async fn failed_clear_retried(ctx: Ctx, _: Verified) -> Result<Response, PageError> {
    blocking(ctx.client(), |c| Ok(RedisFailures::new(c.clone()).clear_retried()?)).await?;
    Ok(to(&ctx, "/failed"))
}

pub(crate) async fn queue_remove(
    ctx: Ctx,
    Path(name): Path<String>,
    _: Verified,
) -> Result<Response, PageError> {
    blocking(ctx.client(), move |c| Ok(c.remove_queue(&name)?)).await?;
    Ok(to(&ctx, "/queues"))
}

/// `/queue/remove?name=`: [`queue_remove`] for a name a path cannot carry.
pub(crate) async fn queue_remove_by_query(
    ctx: Ctx,
    query: crate::read::QueryResult,
    _: Verified,
) -> Result<Response, PageError> {
    let params = crate::read::query_params(query)?;
    let Some(name) = params.get("name").cloned() else {
        return Err(ApiError::BadRequest("name the queue: /queue/remove?name=<queue>".into()).into());
    };
    blocking(ctx.client(), move |c| Ok(c.remove_queue(&name)?)).await?;
    Ok(to(&ctx, "/queues"))
}

/// Prunes dead workers with the library's pruning, a heartbeat older than
/// the app's `stale_after` being dead, so the page's "stale" flag and the
/// pruning agree.
pub(crate) async fn workers_prune(ctx: Ctx, Verified(form): Verified) -> Result<Response, PageError> {
    let stale_after = ctx.state.stale_after;
    let pruned = blocking(ctx.client(), move |c| Ok(c.prune_workers_expired_after(stale_after)?)).await?;
    match pruned {
        Some(pruned) => {
            tracing::info!(workers = ?pruned.workers, recovered = ?pruned.recovered, "pruned stale workers")
        }
        None => tracing::info!("a worker is pruning now; nothing pruned"),
    }
    Ok(back(&ctx, &form, "/workers"))
}

pub(crate) async fn worker_remove(
    ctx: Ctx,
    Path(id): Path<String>,
    _: Verified,
) -> Result<Response, PageError> {
    blocking(ctx.client(), move |c| {
        let recovered = c.remove_worker(&id)?;
        tracing::info!(worker = %id, ?recovered, "removed a worker");
        Ok(())
    })
    .await?;
    Ok(to(&ctx, "/workers"))
}

/// Moves every job due at the second to its queue now; an item that is not
/// a job stays (and is logged by the library).
pub(crate) async fn delayed_queue_now(
    ctx: Ctx,
    Path(at): Path<String>,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    let at = unix_second(&at)?;
    let done = blocking(ctx.client(), move |c| Ok(c.enqueue_delayed_at_now(at)?)).await?;
    tracing::info!(
        at,
        jobs = done.queued,
        left = done.unreadable.len(),
        "queued a second's delayed jobs now"
    );
    Ok(back(&ctx, &form, "/delayed"))
}

/// Cancels every job due at the second.
pub(crate) async fn delayed_cancel(
    ctx: Ctx,
    Path(at): Path<String>,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    let at = unix_second(&at)?;
    let removed = blocking(ctx.client(), move |c| Ok(c.remove_delayed_at(at)?)).await?;
    tracing::info!(at, jobs = removed, "cancelled a second's delayed jobs");
    Ok(back(&ctx, &form, "/delayed"))
}

pub(crate) async fn delayed_clear(ctx: Ctx, _: Verified) -> Result<Response, PageError> {
    let removed = blocking(ctx.client(), |c| Ok(c.clear_delayed()?)).await?;
    tracing::info!(jobs = removed, "cleared every delayed job");
    Ok(to(&ctx, "/delayed"))
}

/// Enqueues a schedule's job once now (Ruby's `enqueue_from_config`): its
/// next run stays when it was.
pub(crate) async fn schedule_enqueue_now(
    ctx: Ctx,
    Path(name): Path<String>,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    let statics = ctx.state.schedules.clone();
    blocking(ctx.client(), move |c| {
        let found = crate::read::schedule(c, &statics, &name)?;
        let queue = found.entry.enqueue_now(c).map_err(|e| match e {
            resque::Error::Schedule { .. } => ApiError::BadRequest(e.to_string()),
            e => e.into(),
        })?;
        tracing::info!(schedule = name, queue, "enqueued a schedule's job now");
        Ok(())
    })
    .await?;
    Ok(back(&ctx, &form, "/schedule"))
}

/// Removes a dynamic schedule (a static one is not in Redis: 404).
pub(crate) async fn schedule_remove(
    ctx: Ctx,
    Path(name): Path<String>,
    _: Verified,
) -> Result<Response, PageError> {
    let removed = blocking(ctx.client(), move |c| {
        let removed = c.remove_schedule(&name)?;
        tracing::info!(schedule = name, removed, "removed a dynamic schedule");
        Ok(removed)
    })
    .await?;
    if !removed {
        return Err(ApiError::NotFound(
            "no dynamic schedule of this name: it was removed already, or is static".into(),
        )
        .into());
    }
    Ok(to(&ctx, "/schedule"))
}

/// Queues a waiting retry now (the one the page showed, by its id).
pub(crate) async fn retry_now(
    ctx: Ctx,
    Path(id): Path<String>,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    let moved = blocking(ctx.client(), move |c| {
        let retry = crate::read::pending_retry(c, &id)?;
        Ok(c.retry_now(&retry)?)
    })
    .await?;
    tracing::info!(moved, "queued a retry now");
    Ok(back(&ctx, &form, "/retries"))
}

/// Cancels a waiting retry: its last failure moves to `failed`.
pub(crate) async fn retry_cancel(
    ctx: Ctx,
    Path(id): Path<String>,
    Verified(form): Verified,
) -> Result<Response, PageError> {
    let outcome = blocking(ctx.client(), move |c| {
        let retry = crate::read::pending_retry(c, &id)?;
        Ok(c.cancel_retry(&retry)?)
    })
    .await?;
    tracing::info!(?outcome, "cancelled a retry");
    Ok(back(&ctx, &form, "/retries"))
}
