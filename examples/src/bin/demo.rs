//! The quick-start demo: enqueue a few jobs, run a forking worker until the
//! queues are empty, and show what Redis holds afterwards.
//!
//! `cargo run -p resque-examples --bin demo`

use std::process::ExitCode;
use std::time::Duration;

use resque::queues::QueueList;
use resque::{Registry, Worker, WorkerOptions};
use resque_examples::jobs::{archive, deliver_hook, warm_cache};
use resque_examples::ExampleRedis;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let redis = ExampleRedis::find_or_start("resque-demo")?;
    let client = &redis.client;
    let ns = client.namespace().to_string();
    for q in ["file_serve", "warm_cache", "web_hooks"] {
        client.remove_queue(q).map_err(|e| e.to_string())?;
    }
    let failed_before = client.failed_count().map_err(|e| e.to_string())?;

    println!("\nEnqueueing 5 jobs:");
    archive::enqueue_to(client, 44, "masterbrew").map_err(|e| e.to_string())?;
    println!("  archive::enqueue_to(&client, 44, \"masterbrew\")");
    for key in ["home", "pricing", "docs"] {
        warm_cache::enqueue_to(client, key).map_err(|e| e.to_string())?;
        println!("  warm_cache::enqueue_to(&client, {key:?})");
    }
    deliver_hook::enqueue_to(client, "https://hooks.example/down", 1).map_err(|e| e.to_string())?;
    println!("  deliver_hook::enqueue_to(&client, \"https://hooks.example/down\", 1)   <- will fail");
    let payload = client.peek("file_serve", 0, 1).map_err(|e| e.to_string())?;
    if let Some(p) = payload.first() {
        println!("\n{ns}:queue:file_serve now holds {p}, exactly as Ruby Resque writes it.");
    }

    println!("\nRunning a worker on file_serve,warm_cache,web_hooks (one forked child per job) until the queues are empty:");
    let queues = QueueList::parse("file_serve,warm_cache,web_hooks").map_err(|e| e.to_string())?;
    let mut options = WorkerOptions::new(queues);
    options.interval = Duration::ZERO;
    let registry = Registry::linked().map_err(|e| e.to_string())?;
    let mut worker = Worker::new(client.clone(), registry, options).map_err(|e| e.to_string())?;
    worker.work().map_err(|e| e.to_string())?;

    let info = client.info().map_err(|e| e.to_string())?;
    let failed_now = client.failed_count().map_err(|e| e.to_string())?;
    println!(
        "\nDone: {} jobs processed in all, {} pending, {} failed in all.",
        info.processed, info.pending, info.failed
    );
    let new_failures = client
        .failures(failed_before as usize, (failed_now - failed_before) as usize)
        .map_err(|e| e.to_string())?;
    for f in &new_failures {
        println!(
            "Failed: {} on {}: {}: {}",
            f.payload["class"].as_str().unwrap_or("?"),
            f.queue.as_deref().unwrap_or("?"),
            f.exception.as_deref().unwrap_or("?"),
            f.error.as_deref().unwrap_or("?")
        );
    }
    let cli = redis.redis_cli();
    println!("\nWhere to look in Redis:");
    println!("  {cli} lrange {ns}:failed 0 -1        # failure entries, as resque-web reads them");
    println!("  {cli} mget {ns}:stat:processed {ns}:stat:failed");
    println!("  {cli} smembers {ns}:queues");
    if redis.is_private() {
        println!("(The private server stops now; point RESQUE_REDIS at your own Redis to keep the data.)");
    } else {
        println!("\nOr in the browser (resque-web's pages), then open http://127.0.0.1:5678:");
        println!("  cargo run -p resque-cli -- web -r {} -N {ns}", client.address());
    }
    Ok(())
}
