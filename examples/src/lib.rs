//! Jobs and helpers shared by the examples.

pub mod jobs;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Redis an example uses: the configured one if it answers, else a
/// private `redis-server` started for the example and stopped on drop.
pub struct ExampleRedis {
    /// The client, in the example's namespace.
    pub client: resque::Client,
    /// `Some` when the example started its own server.
    private: Option<(Child, tempfile_dir::Dir)>,
}

mod tempfile_dir {
    /// A directory under the system temp dir, removed on drop.
    pub struct Dir(pub std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl ExampleRedis {
    /// Finds Redis at `RESQUE_REDIS` / `REDIS_URL` / 127.0.0.1:6379, or
    /// starts a private server when `redis-server` is installed. Keys go
    /// under `namespace` unless `RESQUE_NAMESPACE` says otherwise.
    pub fn find_or_start(namespace: &str) -> Result<Self, String> {
        let ns = std::env::var("RESQUE_NAMESPACE").unwrap_or_else(|_| namespace.to_string());
        let configured = resque::Client::from_env().map_err(|e| e.to_string())?;
        let configured =
            resque::Client::with_namespace(configured.address().clone(), &ns).map_err(|e| e.to_string())?;
        if configured.ping().is_ok() {
            println!("Using Redis at {} (namespace {ns:?}).", configured.address());
            return Ok(ExampleRedis { client: configured, private: None });
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("cannot find a free port: {e}"))?;
        let dir = std::env::temp_dir().join(format!("resque-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let dir = tempfile_dir::Dir(dir);
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(_) => {
                return Err(format!(
                    "no Redis answered at {} and `redis-server` is not installed.\n\
                     Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`)\n\
                     or point RESQUE_REDIS at a server, then run this again.",
                    configured.address()
                ))
            }
        };
        let address: resque::RedisAddress =
            format!("redis://127.0.0.1:{port}/0").parse().map_err(|e: resque::Error| e.to_string())?;
        let client = resque::Client::with_namespace(address, &ns).map_err(|e| e.to_string())?;
        let example = ExampleRedis { client, private: Some((child, dir)) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while example.client.ping().is_err() {
            if Instant::now() > deadline {
                return Err("the private redis-server did not start within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "No Redis answered at {}; started a private redis-server on port {port} for this run \
             (it stops when the example ends).",
            configured.address()
        );
        Ok(example)
    }

    /// The `redis-cli` command that reaches this server.
    pub fn redis_cli(&self) -> String {
        let url = self.client.address().url();
        match url.strip_prefix("redis://").and_then(|r| r.split('/').next()).and_then(|h| h.rsplit_once(':'))
        {
            Some((host, port)) if !host.contains('@') => format!("redis-cli -h {host} -p {port}"),
            _ => format!("redis-cli -u {url}"),
        }
    }

    /// Whether the server is the example's own.
    pub fn is_private(&self) -> bool {
        self.private.is_some()
    }
}

impl Drop for ExampleRedis {
    fn drop(&mut self) {
        if let Some((child, _dir)) = self.private.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
