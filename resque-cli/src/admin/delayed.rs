//! `delayed`: list, show, queue now and cancel delayed jobs, on
//! resque-scheduler's keys (Ruby's resque-web Delayed tab).

use resque::{Client, Registry};
use serde::Serialize;
use serde_json::Value;

use super::enqueue::json_args;
use super::output::{or_dash, out, out_json, plural, table, time_of_second};
use crate::args::{DelayedCancelArgs, DelayedCommand, DelayedListArgs, DelayedShowArgs};
use crate::CliError;

/// A second with delayed jobs, in `delayed list --json`.
#[derive(Serialize)]
struct SecondRow {
    /// The Unix second the jobs are due at.
    at: i64,
    /// The same, as Ruby's `Time#to_s` writes it (local time).
    time: String,
    jobs: u64,
}

/// The jobs at one second, in `delayed show --json`.
#[derive(Serialize)]
struct SecondJobs {
    at: i64,
    time: String,
    jobs: Vec<JobRow>,
}

/// A delayed job, in `delayed show --json`.
#[derive(Serialize)]
struct JobRow {
    index: usize,
    class: Option<String>,
    queue: Option<String>,
    args: Value,
    /// The delayed item as stored (a JSON string of its text when it is not JSON).
    item: Value,
}

impl JobRow {
    fn new(index: usize, item: Value) -> Self {
        let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_string);
        JobRow {
            index,
            class: text("class"),
            queue: text("queue"),
            args: item.get("args").cloned().unwrap_or(Value::Null),
            item,
        }
    }
}

/// A Unix second in `--json`, as Ruby's `Time#to_s` writes it: `2026-12-02 03:00:00 +0000`.
fn time_of(at: i64) -> String {
    resque::jiff::Timestamp::from_second(at)
        .map(resque::payload::time::started)
        .unwrap_or_else(|_| "-".into())
}

/// `<time> (<unix second>)`, for messages.
fn second(at: i64) -> String {
    format!("{} ({at})", time_of_second(at))
}

pub(super) fn delayed(client: &Client, command: &DelayedCommand) -> Result<(), CliError> {
    match command {
        DelayedCommand::List(args) => list(client, args),
        DelayedCommand::Show(args) => show(client, args),
        DelayedCommand::QueueNow(arg) => {
            let done = client.enqueue_delayed_at_now(arg.at)?;
            out(&format!("queued {} due at {} now\n", plural(done.queued, "job"), second(arg.at)));
            match done.unreadable.len() {
                0 => Ok(()),
                n => Err(CliError::Usage(format!(
                    "left {} at {} that {} not a job with a queue (a JSON object with a string \
                     \"queue\"): {}",
                    plural(n, "item"),
                    arg.at,
                    if n == 1 { "is" } else { "are" },
                    done.unreadable.join(", ")
                ))),
            }
        }
        DelayedCommand::Cancel(args) => cancel(client, args),
        DelayedCommand::Clear => {
            let removed = client.clear_delayed()?;
            out(&format!("cleared the delayed jobs: removed {}\n", plural(removed, "job")));
            Ok(())
        }
    }
}

fn list(client: &Client, args: &DelayedListArgs) -> Result<(), CliError> {
    let ats = client.delayed_timestamps(args.start, args.count)?;
    let sizes = client.delayed_sizes(&ats)?;
    let rows: Vec<SecondRow> =
        ats.into_iter().zip(sizes).map(|(at, jobs)| SecondRow { at, time: time_of(at), jobs }).collect();
    if args.json {
        return out_json(&rows);
    }
    let seconds = client.delayed_timestamp_count()?;
    if rows.is_empty() {
        out(&match seconds {
            0 => "no delayed jobs\n".to_string(),
            n => format!(
                "no seconds from position {}: {} have delayed jobs\n",
                args.start,
                plural(n, "second")
            ),
        });
        return Ok(());
    }
    let cells: Vec<Vec<String>> =
        rows.iter().map(|r| vec![r.at.to_string(), time_of_second(r.at), r.jobs.to_string()]).collect();
    let mut text = table(&["at", "time", "jobs"], &cells);
    text.push_str(&format!(
        "{} of {} shown; {} delayed in all\n",
        rows.len(),
        plural(seconds, "second"),
        plural(client.delayed_count()?, "job")
    ));
    out(&text);
    Ok(())
}

fn show(client: &Client, args: &DelayedShowArgs) -> Result<(), CliError> {
    let jobs: Vec<JobRow> = client
        .delayed_at(args.at, 0, usize::MAX)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| JobRow::new(i, v))
        .collect();
    if args.json {
        return out_json(&SecondJobs { at: args.at, time: time_of(args.at), jobs });
    }
    if jobs.is_empty() {
        out(&format!("no delayed jobs at {}\n", second(args.at)));
        return Ok(());
    }
    let cells: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            let args = match (&j.args, &j.item) {
                (Value::Null, Value::String(text)) => text.clone(),
                (args, _) => args.to_string(),
            };
            vec![j.index.to_string(), or_dash(j.class.as_deref()), or_dash(j.queue.as_deref()), args]
        })
        .collect();
    let mut text = format!("{} due at {}\n", plural(jobs.len(), "job"), second(args.at));
    text.push_str(&table(&["index", "class", "queue", "args"], &cells));
    out(&text);
    Ok(())
}

fn cancel(client: &Client, args: &DelayedCancelArgs) -> Result<(), CliError> {
    if let Some(at) = args.at {
        let removed = client.remove_delayed_at(at)?;
        out(&format!("cancelled {} due at {}\n", plural(removed, "job"), second(at)));
        return Ok(());
    }
    let class = args.class.as_deref().map(str::trim).filter(|c| !c.is_empty()).ok_or_else(|| {
        CliError::Usage("delayed cancel needs a second (TS) or a job class (--class Archive)".into())
    })?;
    let value = json_args(args.args.as_deref().unwrap_or_default())?;
    let queue = match args.queue.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(queue) => queue.to_string(),
        None => match Registry::linked()?.get(class) {
            Some(entry) => entry.queue.to_string(),
            None => {
                return Err(CliError::Usage(format!(
                    "delayed cancel needs the queue of {class}, which this binary does not link: \
                     pass -q QUEUE (a delayed job is matched with its queue)"
                )))
            }
        },
    };
    let removed = client.remove_delayed(&queue, class, &value)?;
    out(&format!("cancelled {} of {class} {value} on queue {queue}\n", plural(removed, "delayed job")));
    Ok(())
}
