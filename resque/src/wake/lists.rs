//! Waiting on queue lists for a job pushed by any producer: one socket per
//! list, each blocked in `BLMOVE <list> <list> RIGHT RIGHT <timeout>`.
//!
//! On one list, RIGHT to RIGHT pops the tail and pushes it back to the tail
//! in one atomic step: the list is left exactly as it was, so the command
//! moves nothing and only returns once the list is non-empty (at once if it
//! is already). Its reply wakes the loop, which then takes jobs as it
//! always does (priority order, the atomic move into its in-flight list).
//! A timed-out wait is sent again the next time the loop waits, so an idle
//! loop sends about one command per list per timeout. Redis before 6.2 has
//! no `BLMOVE`: `BRPOPLPUSH <list> <list>` is the same rotation. A socket
//! that fails (Redis restarted) is dropped and opened again after a pause;
//! meanwhile the loop's regular poll finds the jobs.

use std::io::{Read, Write};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use super::reply::{self, Reply};
use super::socket::{self, Socket};
use crate::client::Client;

/// At most this many lists are waited on (the first, in priority order);
/// the loop's poll finds jobs pushed to the others.
pub(crate) const MAX_LISTS: usize = 16;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// The shortest wait sent (whole seconds suit `BRPOPLPUSH` too).
const MIN_TIMEOUT: Duration = Duration::from_secs(1);
/// Wake-ups in a row that found no job before the waits rest for [`REST`]:
/// a list that stayed non-empty without the loop taking from it would wake
/// it at once, again and again. Idle workers woken together by one push,
/// only one of which takes the job, rarely lose this many in a row.
const FRUITLESS: u32 = 64;
const REST: Duration = Duration::from_secs(5);

struct ListWait {
    key: Vec<u8>,
    socket: Option<Socket>,
    /// A wait was sent and its reply not read yet.
    sent: bool,
    /// What was read of the reply so far.
    buf: Vec<u8>,
}

/// The waits on a loop's lists; connected lazily, reconnected after errors.
pub(crate) struct ListWaits {
    client: Client,
    timeout: Duration,
    waits: Vec<ListWait>,
    /// The server has no `BLMOVE`: send `BRPOPLPUSH`.
    legacy: bool,
    /// The connection cannot be polled (TLS settings of its own): never wait.
    unsupported: bool,
    /// No connection before this (after a failure).
    next_attempt: Option<Instant>,
    retry: Duration,
    /// Wake-ups in a row after which the loop found nothing, and since when
    /// the waits rest.
    fruitless: u32,
    resting: Option<Instant>,
    /// [`Client::master_switches`] when the sockets were opened.
    switches: u64,
    /// The lists watched are all the loop's (no more than [`MAX_LISTS`]).
    every_list: bool,
}

impl ListWaits {
    /// Waits for `client`'s server that time out after `timeout` (at least
    /// one second); nothing is connected before [`ListWaits::arm`].
    pub(crate) fn new(client: Client, timeout: Duration) -> Self {
        ListWaits {
            client,
            timeout: timeout.max(MIN_TIMEOUT),
            waits: Vec::new(),
            legacy: false,
            unsupported: false,
            next_attempt: None,
            retry: FIRST_RETRY,
            fruitless: 0,
            resting: None,
            switches: 0,
            every_list: false,
        }
    }

    /// Whether every list of the loop is waited on: then a push to any of
    /// them, resque-rs's own included, wakes it without the wake channel.
    pub(crate) fn waits_on_every_list(&self) -> bool {
        self.every_list && !self.waits.is_empty() && !self.unsupported
    }

    /// Waits on `keys` (physical list keys, priority order; the first
    /// [`MAX_LISTS`]), keeping the sockets of those already waited on.
    pub(crate) fn watch(&mut self, keys: Vec<Vec<u8>>) {
        self.every_list = keys.len() <= MAX_LISTS;
        if self.waits.iter().map(|w| &w.key).eq(keys.iter().take(MAX_LISTS)) {
            return;
        }
        let mut old = std::mem::take(&mut self.waits);
        for key in keys.into_iter().take(MAX_LISTS) {
            let wait = match old.iter().position(|w| w.key == key) {
                Some(i) => old.swap_remove(i),
                None => ListWait { key, socket: None, sent: false, buf: Vec::new() },
            };
            self.waits.push(wait);
        }
    }

