//! A worker binary that defines a second job under a class the test jobs
//! already use, to show the start-up check.

use resque_tests as _;

/// Answers to "Archive" too.
#[resque::job(queue = "file_serve", class = "Archive")]
pub fn another_archive(repo_id: u64) {
    let _ = repo_id;
}

fn main() -> std::process::ExitCode {
    resque_cli::main()
}
