//! State changes: POST only, each checked for the CSRF token (and, when the
//! browser sends one, a same-site `Origin`), then a 303 back to the page the
//! form was on.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use resque::failure::{FailureBackend, RedisFailures, RedisMultiQueueFailures};
use serde::Deserialize;

use super::{AppState, Ctx, PageError};
use crate::api::{blocking, collect_workers, ApiError};
use crate::auth::constant_time_eq;

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
    fn list(&self) -> Option<String> {
        self.list.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string)
    }
}

/// The form, once its token and origin are checked.
fn verified(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<ActionForm, PageError> {
    let Form(form) = form.map_err(|e| ApiError::BadRequest(format!("bad form: {e}")))?;
    if form.csrf.is_empty() || !constant_time_eq(form.csrf.as_bytes(), state.csrf.as_bytes()) {
        tracing::warn!("refused a POST without a valid CSRF token");
        return Err(ApiError::Forbidden(
            "this action needs the page's CSRF token: reload the page and try again".into(),
        )
        .into());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin != "null" && origin_host != host {
            tracing::warn!(origin, host, "refused a cross-origin POST");
            return Err(ApiError::Forbidden(format!("cross-origin request from {origin} refused")).into());
        }
    }
    Ok(form)
}

/// 303 to the form's page, or to `fallback` when `back` is not a path
/// inside the app.
fn back(ctx: &Ctx, form: &ActionForm, fallback: &str) -> Response {
    let safe = form.back.starts_with('/')
        && !form.back.starts_with("//")
        && !form.back.contains('\\')
        && !form.back.chars().any(char::is_control);
    let target = if safe { form.back.as_str() } else { fallback };
    Redirect::to(&ctx.link(target)).into_response()
}

/// A failure index from the path.
fn index_of(raw: &str) -> Result<usize, PageError> {
    raw.parse::<usize>().map_err(|_| {
        ApiError::BadRequest(format!("a failure index is a non-negative integer, not {raw:?}")).into()
    })
}

pub(crate) async fn failed_retry(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = verified(&state, &headers, form)?;
    let index = index_of(&index)?;
    let list = form.list();
    blocking(ctx.client(), move |c| {
        match list {
            Some(list) => RedisMultiQueueFailures::new(c.clone()).requeue_in(&list, index)?,
            None => RedisFailures::new(c.clone()).requeue(index)?,
        }
        Ok(())
    })
    .await?;
    Ok(back(&ctx, &form, "/failed"))
}

pub(crate) async fn failed_remove(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = verified(&state, &headers, form)?;
    let index = index_of(&index)?;
    let list = form.list();
    blocking(ctx.client(), move |c| {
        match list {
            Some(list) => RedisMultiQueueFailures::new(c.clone()).remove_in(&list, index)?,
            None => RedisFailures::new(c.clone()).remove(index)?,
        }
        Ok(())
    })
    .await?;
    Ok(back(&ctx, &form, "/failed"))
}

pub(crate) async fn failed_retry_all(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = verified(&state, &headers, form)?;
    let list = form.list();
    let n = blocking(ctx.client(), move |c| match list {
        Some(list) => {
            let multi = RedisMultiQueueFailures::new(c.clone());
            let count = multi.count_in(&list)? as usize;
            for index in 0..count {
                multi.requeue_in(&list, index)?;
            }
            Ok(count)
        }
        None => Ok(RedisFailures::new(c.clone()).requeue_all()?),
    })
    .await?;
    tracing::info!(jobs = n, "retried every failed job");
    Ok(back(&ctx, &form, "/failed"))
}

pub(crate) async fn failed_clear(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = verified(&state, &headers, form)?;
    let list = form.list();
    blocking(ctx.client(), move |c| {
        match list {
            Some(list) => RedisMultiQueueFailures::new(c.clone()).clear_in(&list)?,
            None => RedisFailures::new(c.clone()).clear()?,
        }
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&ctx.link("/failed")).into_response())
}

pub(crate) async fn failed_clear_retried(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    verified(&state, &headers, form)?;
    blocking(ctx.client(), |c| Ok(RedisFailures::new(c.clone()).clear_retried()?)).await?;
    Ok(Redirect::to(&ctx.link("/failed")).into_response())
}

pub(crate) async fn queue_remove(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    verified(&state, &headers, form)?;
    blocking(ctx.client(), move |c| Ok(c.remove_queue(&name)?)).await?;
    Ok(Redirect::to(&ctx.link("/queues")).into_response())
}

pub(crate) async fn workers_prune(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = verified(&state, &headers, form)?;
    let stale_after = state.stale_after.as_secs() as i64;
    let pruned = blocking(ctx.client(), move |c| {
        let now = c.redis_time()?;
        let mut pruned = Vec::new();
        for w in collect_workers(c)? {
            let age = w.heartbeat.as_deref().and_then(|beat| super::time::age(now, beat));
            if age.is_some_and(|age| age > stale_after) {
                let recovered = c.remove_worker(&w.id)?;
                tracing::info!(worker = %w.id, ?recovered, "pruned a stale worker");
                pruned.push(w.id);
            }
        }
        Ok(pruned)
    })
    .await?;
    tracing::info!(workers = pruned.len(), "pruned stale workers");
    Ok(back(&ctx, &form, "/workers"))
}

pub(crate) async fn worker_remove(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    verified(&state, &headers, form)?;
    blocking(ctx.client(), move |c| {
        let recovered = c.remove_worker(&id)?;
        tracing::info!(worker = %id, ?recovered, "removed a worker");
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&ctx.link("/workers")).into_response())
}
