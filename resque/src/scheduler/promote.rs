//! Promotion of due delayed items: the earliest due bucket is read in large
//! slices and each batch moved by one script (`promote.lua`) that checks
//! the lock and the bucket's head first, so a deposed leader writes
//! nothing and a scheduler killed at any instant neither loses nor doubles
//! an item. Batches are pipelined: 100,000 items due at once take a few
//! round trips.

use redis::Value;

use super::lock::MasterLock;
use crate::client::Client;
use crate::error::Result;
use crate::keys::Keys;
use crate::payload::DueJob;
use crate::script::{self, Lua};

/// Items moved by one script call.
pub(crate) const BATCH: usize = 1000;
/// Batches sent in one pipeline.
const PIPELINE: usize = 20;

/// Moves the head of one due bucket (see `promote.lua`).
pub(crate) static PROMOTE: Lua = Lua::new(
    "scheduler_promote",
    &["lock", "schedule", "bucket", "queues"],
    &["value", "ts", "member", "channel", "count"],
    include_str!("promote.lua"),
);

/// The list an item that names no queue is moved to, as it is:
/// `delayed:unreadable` (a list of raw items, never read by a scheduler).
pub(crate) fn unreadable_key(keys: &Keys) -> String {
    keys.key("delayed:unreadable")
}

/// What one pass of promotion did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Promoted {
    /// Items pushed to their queues (or aside).
    pub(crate) moved: usize,
    /// Whether the lock was found not ours: the pass stopped.
    pub(crate) deposed: bool,
}

/// The earliest bucket, its member text and second, when one is due at `now_s`.
fn earliest_due(client: &Client, now_s: i64) -> Result<Option<(String, i64)>> {
    let key = client.keys().delayed_schedule();
    let found: Vec<(String, f64)> = client.with_conn(|conn| {
        redis::cmd("ZRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(now_s)
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(1)
            .query(conn)
    })?;
    Ok(found.into_iter().next().map(|(member, score)| (member, score as i64)))
}

/// The score of the earliest bucket, due or not.
pub(crate) fn earliest(client: &Client) -> Result<Option<i64>> {
    let key = client.keys().delayed_schedule();
    let found: Vec<(String, f64)> = client
        .with_conn(|conn| redis::cmd("ZRANGE").arg(&key).arg(0).arg(0).arg("WITHSCORES").query(conn))?;
    Ok(found.into_iter().next().map(|(_, score)| score as i64))
}

/// One batch's call: `items` are the bucket's head, in order.
fn batch_command(client: &Client, lock: &MasterLock, member: &str, items: &[Vec<u8>]) -> redis::Cmd {
    let keys = client.keys();
    let bucket = keys.key(&format!("delayed:{member}"));
    let unreadable = unreadable_key(keys);
    let mut call = PROMOTE.call();
    call.key("lock", &lock.key)
        .key("schedule", keys.delayed_schedule())
        .key("bucket", &bucket)
        .key("queues", keys.queues())
        .arg("value", &lock.value)
        .arg("ts", member)
        .arg("member", format!("delayed:{member}"))
        .arg("channel", keys.wake_channel())
        .arg("count", items.len());
    for item in items {
        let due = DueJob::from_item(item);
        let target = match &due {
            Some(due) => keys.queue(&due.queue),
            None => {
                tracing::error!(
                    item = %String::from_utf8_lossy(item),
                    bucket = %bucket,
                    aside = %unreadable,
                    "a delayed item names no queue (not a JSON object with a string \"queue\"): moved aside, not run"
                );
                unreadable.clone()
            }
        };
        call.more_keys([keys.timestamps_of(item), target.into_bytes()]);
        match due {
            Some(due) => call.more_args([item.clone(), due.queue.into_bytes(), due.payload.into_bytes()]),
            None => call.more_args([item.clone(), Vec::new(), Vec::new()]),
        };
    }
    call.command()
}

/// Promotes everything due at `now_s` (Unix seconds), bucket by bucket,
/// while the lock stays ours (renewed before each slice).
pub(crate) fn promote_due(client: &Client, lock: &MasterLock, now_s: i64) -> Result<Promoted> {
    let mut done = Promoted::default();
    while let Some((member, _ts)) = earliest_due(client, now_s)? {
        // Renewed per slice: a long backlog outlasts the short TTL.
        if !lock.hold(client)? {
            done.deposed = true;
            return Ok(done);
        }
        let bucket = client.keys().key(&format!("delayed:{member}"));
        let slice = (BATCH * PIPELINE) as isize;
        let items: Vec<Vec<u8>> =
            client.with_conn(|conn| redis::cmd("LRANGE").arg(&bucket).arg(0).arg(slice - 1).query(conn))?;
        // The first batch alone, loading the script if Redis lacks it; the rest pipelined.
        let mut batches = items.chunks(BATCH);
        let first = batches.next().unwrap_or(&[]);
        let first_cmd = batch_command(client, lock, &member, first);
        let moved: i64 = client.with_conn(|conn| script::run(&PROMOTE, &first_cmd, conn))?;
        let mut replies = vec![moved];
        let rest: Vec<redis::Cmd> = batches.map(|b| batch_command(client, lock, &member, b)).collect();
        if moved >= 0 && !rest.is_empty() {
            let mut pipe = redis::pipe();
            for cmd in &rest {
                pipe.add_command(cmd.clone());
            }
            let values: Vec<Value> = client.with_conn(|conn| pipe.query(conn))?;
            replies.extend(values.iter().map(|v| redis::from_redis_value::<i64>(v.clone()).unwrap_or(-2)));
        }
        for reply in replies {
            match reply {
                -1 => {
                    done.deposed = true;
                    return Ok(done);
                }
                n if n >= 0 => done.moved += n as usize,
                _ => break, // the bucket changed under us: read it again
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
