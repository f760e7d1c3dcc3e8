//! Resque's `examples/async_helper.rb` in Rust: call a method "later" and
//! have a worker run it in the background. `#[resque::job]` generates the
//! `async_<name>` helper (send_later style), so a model method can queue
//! its own background half in one line.
//!
//! `cargo run -p resque-examples --bin async_helper`

use std::process::ExitCode;
use std::time::Duration;

use resque::queues::QueueList;
use resque::{Registry, Worker, WorkerOptions};
use resque_examples::jobs::Repository;
use resque_examples::ExampleRedis;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("async_helper: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let redis = ExampleRedis::find_or_start("resque-demo")?;
    // async_* helpers and enqueue() use the default client.
    resque::set_default_client(redis.client.clone());

    for id in [7, 8] {
        Repository { id }.reindex_later("pushed to main").map_err(|e| e.to_string())?;
        println!("Repository {{ id: {id} }}.reindex_later(..) queued async_reindex_repository({id}, ..)");
    }

    let mut options = WorkerOptions::new(QueueList::parse("search").map_err(|e| e.to_string())?);
    options.interval = Duration::ZERO;
    let registry = Registry::linked().map_err(|e| e.to_string())?;
    Worker::new(redis.client.clone(), registry, options)
        .and_then(|mut w| w.work())
        .map_err(|e| e.to_string())?;
    println!("The worker ran both in the background.");
    Ok(())
}
