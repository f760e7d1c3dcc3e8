//! `remove-queue`, `remove-worker` and `prune`: forget a queue, a worker,
//! or every dead worker, putting their in-flight jobs back.

use resque::Client;

use super::output::{out, plural};
use crate::args::{PruneArgs, RemoveQueueArgs, RemoveWorkerArgs};
use crate::CliError;

pub(super) fn remove_queue(client: &Client, args: &RemoveQueueArgs) -> Result<(), CliError> {
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

pub(super) fn remove_worker(client: &Client, args: &RemoveWorkerArgs) -> Result<(), CliError> {
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

pub(super) fn prune(client: &Client, args: &PruneArgs) -> Result<(), CliError> {
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
