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