    /// Connects the waits that have no socket (unless a connection failed
    /// recently) and sends a wait on every socket that has none pending.
    /// When to call again to retry, if a list is not waited on.
    pub(crate) fn arm(&mut self) -> Option<Duration> {
        if self.unsupported || self.waits.is_empty() {
            return None;
        }
        if let Some(since) = self.resting {
            match since.elapsed() {
                e if e < REST => return Some(REST - e),
                _ => self.resting = None,
            }
        }
        if self.switches != Client::master_switches() {
            // Waits on a server that is no longer the master would never wake.
            self.switches = Client::master_switches();
            for wait in &mut self.waits {
                *wait = ListWait {
                    key: std::mem::take(&mut wait.key),
                    socket: None,
                    sent: false,
                    buf: Vec::new(),
                };
            }
        }
        let (legacy, timeout) = (self.legacy, self.timeout_arg());
        let mut failed = false;
        for wait in &mut self.waits {
            if wait.socket.is_none() {
                if failed || self.next_attempt.is_some_and(|t| Instant::now() < t) {
                    continue;
                }
                let opened = self
                    .client
                    .connection_info()
                    .map_err(std::io::Error::other)
                    .and_then(|info| socket::open(&info, true, CONNECT_TIMEOUT));
                match opened {
                    Ok(Some(s)) => wait.socket = Some(s),
                    Ok(None) => {
                        tracing::debug!(
                            "no waits on lists for a connection with TLS settings of its own; the loop polls"
                        );
                        self.unsupported = true;
                        self.waits.clear();
                        return None;
                    }
                    Err(e) => {
                        tracing::debug!("cannot open a connection to wait on a list: {e}");
                        failed = true;
                        continue;
                    }
                }
            }
            if !wait.sent {
                send(wait, legacy, &timeout);
            }
        }
        if failed {
            self.next_attempt = Some(Instant::now() + self.retry);
            self.retry = (self.retry * 2).min(MAX_RETRY);
        } else if self.waits.iter().all(|w| w.socket.is_some()) {
            self.retry = FIRST_RETRY;
        }
        self.waits.iter().any(|w| w.socket.is_none()).then(|| {
            self.next_attempt.map_or(Duration::ZERO, |t| t.saturating_duration_since(Instant::now()))
        })
    }

    /// The sockets with a wait pending, to poll.
    pub(crate) fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.waits.iter().filter(|w| w.sent).filter_map(|w| w.socket.as_ref()).map(Socket::as_fd).collect()
    }

    /// Reads the replies that came; whether one says a list had an element.
    /// A timed-out wait is sent again by the next [`ListWaits::arm`]; a
    /// socket that failed or was closed is dropped.
    pub(crate) fn drain(&mut self) -> bool {
        let mut woke = false;
        let mut unknown = false;
        for wait in &mut self.waits {
            match read(wait) {
                Some(Reply::Value) => woke = true,
                Some(Reply::Error(e)) if !self.legacy && e.contains("unknown command") => unknown = true,
                Some(Reply::Error(e)) => {
                    tracing::debug!("waiting on a list failed: {e}");
                    wait.socket = None;
                    self.next_attempt = Some(Instant::now() + MAX_RETRY);
                }
                Some(Reply::Nil) | None => {}
            }
        }
        if unknown {
            tracing::debug!("the server has no BLMOVE: waiting with BRPOPLPUSH");
            self.legacy = true;
        }
        woke
    }

    /// After a wake-up by a list: whether the loop then found a job. Too
    /// many fruitless ones in a row rest the waits for a while.
    pub(crate) fn found(&mut self, job: bool) {
        if job {
            self.fruitless = 0;
            return;
        }
        self.fruitless += 1;
        if self.fruitless >= FRUITLESS {
            tracing::debug!("woken {FRUITLESS} times for nothing: polling for a while");
            self.fruitless = 0;
            self.resting = Some(Instant::now());
        }
    }

    /// The timeout argument: seconds, whole ones for `BRPOPLPUSH`.
    fn timeout_arg(&self) -> Vec<u8> {
        match self.legacy {
            false => format!("{}", self.timeout.as_secs_f64()).into_bytes(),
            true => self.timeout.as_secs_f64().ceil().to_string().into_bytes(),
        }
    }
}

/// Sends the wait on `wait`'s socket (`BRPOPLPUSH` if `legacy`); drops
/// the socket if that fails.
fn send(wait: &mut ListWait, legacy: bool, timeout: &[u8]) {
    let Some(socket) = wait.socket.as_mut() else { return };
    let key = wait.key.as_slice();
    let command = match legacy {
        false => socket::resp(&[b"BLMOVE", key, key, b"RIGHT", b"RIGHT", timeout]),
        true => socket::resp(&[b"BRPOPLPUSH", key, key, timeout]),
    };
    match socket.write_all(&command) {
        Ok(()) => wait.sent = true,
        Err(e) => {
            tracing::debug!("cannot send a wait on a list: {e}");
            wait.socket = None;
        }
    }
}

