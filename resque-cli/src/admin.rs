//! The admin commands: what resque-web shows and does, from the command line.
//!
//! Read commands print aligned tables, or JSON with `--json` (arrays and
//! objects with snake_case keys, every key always present). Errors come back
//! as [`CliError`], which `main` prints before exiting non-zero.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use resque::failure::{FailureBackend, FailureRef, RedisFailures};
use resque::payload::{Failure, WorkingOn};
use resque::{Client, WorkerId};
use serde::Serialize;
use serde_json::Value;

use crate::args::{
    EnqueueArgs, FailedCommand, FailedListArgs, FailedShowArgs, PruneArgs, RemoveQueueArgs, RemoveWorkerArgs,
};
use crate::{client, Cli, CliError, Command};

/// The widest an error message gets in the `failed list` table (`failed show` has it whole).
const ERROR_WIDTH: usize = 80;

/// Runs an admin command (anything but `work`, `jobs` and `web`).
pub(crate) fn run(cli: &Cli, command: &Command) -> Result<ExitCode, CliError> {
    let client = client(cli)?;
    match command {
        Command::Queues(flag) => queues(&client, flag.json)?,
        Command::Info(flag) => info(&client, flag.json)?,
        Command::Workers(flag) => workers(&client, flag.json)?,
        Command::Failed(failed) => self::failed(&client, &failed.command)?,
        Command::Enqueue(args) => enqueue(&client, args)?,
        Command::RemoveQueue(args) => remove_queue(&client, args)?,
        Command::RemoveWorker(args) => remove_worker(&client, args)?,
        Command::Prune(args) => prune(&client, args)?,
        Command::Pause => {
            client.pause_all_workers()?;
            print_paused(&client)?;
        }
        Command::Resume => {
            client.resume_all_workers()?;
            print_paused(&client)?;
        }
        Command::Work(_) | Command::Jobs | Command::Web(_) => {
            return Err(CliError::Usage("internal error: not an admin command".into()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout, ignoring a closed pipe (`resque-cli failed list | head`).
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn out_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Usage(format!("cannot write JSON output: {e}")))?;
    out(&format!("{text}\n"));
    Ok(())
}

/// Aligned columns, two spaces apart; the last column is not padded.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut text = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One line, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// `1 job`, `2 jobs`; `entry` becomes `entries`.
fn plural(n: impl std::fmt::Display, noun: &str) -> String {
    let n = n.to_string();
    match (n.as_str(), noun.strip_suffix('y')) {
        ("1", _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

fn or_dash(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => "-".to_string(),
    }
}

// ----- queues ------------------------------------------------------------------

/// A queue in `queues --json`.
#[derive(Serialize)]
struct QueueRow {
    name: String,
    size: u64,
}

fn queues(client: &Client, json: bool) -> Result<(), CliError> {
    let rows: Vec<QueueRow> =
        client.queue_sizes()?.into_iter().map(|(name, size)| QueueRow { name, size }).collect();
    if json {
        return out_json(&rows);
    }
    if rows.is_empty() {
        out("no queues\n");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows.iter().map(|q| vec![q.name.clone(), q.size.to_string()]).collect();
    out(&table(&["queue", "size"], &cells));
    Ok(())
}

// ----- info ----------------------------------------------------------------------

/// `info --json`: Ruby's `Resque.info`, plus whether workers are paused.
#[derive(Serialize)]
struct InfoOut {
    #[serde(flatten)]
    info: resque::Info,
    paused: bool,
}

fn info(client: &Client, json: bool) -> Result<(), CliError> {
    let info = InfoOut { info: client.info()?, paused: client.all_workers_paused()? };
    if json {
        return out_json(&info);
    }
    let i = &info.info;
    let rows = vec![
        vec!["pending".to_string(), i.pending.to_string()],
        vec!["processed".to_string(), i.processed.to_string()],
        vec!["queues".to_string(), i.queues.to_string()],
        vec!["workers".to_string(), i.workers.to_string()],
        vec!["working".to_string(), i.working.to_string()],
        vec!["failed".to_string(), i.failed.to_string()],
        vec!["servers".to_string(), i.servers.join(", ")],
        vec!["environment".to_string(), i.environment.clone()],
        vec!["paused".to_string(), if info.paused { "yes" } else { "no" }.to_string()],
    ];
    out(&table(&["field", "value"], &rows));
    Ok(())
}

// ----- workers -------------------------------------------------------------------

/// A worker in `workers --json`.
#[derive(Serialize)]
struct WorkerRow {
    id: String,
    host: String,
    /// `null` when the id's pid part is not a number.
    pid: Option<u32>,
    queues: Vec<String>,
    started: Option<String>,
    heartbeat: Option<String>,
    /// `null` when idle.
    processing: Option<Processing>,
}

/// What a worker is processing.
#[derive(Serialize)]
struct Processing {
    queue: String,
    run_at: String,
    class: Option<String>,
    payload: Value,
}

fn workers(client: &Client, json: bool) -> Result<(), CliError> {
    let (ids, working) = client.workers_and_working()?;
    let mut working: HashMap<String, WorkingOn> = working.into_iter().collect();
    let mut rows = Vec::new();
    for id in ids {
        let parts = WorkerId::parse(&id);
        let host = parts.host().to_string();
        let pid = parts.pid();
        let queues = parts.queues().map(str::to_string).collect();
        let processing = working.remove(&id).map(|w| Processing {
            class: w.payload.get("class").and_then(Value::as_str).map(str::to_string),
            queue: w.queue,
            run_at: w.run_at,
            payload: w.payload,
        });
        rows.push(WorkerRow {
            started: client.worker_started(&id)?,
            heartbeat: client.heartbeat_of(&id)?,
            id,
            host,
            pid,
            queues,
            processing,
        });
    }
    if json {
        return out_json(&rows);
    }
    if rows.is_empty() {
        out("no workers\n");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|w| {
            let processing = match &w.processing {
                None => "-".to_string(),
                Some(p) => format!(
                    "{} from {} since {}",
                    p.class.as_deref().unwrap_or("?"),
                    or_dash(Some(&p.queue)),
                    or_dash(Some(&p.run_at))
                ),
            };
            vec![
                w.id.clone(),
                w.host.clone(),
                w.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
                w.queues.join(","),
                or_dash(w.started.as_deref()),
                or_dash(w.heartbeat.as_deref()),
                processing,
            ]
        })
        .collect();
    out(&table(&["id", "host", "pid", "queues", "started", "heartbeat", "processing"], &cells));
    Ok(())
}

// ----- failed --------------------------------------------------------------------

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
            backtrace: f.backtrace.unwrap_or_default(),
            payload: f.payload,
        }
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

fn failed(client: &Client, command: &FailedCommand) -> Result<(), CliError> {
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
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.index.to_string(),
                r.id.clone(),
                or_dash(r.failed_at.as_deref()),
                or_dash(r.class.as_deref()),
                or_dash(r.queue.as_deref()),
                or_dash(r.exception.as_deref()),
                (if r.retried_at.is_some() { "yes" } else { "no" }).to_string(),
                one_line(r.error.as_deref().unwrap_or("-"), ERROR_WIDTH),
            ]
        })
        .collect();
    let mut text =
        table(&["index", "id", "failed_at", "class", "queue", "exception", "retried", "error"], &cells);
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
        vec!["failed_at:".to_string(), or_dash(row.failed_at.as_deref())],
        vec!["class:".to_string(), or_dash(row.class.as_deref())],
        vec!["queue:".to_string(), or_dash(row.queue.as_deref())],
        vec!["worker:".to_string(), or_dash(row.worker.as_deref())],
        vec!["exception:".to_string(), or_dash(row.exception.as_deref())],
        vec!["error:".to_string(), or_dash(row.error.as_deref())],
    ];
    if let Some(at) = &row.retried_at {
        fields.push(vec!["retried_at:".to_string(), at.clone()]);
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

// ----- enqueue, remove-queue, remove-worker, prune, pause ------------------------

const ARGS_EXAMPLE: &str = r#"'[44,"masterbrew"]'"#;

fn enqueue(client: &Client, args: &EnqueueArgs) -> Result<(), CliError> {
    let queue = args.queue.as_deref().map(str::trim).filter(|q| !q.is_empty()).ok_or_else(|| {
        CliError::Usage(format!(
            "enqueue needs a queue: pass -q QUEUE (there is no default), e.g. \
             resque-cli enqueue {} {ARGS_EXAMPLE} -q file_serve",
            args.class
        ))
    })?;
    if args.class.trim().is_empty() {
        return Err(CliError::Usage("enqueue needs a job class, e.g. Archive".into()));
    }
    let value: Value = serde_json::from_str(&args.args).map_err(|e| {
        CliError::Usage(format!(
            "invalid JSON args {:?}: {e}; args must be a JSON array, e.g. {ARGS_EXAMPLE}",
            args.args
        ))
    })?;
    if !value.is_array() {
        let kind = match &value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Object(_) => "an object",
            Value::Array(_) => "an array",
        };
        return Err(CliError::Usage(format!(
            "args must be a JSON array, e.g. {ARGS_EXAMPLE}, not {kind} ({}); wrap a single argument \
             in [ ]",
            args.args.trim()
        )));
    }
    // Parsed, such an integer would become a rounded float: refuse it
    // rather than push a different number.
    if let Some(found) = resque::payload::unheld_integer_in_args(&args.args) {
        return Err(CliError::Usage(format!(
            "argument {}: the integer {} is beyond 64 bits, which resque-cli cannot carry exactly \
             (nor can a Rust job receive it)",
            found.index + 1,
            found.literal
        )));
    }
    client.enqueue_class(queue, &args.class, &value)?;
    out(&format!("enqueued {} {} to queue {queue}\n", args.class, value));
    Ok(())
}

fn remove_queue(client: &Client, args: &RemoveQueueArgs) -> Result<(), CliError> {
    let known = client.queues()?.contains(&args.queue);
    let size = client.size(&args.queue)?;
    if !known && size == 0 {
        out(&format!("no queue named {}: nothing removed\n", args.queue));
        return Ok(());
    }
    client.remove_queue(&args.queue)?;
    out(&format!("removed queue {} and the {} in it\n", args.queue, plural(size, "job")));
    Ok(())
}

fn remove_worker(client: &Client, args: &RemoveWorkerArgs) -> Result<(), CliError> {
    let registered = client.workers()?.contains(&args.id);
    let recovered = client.remove_worker(&args.id)?;
    if !registered && recovered.requeued == 0 && recovered.failed == 0 {
        return Err(CliError::Usage(format!(
            "no worker {:?} is registered (`resque-cli workers` lists them)",
            args.id
        )));
    }
    let mut text = format!(
        "removed worker {}: put {} back on their queues",
        args.id,
        plural(recovered.requeued, "in-flight job")
    );
    if recovered.failed > 0 {
        text.push_str(&format!(", failed {} that had been recovered too often", recovered.failed));
    }
    text.push('\n');
    out(&text);
    Ok(())
}

fn prune(client: &Client, args: &PruneArgs) -> Result<(), CliError> {
    let every = crate::seconds("heartbeat interval", &args.heartbeat_interval)?;
    if every.is_zero() {
        return Err(CliError::Usage("invalid heartbeat interval 0: it must be more than zero".into()));
    }
    let Some(pruned) = client.prune_dead_workers(every)? else {
        out("another worker is pruning dead workers (or did so less than a heartbeat interval ago): \
             nothing done; try again later\n");
        return Ok(());
    };
    let mut text = if pruned.workers.is_empty() {
        "no dead workers to prune\n".to_string()
    } else {
        let mut t = format!("pruned {}:\n", plural(pruned.workers.len(), "dead worker"));
        for w in &pruned.workers {
            t.push_str(&format!("  {w}\n"));
        }
        t
    };
    text.push_str(&format!(
        "put {} back on their queues",
        plural(pruned.recovered.requeued, "in-flight job")
    ));
    if pruned.recovered.failed > 0 {
        text.push_str(&format!(", failed {} that had been recovered too often", pruned.recovered.failed));
    }
    if pruned.recovered.dropped > 0 {
        text.push_str(&format!(
            ", dropped {} that the one who unregistered their worker had failed already",
            plural(pruned.recovered.dropped, "in-flight job")
        ));
    }
    text.push('\n');
    out(&text);
    Ok(())
}

fn print_paused(client: &Client) -> Result<(), CliError> {
    out(if client.all_workers_paused()? {
        "workers are paused (pause-all-workers is true): they take no new jobs\n"
    } else {
        "workers are not paused: they take jobs\n"
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_leave_the_last_column_unpadded() {
        let rows = vec![vec!["critical".to_string(), "3".to_string()], vec!["a".into(), "12".into()]];
        assert_eq!(table(&["queue", "size"], &rows), "QUEUE     SIZE\ncritical  3\na         12\n");
    }

    #[test]
    fn long_errors_are_cut_to_one_line() {
        assert_eq!(one_line("a\n  b", 10), "a b");
        assert_eq!(one_line("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(plural(1usize, "job"), "1 job");
        assert_eq!(plural(0u64, "job"), "0 jobs");
        assert_eq!(plural(2u64, "entry"), "2 entries");
    }
}
