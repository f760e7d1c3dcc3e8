//! Instant wake-ups, on sockets of their own that a loop polls with its
//! signal pipe. An idle worker subscribes to the wake channel (resque-rs
//! publishes a queue's name whenever it pushes a job), the scheduler to
//! `delayed_wake` (the due second of a delayed job just added); and an idle
//! worker waits on its queues' lists themselves (`lists`: a blocking no-op
//! rotation that returns once a list is non-empty), so that a job any
//! producer pushes (Ruby Resque, node-resque, a bare `RPUSH`) wakes it too.
//! An idle loop costs Redis about one command per queue per interval.
//!
//! These sockets speak RESP themselves (`socket`, `reply`), over TCP, TLS
//! (`tls`) or Unix sockets, so that their file descriptors can be polled.

mod lists;
mod reply;
mod socket;
mod tls;

use std::io::{Read, Write};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use crate::client::Client;
pub(crate) use lists::ListWaits;
use socket::Socket;

const TIMEOUT: Duration = Duration::from_secs(1);
const RETRY: Duration = Duration::from_secs(5);

/// The wake-up subscription; reconnects lazily after an error.
pub(crate) struct Wake {
    client: Client,
    channel: String,
    socket: Option<Socket>,
    last_attempt: Option<Instant>,
    /// [`Client::master_switches`] when the socket was opened.
    switches: u64,
}

impl Wake {
    /// Subscribes to `channel` (a physical name, namespace included).
    pub(crate) fn new(client: Client, channel: String) -> Self {
        let mut wake = Wake { client, channel, socket: None, last_attempt: None, switches: 0 };
        wake.ensure();
        wake
    }

    /// The socket to poll, when subscribed.
    pub(crate) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.socket.as_ref().map(Socket::as_fd)
    }

    /// Reads and forgets whatever was published; drops the subscription if
    /// the server closed it. Whether anything was read.
    pub(crate) fn drain(&mut self) -> bool {
        let Some(socket) = self.socket.as_mut() else { return false };
        let mut buf = [0u8; 4096];
        let mut read = false;
        loop {
            match socket.read(&mut buf) {
                Ok(0) => {
                    tracing::debug!("the wake-up subscription was closed");
                    self.socket = None;
                    return read;
                }
                Ok(_) => read = true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!("the wake-up subscription failed: {e}");
                    self.socket = None;
                    return read;
                }
            }
        }
    }

    /// Subscribes if not subscribed and the last attempt is not too recent.
    pub(crate) fn ensure(&mut self) {
        if self.socket.is_some() && self.switches != Client::master_switches() {
            tracing::debug!("the master moved: subscribing on the new one");
            self.socket = None;
            self.last_attempt = None;
        }
        if self.socket.is_some() || self.last_attempt.is_some_and(|t| t.elapsed() < RETRY) {
            return;
        }
        self.last_attempt = Some(Instant::now());
        self.switches = Client::master_switches();
        match self.subscribe() {
            Ok(Some(socket)) => self.socket = Some(socket),
            Ok(None) => {}
            Err(e) => tracing::debug!("cannot subscribe to the wake-up channel: {e}"),
        }
    }

    fn subscribe(&self) -> std::io::Result<Option<Socket>> {
        let info = self.client.connection_info().map_err(std::io::Error::other)?;
        let Some(mut socket) = socket::open(&info, false, TIMEOUT)? else {
            tracing::debug!(
                "no instant wake-up for a connection with TLS settings of its own; the loop polls"
            );
            return Ok(None);
        };
        socket.write_all(&socket::resp(&[b"SUBSCRIBE", self.channel.as_bytes()]))?;
        Ok(Some(socket))
    }
}
