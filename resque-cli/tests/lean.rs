//! A worker binary built without the `web` feature links no web stack,
//! and the stock binary (default features) does.
#![allow(clippy::expect_used)] // a test helper outside a #[test] fn

use std::collections::BTreeSet;
use std::process::Command;

/// The crates `resque-cli` links (normal dependencies), by name.
fn linked(default_features: bool) -> BTreeSet<String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["tree", "-p", "resque-cli", "-e", "normal", "--prefix", "none", "--offline"]);
    if !default_features {
        cmd.arg("--no-default-features");
    }
    let out = cmd.current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

const WEB_STACK: [&str; 4] = ["axum", "tokio", "hyper", "maud"];

#[test]
fn without_the_web_feature_no_web_stack_is_linked() {
    let lean = linked(false);
    assert!(lean.contains("resque"), "{lean:?}");
    let web: Vec<&String> = lean.iter().filter(|c| WEB_STACK.iter().any(|w| c.starts_with(w))).collect();
    assert!(web.is_empty(), "linked without the web feature: {web:?}");
    assert!(!lean.contains("resque-web"));

    let stock = linked(true);
    for name in ["resque-web", "axum", "tokio", "maud"] {
        assert!(stock.contains(name), "the stock build links {name}: {stock:?}");
    }
    assert!(stock.len() > lean.len());
}
