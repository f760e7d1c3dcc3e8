//! A plain socket to the server (TCP or Unix) whose file descriptor a loop
//! can poll: opened, authenticated and pointed at the client's database
//! here, then read without blocking; over TLS too (see `tls`), unless
//! the connection has TLS settings of its own (then the loops poll).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo};

use super::tls::{self, TlsStream};

pub(super) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<TlsStream>),
}

impl Socket {
    pub(super) fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Socket::Tcp(s) => s.as_fd(),
            Socket::Unix(s) => s.as_fd(),
            Socket::Tls(s) => s.sock.as_fd(),
        }
    }

    pub(super) fn set_nonblocking(&self, yes: bool) -> std::io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nonblocking(yes),
            Socket::Unix(s) => s.set_nonblocking(yes),
            Socket::Tls(s) => s.sock.set_nonblocking(yes),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
            Socket::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Unix(s) => s.write(buf),
            Socket::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Socket::Tcp(s) => s.flush(),
            Socket::Unix(s) => s.flush(),
            Socket::Tls(s) => s.flush(),
        }
    }
}

/// Connects to the server `info` names and authenticates; with `select`,
/// also selects its database (a Pub/Sub channel has none; a list does).
/// The socket is left nonblocking. `None` for a connection with TLS
/// settings of its own.
pub(super) fn open(
    info: &ConnectionInfo,
    select: bool,
    timeout: Duration,
) -> std::io::Result<Option<Socket>> {
    let mut socket = match info.addr() {
        ConnectionAddr::Tcp(host, port) => Socket::Tcp(tcp(host, *port, timeout)?),
        ConnectionAddr::TcpTls { host, port, insecure, tls_params: None } => {
            Socket::Tls(Box::new(tls::wrap(tcp(host, *port, timeout)?, host, *insecure)?))
        }
        ConnectionAddr::Unix(path) => {
            let stream = UnixStream::connect(path)?;
            stream.set_read_timeout(Some(timeout))?;
            Socket::Unix(stream)
        }
        _ => return Ok(None),
    };
    let settings = info.redis_settings();
    if let Some(password) = settings.password() {
        let mut auth: Vec<&[u8]> = vec![b"AUTH"];
        auth.extend(settings.username().map(str::as_bytes));
        auth.push(password.as_bytes());
        command_ok(&mut socket, &auth, "AUTH")?;
    }
    let db = settings.db();
    if select && db != 0 {
        command_ok(&mut socket, &[b"SELECT", db.to_string().as_bytes()], "SELECT")?;
    }
    socket.set_nonblocking(true)?;
    Ok(Some(socket))
}

fn tcp(host: &str, port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{host} has no address")))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends a command and reads its one-line reply, which must be `+...`.
fn command_ok(socket: &mut Socket, args: &[&[u8]], what: &str) -> std::io::Result<()> {
    socket.write_all(&resp(args))?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if socket.read(&mut byte)? == 0 {
            return Err(std::io::Error::other(format!("the server closed the connection after {what}")));
        }
        line.push(byte[0]);
    }
    match line.first() {
        Some(b'+') => Ok(()),
        _ => Err(std::io::Error::other(format!("{what} refused: {}", String::from_utf8_lossy(&line).trim()))),
    }
}

/// A command as a RESP array of bulk strings.
pub(super) fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_are_resp_arrays() {
        assert_eq!(
            super::resp(&[b"SUBSCRIBE", b"resque:wake"]),
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$11\r\nresque:wake\r\n"
        );
    }
}
