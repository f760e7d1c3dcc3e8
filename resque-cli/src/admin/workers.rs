//! `workers`: every registered worker, its queues, heartbeat and job.

use std::collections::HashMap;

use resque::payload::WorkingOn;
use resque::{Client, WorkerId};
use serde::Serialize;
use serde_json::Value;

use super::output::{or_dash, out, out_json, stored_time, table};
use crate::CliError;

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
    /// Whether it takes no new jobs because `pause-all-workers` is set (the
    /// only pause stored in Redis: a USR2 pause is the process's own).
    paused: bool,
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

pub(super) fn workers(client: &Client, json: bool) -> Result<(), CliError> {
    let (ids, working) = client.workers_and_working()?;
    let paused = client.all_workers_paused()?;
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
            paused,
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
                    stored_time(Some(&p.run_at))
                ),
            };
            vec![
                w.id.clone(),
                w.host.clone(),
                w.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
                w.queues.join(","),
                stored_time(w.started.as_deref()),
                stored_time(w.heartbeat.as_deref()),
                (if w.paused { "yes" } else { "no" }).to_string(),
                processing,
            ]
        })
        .collect();
    let mut text =
        table(&["id", "host", "pid", "queues", "started", "heartbeat", "paused", "processing"], &cells);
    if paused {
        text.push_str(&format!(
            "{} paused by pause-all-workers: no new job is taken until `resume`\n",
            match rows.len() {
                1 => "the worker is".to_string(),
                n => format!("all {n} workers are"),
            }
        ));
    }
    out(&text);
    Ok(())
}
