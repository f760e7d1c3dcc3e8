//! Promotion of due delayed items: the earliest due bucket is read in large
//! slices and each batch moved by one script (`promote.lua`) that checks
//! the lock and the bucket's head first, so a deposed leader writes
//! nothing and a scheduler killed at any instant neither loses nor doubles
//! an item. Batches are streamed (sent as built, replies read after): Redis
//! runs one while the next is built.

use redis::Value;

use super::lock::MasterLock;
use crate::client::Client;
use crate::error::Result;
use crate::payload::DueJob;
use crate::script::{self, Lua};

/// Items moved by one script call.
pub(crate) const BATCH: usize = 1000;
/// Items read from a bucket at once (its batches streamed); the lock is
/// renewed between slices.
const SLICE: isize = 20_000;

/// Moves the head of one due bucket (see `promote.lua`).
pub(crate) static PROMOTE: Lua = Lua::new(
    "scheduler_promote",
    &["lock", "schedule", "bucket", "queues", "aside"],
    &["value", "ts", "member", "channel", "prefix", "count", "queues"],
    include_str!("promote.lua"),
);

/// What one pass of promotion did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Promoted {
    /// Items pushed to their queues (or aside).
    pub(crate) moved: usize,
    /// Whether the lock was found not ours: the pass stopped.
    pub(crate) deposed: bool,
}

/// The earliest bucket's member, when one is due at `now_s`.
fn earliest_due(client: &Client, now_s: i64) -> Result<Option<String>> {
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
    Ok(found.into_iter().next().map(|(member, _)| member))
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
    let (bucket, bucket_member) = keys.delayed_of_member(member);
    let unreadable = keys.delayed_unreadable();
    // Each item's queue index (from 1; 0: none) and payload.
    let mut queues: Vec<String> = Vec::new();
    let mut moves: Vec<(usize, String)> = Vec::with_capacity(items.len());
    for item in items {
        match DueJob::from_item(item) {
            Some(due) => {
                let index = match queues.iter().position(|q| *q == due.queue) {
                    Some(i) => i + 1,
                    None => {
                        queues.push(due.queue);
                        queues.len()
                    }
                };
                moves.push((index, due.payload));
            }
            None => {
                tracing::error!(
                    item = %String::from_utf8_lossy(item),
                    bucket = %bucket,
                    aside = %unreadable,
                    "a delayed item names no queue (not a JSON object with a string \"queue\"): moved aside, not run"
                );
                moves.push((0, String::new()));
            }
        }
    }
    let mut call = PROMOTE.call();
    call.key("lock", &lock.key)
        .key("schedule", keys.delayed_schedule())
        .key("bucket", &bucket)
        .key("queues", keys.queues())
        .key("aside", &unreadable)
        .arg("value", &lock.value)
        .arg("ts", member)
        .arg("member", bucket_member)
        .arg("channel", keys.wake_channel())
        .arg("prefix", keys.timestamps_of(b""))
        .arg("count", items.len())
        .arg("queues", queues.len());
    call.more_keys(queues.iter().map(|q| keys.queue(q)));
    call.more_keys(items.iter().map(|item| keys.timestamps_of(item)));
    call.more_args(queues);
    for (index, payload) in moves {
        call.more_args([index.to_string(), payload]);
    }
    call.command()
}

/// Promotes everything due at `now_s` (Unix seconds), bucket by bucket,
/// while the lock stays ours (renewed before each slice).
pub(crate) fn promote_due(client: &Client, lock: &MasterLock, now_s: i64) -> Result<Promoted> {
    let mut done = Promoted::default();
    while let Some(member) = earliest_due(client, now_s)? {
        // Renewed per slice: a long backlog outlasts the short TTL.
        if !lock.hold(client)? {
            done.deposed = true;
            return Ok(done);
        }
        let (bucket, _) = client.keys().delayed_of_member(&member);
        let items: Vec<Vec<u8>> =
            client.with_conn(|conn| redis::cmd("LRANGE").arg(&bucket).arg(0).arg(SLICE - 1).query(conn))?;
        // The first batch alone, loading the script if Redis lacks it.
        let mut batches = items.chunks(BATCH);
        let first = batch_command(client, lock, &member, batches.next().unwrap_or(&[]));
        let mut replies = vec![client.with_conn(|conn| script::run::<i64>(&PROMOTE, &first, conn))?];
        if replies[0] >= 0 {
            replies.extend(stream(client, batches.map(|b| batch_command(client, lock, &member, b)))?);
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

/// Sends each command as soon as it is built, without waiting, then reads
/// every reply: Redis runs one batch while the next is built. A refused
/// command (an error reply) counts as a changed head (-2), so the caller
/// reads the bucket again; every reply is read, keeping the stream whole.
fn stream(client: &Client, commands: impl Iterator<Item = redis::Cmd>) -> Result<Vec<i64>> {
    client.with_conn(|conn| {
        let mut sent = 0;
        for cmd in commands {
            conn.send_packed_command(&cmd.get_packed_command())?;
            sent += 1;
        }
        let mut replies = Vec::with_capacity(sent);
        let mut refused = None;
        for _ in 0..sent {
            match conn.recv_response() {
                Ok(Value::Int(n)) => replies.push(n),
                Ok(other) => replies.push(if matches!(other, Value::ServerError(_)) { -2 } else { -3 }),
                Err(e) if crate::error::connection_broken(&e) => return Err(e),
                Err(e) => {
                    refused.get_or_insert(e);
                    replies.push(-2);
                }
            }
        }
        if let Some(e) = refused {
            tracing::warn!("a promotion batch was refused, reading the bucket again: {e}");
        }
        Ok(replies)
    })
}

#[cfg(test)]
mod tests;
