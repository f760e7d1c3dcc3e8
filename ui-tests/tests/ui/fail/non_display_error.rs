#[derive(Debug)]
struct NotDisplay;

#[resque::job(queue = "file_serve")]
fn archive(repo_id: u64) -> Result<(), NotDisplay> {
    let _ = repo_id;
    Err(NotDisplay)
}

fn main() {}
