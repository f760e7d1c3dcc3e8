//! `queues`: every queue with its size.

use resque::Client;
use serde::Serialize;

use super::output::{out, out_json, table};
use crate::CliError;

/// A queue in `queues --json`.
#[derive(Serialize)]
struct QueueRow {
    name: String,
    size: u64,
}

pub(super) fn queues(client: &Client, json: bool) -> Result<(), CliError> {
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
