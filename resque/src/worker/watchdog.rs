//! Handing back jobs taken ahead while a `--no-fork` worker runs a long
//! job: the job runs on the worker's own thread, so a second thread (only
//! in a worker that never forks) watches the clock and, once the job has
//! run [`LONG_JOB`], puts the jobs taken after it back at the head of their
//! queues, on a connection of its own, for an idle worker to take.
//!
//! Safety of the hand-back: while a job runs, the worker's thread starts
//! nothing, so the jobs the watchdog returns (the last `ahead` entries of
//! the in-flight list, all taken after the running job) are not started;
//! the worker then drops exactly the entries returned from what it holds
//! and from the replies it reads later, under the same lock, before it
//! starts another job.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use super::ahead::LONG_JOB;
use crate::client::Client;
use crate::roster;

/// What the worker's thread and the watchdog share.
#[derive(Default)]
struct State {
    /// The job in progress: when it started, and how many entries of the
    /// in-flight list were taken after it.
    running: Option<(Instant, usize)>,
    /// The in-flight entries handed back, not yet dropped by the worker.
    returned: Vec<Vec<u8>>,
    /// The watchdog waits with no deadline: only then does a job that
    /// starts need to wake it (else it looks again at its next deadline).
    idle: bool,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// The watchdog thread of a `--no-fork` worker.
pub(super) struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the thread, with its own connection to `client`'s server.
    pub(super) fn start(client: &Client, worker_id: &str) -> Option<Watchdog> {
        let own = Client::with_namespace(client.address().clone(), client.namespace()).ok()?;
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), changed: Condvar::new() });
        let theirs = Arc::clone(&shared);
        let id = worker_id.to_string();
        let thread = std::thread::Builder::new()
            .name("resque-watchdog".into())
            .spawn(move || watch(&theirs, &own, &id))
            .map_err(|e| tracing::warn!(worker = worker_id, "cannot start the watchdog thread: {e}"))
            .ok()?;
        Some(Watchdog { shared, thread: Some(thread) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A job starts, with `ahead` in-flight entries taken after it.
    pub(super) fn arm(&self, ahead: usize) {
        if ahead == 0 {
            return;
        }
        let mut state = self.lock();
        state.running = Some((Instant::now(), ahead));
        if state.idle {
            state.idle = false;
            self.shared.changed.notify_one();
        }
    }

    /// The job ended: no hand-back from now on; returns the entries handed
    /// back meanwhile (to drop from what the worker holds).
    pub(super) fn disarm(&self) -> Vec<Vec<u8>> {
        let mut state = self.lock();
        state.running = None;
        std::mem::take(&mut state.returned)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.lock().stop = true;
        self.shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: waits for a job that runs past [`LONG_JOB`], hands back
/// what was taken after it, once per job.
fn watch(shared: &Shared, client: &Client, id: &str) {
    block_signals();
    let inflight = client.keys().inflight(id);
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if state.stop {
            return;
        }
        let Some((started, ahead)) = state.running else {
            state.idle = true;
            state = shared.changed.wait(state).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        let due = started + LONG_JOB;
        let now = Instant::now();
        if now < due {
            state = shared.changed.wait_timeout(state, due - now).unwrap_or_else(|p| p.into_inner()).0;
            continue;
        }
        // Past due, still running (the lock is held: the worker cannot start another job).
        state.running = None;
        let tail: Vec<Vec<u8>> = match client
            .with_conn(|c| redis::cmd("LRANGE").arg(&inflight).arg(-(ahead as i64)).arg(-1).query(c))
        {
            Ok(tail) => tail,
            Err(e) => {
                tracing::debug!(worker = id, "cannot read the jobs taken ahead: {e}");
                continue;
            }
        };
        // Last taken first, each to the head of its queue: the queues keep their order.
        for entry in tail.into_iter().rev() {
            match roster::return_entries(client, id, std::iter::once(entry.as_slice())) {
                Ok(returned) if returned.requeued == 1 => state.returned.push(entry),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(worker = id, "cannot hand back the jobs taken ahead: {e}");
                    break;
                }
            }
        }
        if !state.returned.is_empty() {
            tracing::debug!(worker = id, returned = state.returned.len(), "handed back the jobs taken ahead");
        }
    }
}

/// The worker's signals go to its own thread, never to this one.
fn block_signals() {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
}

/// Removes from `held` one entry for each of `returned` that it holds,
/// keeping the rest of `returned` (entries of replies not read yet).
pub(super) fn drop_returned<T>(
    held: &mut std::collections::VecDeque<T>,
    returned: &mut Vec<Vec<u8>>,
    entry: impl Fn(&T) -> &[u8],
) {
    if returned.is_empty() {
        return;
    }
    held.retain(|t| match returned.iter().position(|r| r.as_slice() == entry(t)) {
        Some(i) => {
            returned.swap_remove(i);
            false
        }
        None => true,
    });
}
