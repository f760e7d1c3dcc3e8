//! The stock binary links no jobs: `work` explains how to build a worker.

use std::process::Command;

#[test]
fn work_refuses_and_explains_how_to_build_a_worker_binary() {
    let out = Command::new(env!("CARGO_BIN_EXE_resque-cli"))
        .args(["work", "-q", "*"])
        .env("RESQUE_REDIS", "127.0.0.1:1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no jobs registered"), "{stderr}");
    assert!(stderr.contains("resque_cli::main()"), "{stderr}");
    assert!(stderr.contains("use my_jobs as _;"), "{stderr}");
}

#[test]
fn help_lists_the_work_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_resque-cli")).args(["work", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in
        ["--queues", "--interval", "--no-fork", "--redis", "--namespace", "--config", "[env: QUEUES=]"]
    {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

/// The admin commands need no linked job: the stock binary runs them.
#[test]
fn admin_commands_work_in_the_stock_binary() {
    let dir = std::env::temp_dir().join(format!("resque-cli-stock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redis = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server is installed");
    let addr = format!("127.0.0.1:{port}");
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_resque-cli")).arg("-r").arg(&addr).args(args).output().unwrap()
    };
    let mut ready = false;
    for _ in 0..500 {
        if cli(&["queues"]).status.success() {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let enqueue = cli(&["enqueue", "Archive", r#"[44,"masterbrew"]"#, "-q", "file_serve", "--new-queue"]);
    let queues = cli(&["queues", "--json"]);
    let _ = redis.kill();
    let _ = redis.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ready, "redis-server did not start");
    assert!(enqueue.status.success(), "{}", String::from_utf8_lossy(&enqueue.stderr));
    let queues: serde_json::Value = serde_json::from_slice(&queues.stdout).unwrap();
    assert_eq!(queues, serde_json::json!([{"name": "file_serve", "size": 1}]));
}

/// `resque-cli web` serves the monitoring app from the stock binary.
#[cfg(feature = "web")]
#[test]
fn web_serves_metrics_and_the_json_api() {
    use std::io::{Read, Write};
    let dir = std::env::temp_dir().join(format!("resque-cli-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (redis_port, web_port) = (free(), free());
    let mut redis = Command::new("redis-server")
        .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server is installed");
    let addr = format!("127.0.0.1:{redis_port}");
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_resque-cli"));
        cmd.arg("-r").arg(&addr).args(args);
        cmd
    };
    for _ in 0..500 {
        if cli(&["queues"]).output().unwrap().status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(cli(&["enqueue", "Archive", "[44]", "-q", "file_serve", "--new-queue"])
        .output()
        .unwrap()
        .status
        .success());
    let mut web = cli(&["web", "-p", &web_port.to_string(), "--auth", "ops:secret"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str, auth: bool| -> Option<String> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", web_port)).ok()?;
        // ops:secret in base64
        let header = if auth { "Authorization: Basic b3BzOnNlY3JldA==\r\n" } else { "" };
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{header}Connection: close\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        Some(response)
    };
    let mut metrics = None;
    for _ in 0..500 {
        metrics = get("/metrics", true);
        if metrics.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let denied = get("/api/queues", false);
    let queues = get("/api/queues", true);
    let _ = web.kill();
    let _ = web.wait();
    let _ = redis.kill();
    let _ = redis.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let metrics = metrics.expect("the web server answered");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("resque_queue_length{queue=\"file_serve\"} 1"), "{metrics}");
    assert!(denied.unwrap_or_default().starts_with("HTTP/1.1 401"));
    assert!(queues.unwrap_or_default().contains(r#"[{"name":"file_serve","size":1,"latency":null}]"#));
}
