//! `resque-cli web` as a user starts it: without Redis it serves and
//! recovers by itself; a port it cannot bind is an error naming it; and
//! `--allowed-host` names are served.

#![cfg(feature = "web")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

/// A fresh directory of this test's own, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("resque-cli-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills the child on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET over a real socket: the status line and the body, or `None` when
/// nothing listens yet.
fn http_get(port: u16, path: &str, host: &str) -> Option<(String, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.lines().next().unwrap_or_default().to_string(), body.to_string()))
}

/// Polls until `f` gives a value.
fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < LIMIT, "gave up after {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn web(redis_port: u16, web_port: u16, extra: &[&str], stderr: &std::path::Path) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_resque-cli"))
        .args(["-r", &format!("127.0.0.1:{redis_port}"), "web", "-p", &web_port.to_string()])
        .args(extra)
        .env_remove("RESQUE_WEB_AUTH")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap();
    Killed(child)
}

#[test]
fn web_starts_without_redis_serves_its_navigation_and_recovers() {
    let dir = Scratch::new("down");
    let log = dir.path().join("web.err");
    let (redis_port, web_port) = (free_port(), free_port());
    let _web = web(redis_port, web_port, &["--allowed-host", "resque.example.com"], &log);

    let (status, body) = eventually(|| http_get(web_port, "/overview", "127.0.0.1"));
    assert!(status.starts_with("HTTP/1.1 503"), "{status}: {body}");
    assert!(body.contains(&format!("127.0.0.1:{redis_port}")) && body.contains("is not answering"), "{body}");
    for tab in [r#"href="/failed">Failed</a>"#, r#"href="/queues">Queues</a>"#] {
        assert!(body.contains(tab), "{tab} missing: {body}");
    }
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains(&format!("on http://127.0.0.1:{web_port}")), "{said}");

    // An allowed name is served, a foreign one refused.
    let (status, _) = http_get(web_port, "/overview", "resque.example.com").unwrap();
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    let (status, _) = http_get(web_port, "/overview", "evil.example").unwrap();
    assert!(status.starts_with("HTTP/1.1 421"), "{status}");

    // Redis starts: the next request is served, the app was not restarted.
    let _redis = Killed(
        Command::new("redis-server")
            .args([
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed"),
    );
    let body = eventually(|| {
        let (status, body) = http_get(web_port, "/overview", "localhost")?;
        status.starts_with("HTTP/1.1 200").then_some(body)
    });
    assert!(body.contains("<h1>Overview</h1>") && !body.contains("data-redis-down"), "{body}");
}

#[test]
fn a_port_that_cannot_be_bound_is_an_error_naming_it() {
    let dir = Scratch::new("bind");
    let log = dir.path().join("web.err");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut web = web(1, port, &[], &log);
    let status = eventually(|| web.0.try_wait().unwrap());
    assert!(!status.success(), "{status}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{said}");
    assert!(!said.contains("serving"), "said it serves on a port it could not bind: {said}");
}

#[test]
fn an_allowed_host_must_be_a_host_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_resque-cli"))
        .args(["web", "--allowed-host", "http://evil.example/"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allowed-host") && stderr.contains("is not a host name"), "{stderr}");
}
