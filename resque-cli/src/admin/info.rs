//! `info`: Ruby's `Resque.info`, and whether workers are paused.

use resque::Client;
use serde::Serialize;

use super::output::{out, out_json, table};
use crate::CliError;

/// `info --json`: Ruby's `Resque.info`, plus whether workers are paused.
#[derive(Serialize)]
struct InfoOut {
    #[serde(flatten)]
    info: resque::Info,
    paused: bool,
    /// How many registered workers take no new jobs: all of them while
    /// `pause-all-workers` is set (the only pause stored in Redis).
    paused_workers: usize,
}

pub(super) fn info(client: &Client, json: bool) -> Result<(), CliError> {
    let (info, paused) = (client.info()?, client.all_workers_paused()?);
    let paused_workers = if paused { info.workers } else { 0 };
    let info = InfoOut { info, paused, paused_workers };
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
        vec!["paused".to_string(), if info.paused { "yes (pause-all-workers)" } else { "no" }.to_string()],
        vec!["paused_workers".to_string(), info.paused_workers.to_string()],
    ];
    out(&table(&["field", "value"], &rows));
    Ok(())
}
