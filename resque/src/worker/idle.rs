//! An idle worker's wait for a job: it wakes at once for a signal, for a
//! queue name published on the wake channel (resque-rs's own pushes), or
//! when one of its queues' lists is no longer empty, whoever pushed to it
//! (see `crate::wake`); else after its interval, to poll as Ruby does.
//!
//! The lists waited on are the queues as last resolved: a queue that a
//! wildcard matches only later is found by the poll.

use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::Worker;

impl Worker {
    /// Waits up to `interval` for a job (see the module's documentation).
    pub(super) fn idle(&mut self, interval: Duration) {
        if let Some(wake) = self.wake.as_mut() {
            wake.ensure();
        }
        self.wait(interval, true);
    }

    /// Waits on the queues' lists from now on (physical keys of the resolved
    /// queue names, priority order).
    pub(super) fn watch_lists(&mut self, names: &[Vec<u8>]) {
        let keys = names.iter().map(|q| self.client.keys().queue_of_bytes(q)).collect();
        self.lists.watch(keys);
    }

    /// Forgets what was published or pushed before a fetch: the fetch sees it.
    pub(super) fn forget_wake_ups(&mut self) {
        if let Some(wake) = self.wake.as_mut() {
            let _ = wake.drain();
        }
        let _ = self.lists.drain();
    }

    /// After a fetch that followed a wake-up by a list: whether it found a job.
    pub(super) fn woken_for(&mut self, job: bool) {
        if std::mem::take(&mut self.woken_by_list) {
            self.lists.found(job);
        }
    }

    /// Waits up to `at_most` for a signal, a wake-up message or a list that
    /// is no longer empty; returns whether either of the last two came.
    pub(super) fn wait_for_job(&mut self, at_most: Duration) -> bool {
        let at_most =
            self.lists.arm().map_or(at_most, |retry| at_most.min(retry.max(Duration::from_millis(10))));
        let timeout = PollTimeout::try_from(at_most).unwrap_or(PollTimeout::MAX);
        let (woke_published, woke_list) = {
            let mut fds = vec![PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
            let wake_fd = self.wake.as_ref().and_then(crate::wake::Wake::fd);
            fds.extend(wake_fd.map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
            let published_at = wake_fd.map(|_| 1);
            fds.extend(self.lists.fds().into_iter().map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
            let list_from = 1 + usize::from(wake_fd.is_some());
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    tracing::error!("poll failed while idle: {e}");
                    std::thread::sleep(at_most);
                }
            }
            let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            (
                published_at.and_then(|i| fds.get(i)).is_some_and(ready),
                fds.get(list_from..).is_some_and(|l| l.iter().any(ready)),
            )
        };
        self.signals.drain();
        self.signals.take_child();
        let mut woke = woke_published;
        if woke_list && self.lists.drain() {
            self.woken_by_list = true;
            woke = true;
        }
        woke
    }
}
