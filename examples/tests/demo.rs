//! The quick-start demo and the async helper example, run as a new user
//! would, with no Redis at the configured address so that each starts its
//! own private redis-server.

use std::process::Command;

fn run(bin: &str) -> (bool, String) {
    let out = Command::new(bin)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RESQUE_REDIS", "127.0.0.1:1")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn demo_enqueues_works_and_reports() {
    let (ok, out) = run(env!("CARGO_BIN_EXE_demo"));
    assert!(ok, "{out}");
    assert!(out.contains("started a private redis-server"), "{out}");
    assert!(out.contains(r#"now holds {"class":"Archive","args":[44,"masterbrew"]}"#), "{out}");
    assert!(out.contains("archived repository 44 at masterbrew"), "{out}");
    assert_eq!(out.matches("warmed cache entry").count(), 3, "{out}");
    assert!(out.contains("Done: 5 jobs processed in all, 0 pending, 1 failed in all."), "{out}");
    assert!(out.contains("Failed: Hooks::Deliver on web_hooks:"), "{out}");
    assert!(out.contains("lrange resque-demo:failed 0 -1"), "{out}");
}

#[test]
fn demo_without_redis_says_how_to_install_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("RESQUE_REDIS", "127.0.0.1:1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("apt-get install redis-server"), "{stderr}");
}

#[test]
fn async_helper_runs_methods_in_the_background() {
    let (ok, out) = run(env!("CARGO_BIN_EXE_async_helper"));
    assert!(ok, "{out}");
    assert!(out.contains("re-indexed repository 7 (pushed to main)"), "{out}");
    assert!(out.contains("re-indexed repository 8 (pushed to main)"), "{out}");
}
