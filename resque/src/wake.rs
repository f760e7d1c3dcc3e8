//! Instant wake-ups: a Pub/Sub subscription to one channel, whose socket a
//! loop polls with its signal pipe. An idle worker subscribes to the wake
//! channel (resque-rs publishes a queue's name whenever it pushes a job),
//! the scheduler to `delayed_wake` (the due second of a delayed job just
//! added), so an idle loop costs Redis nothing until something comes; what
//! producers that do not publish (Ruby Resque) add is found by the loop's
//! regular poll.
//!
//! The subscription speaks RESP over its own plain socket (TCP or Unix),
//! so that its file descriptor can be polled; over TLS the loop polls.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use redis::ConnectionAddr;

use crate::client::Client;

const TIMEOUT: Duration = Duration::from_secs(1);
const RETRY: Duration = Duration::from_secs(5);

enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Socket::Tcp(s) => s.as_fd(),
            Socket::Unix(s) => s.as_fd(),
        }
    }

    fn set_nonblocking(&self, yes: bool) -> std::io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nonblocking(yes),
            Socket::Unix(s) => s.set_nonblocking(yes),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Socket::Tcp(s) => s.flush(),
            Socket::Unix(s) => s.flush(),
        }
    }
}

/// The wake-up subscription; reconnects lazily after an error.
pub(crate) struct Wake {
    client: Client,
    channel: String,
    socket: Option<Socket>,
    last_attempt: Option<Instant>,
}

impl Wake {
    /// Subscribes to `channel` (a physical name, namespace included).
    pub(crate) fn new(client: Client, channel: String) -> Self {
        let mut wake = Wake { client, channel, socket: None, last_attempt: None };
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
        if self.socket.is_some() || self.last_attempt.is_some_and(|t| t.elapsed() < RETRY) {
            return;
        }
        self.last_attempt = Some(Instant::now());
        match self.subscribe() {
            Ok(Some(socket)) => self.socket = Some(socket),
            Ok(None) => {}
            Err(e) => tracing::debug!("cannot subscribe to the wake-up channel: {e}"),
        }
    }

    fn subscribe(&self) -> std::io::Result<Option<Socket>> {
        let info = self.client.connection_info();
        let mut socket = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), *port))?
                    .next()
                    .ok_or_else(|| std::io::Error::other(format!("{host} has no address")))?;
                let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
                stream.set_read_timeout(Some(TIMEOUT))?;
                stream.set_nodelay(true)?;
                Socket::Tcp(stream)
            }
            ConnectionAddr::Unix(path) => {
                let stream = UnixStream::connect(path)?;
                stream.set_read_timeout(Some(TIMEOUT))?;
                Socket::Unix(stream)
            }
            _ => {
                tracing::debug!("instant wake-up needs a plain connection; over TLS the loop polls");
                return Ok(None);
            }
        };
        let settings = info.redis_settings();
        if let Some(password) = settings.password() {
            let mut auth = vec!["AUTH"];
            auth.extend(settings.username());
            auth.push(password);
            socket.write_all(&resp(&auth))?;
            let mut reader = BufReader::new(&mut socket);
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if !line.starts_with('+') {
                return Err(std::io::Error::other(format!("AUTH refused: {}", line.trim())));
            }
        }
        socket.write_all(&resp(&["SUBSCRIBE", &self.channel]))?;
        socket.set_nonblocking(true)?;
        Ok(Some(socket))
    }
}

/// A command as a RESP array of bulk strings.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_are_resp_arrays() {
        assert_eq!(
            super::resp(&["SUBSCRIBE", "resque:wake"]),
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$11\r\nresque:wake\r\n"
        );
    }
}
