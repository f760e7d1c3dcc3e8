//! `failed`: list, show, retry and remove the entries of the `failed` list.

use resque::failure::{FailureBackend, FailureRef, RedisFailures};
use resque::payload::Failure;
use resque::Client;
use serde::Serialize;
use serde_json::Value;

use super::output::{one_line, or_dash, out, out_json, plural, stored_time, table};
use crate::args::{FailedCommand, FailedListArgs, FailedShowArgs};
use crate::CliError;

/// The widest an error message gets in the `failed list` table (`failed show` has it whole).
const ERROR_WIDTH: usize = 80;

/// A failure in `failed list --json` and `failed show --json`.
#[derive(Serialize)]
struct FailureRow {
    index: usize,
    /// The entry's [`resque::payload::FailureId`].
    id: String,
    failed_at: Option<String>,
    class: Option<String>,
    queue: Option<String>,
    worker: Option<String>,
    exception: Option<String>,
    error: Option<String>,
    retried_at: Option<String>,
    /// How many times the job ran before a retry policy gave up on it.
    attempts: Option<u64>,
    backtrace: Vec<String>,
    payload: Value,
}

impl FailureRow {
    fn new(index: usize, f: Failure) -> Self {
        FailureRow {
            index,
            id: f.id.to_string(),
            class: class_of(&f),
            failed_at: f.failed_at,
            queue: f.queue,
            worker: f.worker,
            exception: f.exception,
            error: f.error,
            retried_at: f.retried_at,
            attempts: f.attempts,
            backtrace: f.backtrace.unwrap_or_default(),
            payload: f.payload,
        }
    }
}

/// When the entry was retried (Ruby's `retried_at`), or `-`; `yes` when
/// the member is there but empty.
fn retried(retried_at: Option<&str>) -> String {
    match retried_at {
        None => "-".to_string(),
        Some(at) if at.trim().is_empty() => "yes".to_string(),
        at => stored_time(at),
    }
}

fn class_of(f: &Failure) -> Option<String> {
    f.payload.get("class").and_then(Value::as_str).map(str::to_string)
}

/// The failure at `index`, or [`resque::Error::NoSuchFailure`].
fn failure_at(failures: &RedisFailures, index: usize) -> Result<Failure, CliError> {
    match failures.all(index, 1)?.pop() {
        Some(f) => Ok(f),
        None => Err(resque::Error::NoSuchFailure { index, count: failures.count()? }.into()),
    }
}

/// Acts on the failure `named` names: by index (the entry there is read
/// first, to report it) or by id; returns its index and the entry as it was.
fn act_on(
    failures: &RedisFailures,
    named: FailureRef,
    by_index: fn(&RedisFailures, usize) -> resque::Result<()>,
    by_id: fn(&RedisFailures, resque::payload::FailureId) -> resque::Result<(usize, Failure)>,
) -> Result<(usize, Failure), CliError> {
    match named {
        FailureRef::Index(index) => {
            let f = failure_at(failures, index)?;
            by_index(failures, index)?;
            Ok((index, f))
        }
        FailureRef::Id(id) => Ok(by_id(failures, id)?),
    }
}

/// The failure `named` names, with its index now.
fn failure_named(failures: &RedisFailures, named: FailureRef) -> Result<(usize, Failure), CliError> {
    match named {
        FailureRef::Index(index) => Ok((index, failure_at(failures, index)?)),
        FailureRef::Id(id) => Ok(failures.find(id)?),
    }
}

pub(super) fn failed(client: &Client, command: &FailedCommand) -> Result<(), CliError> {
    let failures = RedisFailures::new(client.clone());
    match command {
        FailedCommand::List(args) => failed_list(&failures, args),
        FailedCommand::Show(args) => failed_show(&failures, args),
        FailedCommand::Retry(arg) => {
            let (index, f) =
                act_on(&failures, arg.failure, RedisFailures::requeue, RedisFailures::requeue_id)?;
            out(&format!(
                "retried failure {index} (id {}): {} went back to queue {}\n",
                f.id,
                class_of(&f).as_deref().unwrap_or("the job"),
                f.queue.as_deref().unwrap_or("?")
            ));
            Ok(())
        }
        FailedCommand::RetryAll(args) => {
            let total = failures.count()?;
            if args.not_retried {
                let requeued = failures.requeue_not_retried()?;
                out(&format!(
                    "retried {} not retried yet, of {}: their jobs went back to their queues\n",
                    plural(requeued, "failure"),
                    total
                ));
            } else {
                let requeued = failures.requeue_all()?;
                out(&format!(
                    "retried {requeued} of {}, those retried before included: their jobs went back to their queues\n",
                    plural(total, "failure")
                ));
            }
            Ok(())
        }
        FailedCommand::Remove(arg) => {
            let (index, f) = act_on(&failures, arg.failure, RedisFailures::remove, RedisFailures::remove_id)?;
            out(&format!(
                "removed failure {index} (id {}): {} from queue {}; {} left\n",
                f.id,
                class_of(&f).as_deref().unwrap_or("a job"),
                f.queue.as_deref().unwrap_or("?"),
                failures.count()?
            ));
            Ok(())
        }
        FailedCommand::Clear => {
            let total = failures.count()?;
            failures.clear()?;
            out(&format!("cleared the failed list: removed {}\n", plural(total, "failure")));
            Ok(())
        }
        FailedCommand::ClearRetried => {
            let removed = failures.clear_retried()?;
            out(&format!(
                "removed {} that had been retried; {} left\n",
                plural(removed, "failure"),
                failures.count()?
            ));
            Ok(())
        }
    }
}

