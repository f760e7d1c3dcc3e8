//! `retries`: list the retries waiting for their second (resque-retry's
//! keys, by a resque-rs worker or by Ruby), push some to their queue now,
//! or cancel them (their last failure moves to the failed list).

use resque::Client;
use resque::{PendingRetry, RetryCancelled};
use serde::Serialize;
use serde_json::Value;

use super::output::{one_line, or_dash, out, out_json, plural, table, time_of_second};
use crate::args::{RetriesCommand, RetriesListArgs, RetrySelector};
use crate::CliError;

/// The widest an error gets in the `retries list` table (`--json` has it whole).
const ERROR_WIDTH: usize = 60;

/// A waiting retry, in `retries list --json`.
#[derive(Serialize)]
struct RetryRow {
    index: usize,
    /// The retry's [`PendingRetry::id`].
    id: String,
    /// The Unix second it is due at.
    at: i64,
    /// The same, as Ruby's `Time#to_s` writes it (local time).
    time: String,
    class: String,
    queue: String,
    args: Value,
    /// How many times the job ran so far, when its counter is there.
    attempt: Option<u64>,
    /// How many runs its policy allows in all, when the job is linked here.
    max_attempts: Option<u64>,
    /// `exception: error` of the last run, when its failure is kept.
    error: Option<String>,
}

impl RetryRow {
    fn new(index: usize, r: &PendingRetry) -> Self {
        RetryRow {
            index,
            id: r.id(),
            at: r.at,
            time: time_of(r.at),
            class: r.class.clone(),
            queue: r.queue.clone(),
            args: r.args.clone(),
            attempt: r.attempt,
            max_attempts: r.max_attempts(),
            error: r.last_error(),
        }
    }

    /// "2 of 4" (runs so far of runs allowed), "2" when the limit is not known.
    fn attempt_text(&self) -> String {
        match (self.attempt, self.max_attempts) {
            (Some(n), Some(max)) => format!("{n} of {max}"),
            (Some(n), None) => n.to_string(),
            (None, Some(max)) => format!("? of {max}"),
            (None, None) => "?".to_string(),
        }
    }
}

/// A Unix second in `--json`, as Ruby's `Time#to_s` writes it: `2026-12-02 03:00:00 +0000`.
fn time_of(at: i64) -> String {
    resque::jiff::Timestamp::from_second(at)
        .map(resque::payload::time::started)
        .unwrap_or_else(|_| "-".into())
}

pub(super) fn retries(client: &Client, command: &RetriesCommand) -> Result<(), CliError> {
    match command {
        RetriesCommand::List(args) => list(client, args),
        RetriesCommand::Now(which) => now(client, which),
        RetriesCommand::Cancel(which) => cancel(client, which),
    }
}

fn list(client: &Client, args: &RetriesListArgs) -> Result<(), CliError> {
    let all = client.pending_retries()?;
    let rows: Vec<RetryRow> =
        all.iter().enumerate().skip(args.start).take(args.count).map(|(i, r)| RetryRow::new(i, r)).collect();
    if args.json {
        return out_json(&rows);
    }
    if rows.is_empty() {
        out(&match all.len() {
            0 => "no retries waiting\n".to_string(),
            n => format!("no retries from position {}: {} waiting\n", args.start, plural(n, "retry")),
        });
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.index.to_string(),
                r.id.clone(),
                time_of_second(r.at),
                r.class.clone(),
                r.queue.clone(),
                r.attempt_text(),
                one_line(&r.args.to_string(), ERROR_WIDTH),
                one_line(&or_dash(r.error.as_deref()), ERROR_WIDTH),
            ]
        })
        .collect();
    let mut text = table(&["index", "id", "next_run", "class", "queue", "attempt", "args", "error"], &cells);
    text.push_str(&format!("{} of {} shown\n", rows.len(), plural(all.len(), "waiting retry")));
    out(&text);
    Ok(())
}

/// The waiting retries `which` names; an index or id that names none is an error.
fn selected(client: &Client, which: &RetrySelector) -> Result<Vec<PendingRetry>, CliError> {
    let all = client.pending_retries()?;
    if which.all {
        return Ok(all);
    }
    if let Some(class) = &which.class {
        return Ok(all.into_iter().filter(|r| &r.class == class).collect());
    }
    let named = which.retry.as_deref().map(str::trim).unwrap_or_default();
    let is_id = named.len() == 12 && named.bytes().all(|b| b.is_ascii_hexdigit());
    let found = if is_id {
        let id = named.to_ascii_lowercase();
        all.into_iter().find(|r| r.id() == id)
    } else {
        let index: usize = named.parse().map_err(|_| {
            CliError::Usage(format!(
                "{named:?} names no retry: give its id (12 hex digits) or index, as `retries list` shows, \
                 or --class CLASS, or --all"
            ))
        })?;
        all.into_iter().nth(index)
    };
    match found {
        Some(retry) => Ok(vec![retry]),
        None => Err(CliError::Usage(format!(
            "no waiting retry {named}: it ran, or was queued or cancelled (see `retries list`)"
        ))),
    }
}

fn now(client: &Client, which: &RetrySelector) -> Result<(), CliError> {
    let mut queued = Vec::new();
    for retry in selected(client, which)? {
        if client.retry_now(&retry)? {
            queued.push(format!("{} {} to {}", retry.class, retry.args, retry.queue));
        }
    }
    let mut text = format!("queued {} now\n", plural(queued.len(), "retry"));
    for line in queued {
        text.push_str(&format!("  {line}\n"));
    }
    out(&text);
    Ok(())
}

fn cancel(client: &Client, which: &RetrySelector) -> Result<(), CliError> {
    let (mut kept, mut expired) = (0usize, 0usize);
    for retry in selected(client, which)? {
        match client.cancel_retry(&retry)? {
            RetryCancelled::FailureKept => kept += 1,
            RetryCancelled::FailureExpired => expired += 1,
            // Run or cancelled meanwhile: nothing to say.
            RetryCancelled::Gone => {}
        }
    }
    let mut text = match kept + expired {
        0 => "no retry cancelled: none was waiting\n".to_string(),
        1 => "cancelled 1 retry: its last failure moved to the failed list\n".to_string(),
        n => format!("cancelled {n} retries: their last failures moved to the failed list\n"),
    };
    if expired > 0 {
        text.push_str(&format!(
            "{} had no kept failure left (expired): a failure entry saying the retry was cancelled stands for each\n",
            plural(expired, "retry")
        ));
    }
    out(&text);
    Ok(())
}
