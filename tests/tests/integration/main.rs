//! Integration tests against a real redis-server per test, with the real
//! worker binary run as a child process.

mod admin;
mod ahead;
mod bytes;
mod chaos;
mod cli;
mod cli_tools;
mod client;
mod cluster;
mod delayed_admin;
mod deploy;
mod enqueue;
mod failure;
mod hooks;
mod lifecycle;
mod logs;
mod numbers;
mod orphans;
mod packaging;
mod pickup;
mod process;
mod prune;
mod retries_admin;
mod retry;
mod schedule_admin;
mod scheduler;
mod sentinel;
mod steps;
mod titles;
mod worker;

use std::process::Command;

use resque_tests::TestRedis;

/// The test worker binary with a clean environment pointing at `redis`.
pub fn worker(redis: &TestRedis) -> Command {
    resque_tests::command(env!("CARGO_BIN_EXE_test-worker"), redis)
}