fn failed_list(failures: &RedisFailures, args: &FailedListArgs) -> Result<(), CliError> {
    let total = usize::try_from(failures.count()?).unwrap_or(usize::MAX);
    let start = args.start.unwrap_or_else(|| total.saturating_sub(args.count));
    let rows: Vec<FailureRow> = failures
        .all(start, args.count)?
        .into_iter()
        .enumerate()
        .map(|(i, f)| FailureRow::new(start + i, f))
        .collect();
    if args.json {
        return out_json(&rows);
    }
    if rows.is_empty() {
        out(&match total {
            0 => "no failures\n".to_string(),
            n => format!("no failures from index {start}: the failed list holds {}\n", plural(n, "entry")),
        });
        return Ok(());
    }
    // The attempts column only when an entry on the page has them (a retry policy gave up on it).
    let attempts = rows.iter().any(|r| r.attempts.is_some());
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.index.to_string(),
                r.id.clone(),
                stored_time(r.failed_at.as_deref()),
                or_dash(r.class.as_deref()),
                or_dash(r.queue.as_deref()),
                or_dash(r.exception.as_deref()),
                retried(r.retried_at.as_deref()),
            ];
            if attempts {
                cells.push(r.attempts.map_or_else(|| "-".to_string(), |n| n.to_string()));
            }
            cells.push(one_line(r.error.as_deref().unwrap_or("-"), ERROR_WIDTH));
            cells
        })
        .collect();
    let mut headers = vec!["index", "id", "failed_at", "class", "queue", "exception", "retried"];
    if attempts {
        headers.push("attempts");
    }
    headers.push("error");
    let mut text = table(&headers, &cells);
    let (first, last) = (rows.first().map_or(0, |r| r.index), rows.last().map_or(0, |r| r.index));
    text.push_str(&format!("{} of {} shown ({first} to {last})\n", rows.len(), plural(total, "failure")));
    out(&text);
    Ok(())
}

fn failed_show(failures: &RedisFailures, args: &FailedShowArgs) -> Result<(), CliError> {
    let (index, failure) = failure_named(failures, args.failure)?;
    let row = FailureRow::new(index, failure);
    if args.json {
        return out_json(&row);
    }
    let mut fields = vec![
        vec!["index:".to_string(), row.index.to_string()],
        vec!["id:".to_string(), row.id.clone()],
        vec!["failed_at:".to_string(), stored_time(row.failed_at.as_deref())],
        vec!["class:".to_string(), or_dash(row.class.as_deref())],
        vec!["queue:".to_string(), or_dash(row.queue.as_deref())],
        vec!["worker:".to_string(), or_dash(row.worker.as_deref())],
        vec!["exception:".to_string(), or_dash(row.exception.as_deref())],
        vec!["error:".to_string(), or_dash(row.error.as_deref())],
    ];
    fields.push(vec![
        "retried_at:".to_string(),
        match row.retried_at.as_deref() {
            None => "- (not retried)".to_string(),
            at => retried(at),
        },
    ]);
    if let Some(n) = row.attempts {
        fields.push(vec!["attempts:".to_string(), n.to_string()]);
    }
    // A table without its header row.
    let table = table(&["", ""], &fields);
    let mut text: String = table.lines().skip(1).flat_map(|l| [l, "\n"]).collect();
    // A payload kept as a string (it was not a JSON object) is shown as its text.
    let payload = match &row.payload {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other)
            .map_err(|e| CliError::Usage(format!("cannot write the payload as JSON: {e}")))?,
    };
    text.push_str("payload:\n");
    for line in payload.lines() {
        text.push_str(&format!("  {line}\n"));
    }
    if row.backtrace.is_empty() {
        text.push_str("backtrace: -\n");
    } else {
        text.push_str("backtrace:\n");
        for line in &row.backtrace {
            text.push_str(&format!("  {line}\n"));
        }
    }
    out(&text);
    Ok(())
}
