//! Support for resque-rs's integration tests: a private `redis-server` per
//! test, the jobs the test worker binary runs, and process helpers.

pub mod jobs;
pub mod retry_jobs;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of the test's own, on a free port in a temp dir; killed
/// on drop. It can be stopped and started again on the same port.
pub struct TestRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
    tls_files: Option<(tempfile::TempDir, PathBuf, PathBuf)>,
}

impl TestRedis {
    /// Starts a server that keeps nothing on disk.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server that speaks only TLS, with a fresh self-signed
    /// certificate for 127.0.0.1 made with `openssl`. Connect with
    /// `rediss://...#insecure`.
    pub fn start_tls() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for certificates");
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key_path)
            .arg("-out")
            .arg(&cert_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("openssl, to make the test certificate (`apt-get install openssl`)");
        assert!(made.status.success(), "openssl req failed: {}", String::from_utf8_lossy(&made.stderr));
        let mut redis = Self::start_with(&["--tls-auth-clients", "no"]);
        redis.tls_files = Some((dir, cert_path, key_path));
        redis.restart();
        redis
    }

    /// Starts a server with extra `redis-server` arguments
    /// (e.g. `["--appendonly", "yes"]`).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        let extra = extra.iter().map(|s| s.to_string()).collect();
        let mut redis = TestRedis { child: None, port: free_port(), dir, extra, tls_files: None };
        for _ in 0..10 {
            if redis.spawn() {
                return redis;
            }
            redis.port = free_port();
        }
        panic!("could not start redis-server (is it installed? `apt-get install redis-server`)");
    }

    fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        match &self.tls_files {
            None => cmd.args(["--port", &self.port.to_string()]),
            Some((_, cert, key)) => cmd
                .args(["--port", "0", "--tls-port", &self.port.to_string(), "--tls-cert-file"])
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key),
        };
        cmd.args(["--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let Ok(child) = cmd.spawn() else { return false };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if self.ping() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        false
    }

    fn ping(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }

    /// `redis://127.0.0.1:<port>/0`, or for a TLS server
    /// `rediss://127.0.0.1:<port>/0#insecure` (its certificate is self-signed).
    pub fn url(&self) -> String {
        match self.tls_files {
            None => format!("redis://127.0.0.1:{}/0", self.port),
            Some(_) => format!("rediss://127.0.0.1:{}/0#insecure", self.port),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A resque client in the default namespace.
    pub fn client(&self) -> resque::Client {
        resque::Client::with_namespace(self.url().parse().expect("url"), "resque").expect("client")
    }

    /// A resque client in another namespace.
    pub fn client_in(&self, namespace: &str) -> resque::Client {
        resque::Client::with_namespace(self.url().parse().expect("url"), namespace).expect("client")
    }

    /// The `failed` list, each entry parsed.
    pub fn failures(&self) -> Vec<serde_json::Value> {
        self.lrange("resque:failed")
            .iter()
            .map(|r| serde_json::from_str(r).expect("a failure entry is JSON"))
            .collect()
    }

    /// The whole list at `key` (a full key name, e.g. `resque:queue:mail`),
    /// each entry as stored.
    pub fn lrange(&self, key: &str) -> Vec<String> {
        redis::cmd("LRANGE").arg(key).arg(0).arg(-1).query(&mut self.conn()).expect("LRANGE")
    }

    /// The registered worker ids.
    pub fn workers(&self) -> Vec<String> {
        redis::cmd("SMEMBERS").arg("resque:workers").query(&mut self.conn()).expect("SMEMBERS workers")
    }

    /// Every `resque:inflight:<id>` key: the jobs workers have taken.
    pub fn inflight_keys(&self) -> Vec<String> {
        redis::cmd("KEYS").arg("resque:inflight:*").query(&mut self.conn()).expect("KEYS inflight")
    }

    /// Delays `item` (a delayed item's exact bytes) to the Unix second `at`
    /// as resque-scheduler's `delayed_push` writes it: `RPUSH delayed:<at>`,
    /// `SADD timestamps:<item> delayed:<at>`, `ZADD delayed_queue_schedule`.
    pub fn delay_as_ruby(&self, at: i64, item: &str) {
        let bucket = format!("delayed:{at}");
        redis::pipe()
            .cmd("RPUSH")
            .arg(format!("resque:{bucket}"))
            .arg(item)
            .cmd("SADD")
            .arg(format!("resque:timestamps:{item}"))
            .arg(&bucket)
            .cmd("ZADD")
            .arg("resque:delayed_queue_schedule")
            .arg(at)
            .arg(at)
            .query::<()>(&mut self.conn())
            .expect("delayed_push");
    }

    /// A raw connection, to look at keys byte for byte.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url()).expect("url").get_connection().expect("connection to test redis")
    }

    /// Stops the server (SIGKILL, as a crash would).
    pub fn stop(&mut self) {
        self.kill();
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        assert!(self.spawn(), "redis-server did not restart on port {}", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A child process that is killed, with its own children (a worker's job),
/// when the handle is dropped, so that a failing test leaves nothing behind.
pub struct Reaped(pub Child);

impl Reaped {
    /// Spawns `cmd`.
    pub fn spawn(cmd: &mut Command) -> Self {
        Reaped(cmd.spawn().expect("spawn"))
    }
}

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let pid = self.0.id();
            let children =
                std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A command for a program with a clean environment pointing at `redis`.
pub fn command(program: impl AsRef<Path>, redis: &TestRedis) -> Command {
    let mut cmd = Command::new(program.as_ref());
    cmd.env_clear().env("RESQUE_REDIS", redis.url()).env("RUST_BACKTRACE", "0");
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// Runs a command to completion with a time limit, capturing its output.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let status =
        wait_for_exit(&mut child, limit).unwrap_or_else(|| panic!("{cmd:?} did not finish within {limit:?}"));
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_end(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    Output { status, stdout, stderr }
}

/// Runs `worker` (a worker binary's [`command`]) as `work -i 0 -q <queues>`
/// plus `extra` until the queues are empty, asserts that it succeeded, and
/// returns its stderr.
pub fn drain(mut worker: Command, queues: &str, extra: &[&str]) -> String {
    let out = run(worker.args(["work", "-i", "0", "-q", queues]).args(extra), Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "worker failed: {stderr}");
    stderr
}

/// Waits for a child to exit; kills it and returns `None` past `limit`.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The id a worker on this host registers: `<host>:<pid>:<queues>`, with
/// `queues` comma-separated as given to it.
pub fn worker_id(pid: u32, queues: &str) -> String {
    let host = nix::unistd::gethostname().expect("hostname").into_string().expect("a UTF-8 hostname");
    format!("{host}:{pid}:{queues}")
}

/// A scratch file path in a temp dir the caller keeps alive.
pub fn scratch(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The lines of a file, or none if it does not exist.
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
}

/// A process's command line as `ps` shows it (NULs as spaces, trimmed).
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim().to_string())
        .unwrap_or_default()
}

/// `GET path` from a web app on 127.0.0.1:`port`, as `Host: 127.0.0.1:<port>`:
/// the whole answer (status line, headers, body), or nothing when it cannot
/// connect.
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}
