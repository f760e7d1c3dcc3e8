//! Enqueues the example job with the default client, which reads
//! the environment (RESQUE_REDIS, REDIS_URL, RESQUE_NAMESPACE).

use resque_tests::jobs::archive;

fn main() -> std::process::ExitCode {
    match archive::enqueue(44, "masterbrew") {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("enqueue failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