/// Reads what the socket has; the reply, once whole.
fn read(wait: &mut ListWait) -> Option<Reply> {
    let socket = wait.socket.as_mut()?;
    let mut chunk = [0u8; 4096];
    loop {
        match socket.read(&mut chunk) {
            Ok(0) => {
                tracing::debug!("a connection waiting on a list was closed");
                *wait = ListWait {
                    key: std::mem::take(&mut wait.key),
                    socket: None,
                    sent: false,
                    buf: Vec::new(),
                };
                return None;
            }
            Ok(n) => wait.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!("a connection waiting on a list failed: {e}");
                *wait = ListWait {
                    key: std::mem::take(&mut wait.key),
                    socket: None,
                    sent: false,
                    buf: Vec::new(),
                };
                return None;
            }
        }
    }
    let (len, reply) = reply::first(&wait.buf)?;
    wait.buf.drain(..len);
    wait.sent = false;
    Some(reply)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::{Duration, Instant};

    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    use super::ListWaits;
    use crate::test_redis::TestRedis;

    const KEY: &str = "resque:queue:q";

    /// Polls the waits' sockets up to `limit`; whether a reply says a list
    /// had an element.
    fn woke(waits: &mut ListWaits, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let ready = {
                let mut fds: Vec<_> =
                    waits.fds().into_iter().map(|fd| PollFd::new(fd, PollFlags::POLLIN)).collect();
                let left = PollTimeout::try_from(deadline - Instant::now()).unwrap();
                !fds.is_empty() && poll(&mut fds, left).unwrap() > 0
            };
            if ready && waits.drain() {
                return true;
            }
            waits.arm();
        }
        false
    }

    fn dump(redis: &mut TestRedis) -> Vec<u8> {
        redis.query(redis::cmd("DUMP").arg(KEY))
    }

    #[test]
    fn a_wait_wakes_for_a_bare_push_and_leaves_the_list_byte_identical() {
        let (mut redis, client) = TestRedis::start_with_client();
        let mut waits = ListWaits::new(client, Duration::from_secs(5));
        waits.watch(vec![KEY.as_bytes().to_vec()]);
        assert_eq!(waits.arm(), None, "connected and waiting");
        assert!(!woke(&mut waits, Duration::from_millis(200)), "an empty list does not wake");
        let entries: Vec<Vec<u8>> =
            vec![b"{\"class\":\"A\",\"args\":[1]}".to_vec(), b"b\xff\r\n".to_vec(), b"c".to_vec()];
        redis.query::<()>(redis::cmd("RPUSH").arg(KEY).arg(&entries));
        assert!(woke(&mut waits, Duration::from_secs(2)), "a bare RPUSH wakes the wait");
        assert_eq!(redis.list(KEY), entries, "the rotation moved nothing");
        let before = dump(&mut redis);
        waits.arm();
        assert!(woke(&mut waits, Duration::from_secs(2)), "a non-empty list wakes at once");
        assert_eq!(redis.list(KEY), entries);
        assert_eq!(dump(&mut redis), before, "the list is byte-identical after a rotation");
    }

    #[test]
    fn waits_that_keep_finding_nothing_rest() {
        let (_redis, client) = TestRedis::start_with_client();
        let mut waits = ListWaits::new(client, Duration::from_secs(5));
        waits.watch(vec![KEY.as_bytes().to_vec()]);
        for _ in 1..super::FRUITLESS {
            waits.found(false);
        }
        waits.found(true);
        waits.found(false);
        assert_eq!(waits.arm(), None, "a job found in between: still waiting");
        assert_eq!(waits.fds().len(), 1);
        let mut rested = ListWaits::new(waits.client.clone(), Duration::from_secs(5));
        rested.watch(vec![KEY.as_bytes().to_vec()]);
        for _ in 0..super::FRUITLESS {
            rested.found(false);
        }
        let retry = rested.arm().expect("resting");
        assert!(retry > Duration::from_secs(4), "{retry:?}");
        assert!(rested.fds().is_empty(), "nothing sent while resting");
    }

    #[test]
    fn a_timed_out_wait_is_sent_again() {
        let (mut redis, client) = TestRedis::start_with_client();
        let mut waits = ListWaits::new(client, Duration::from_millis(10));
        waits.watch(vec![KEY.as_bytes().to_vec()]);
        waits.arm();
        // The shortest timeout is one second: it passes once, then the wait is sent again.
        assert!(!woke(&mut waits, Duration::from_millis(1500)));
        let blocked: String = redis.query(redis::cmd("INFO").arg("clients"));
        assert!(blocked.contains("blocked_clients:1"), "{blocked}");
        redis.exec(&["RPUSH", KEY, "job"]);
        assert!(woke(&mut waits, Duration::from_secs(2)));
        assert_eq!(redis.texts(KEY), ["job"]);
    }
}
