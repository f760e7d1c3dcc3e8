#[resque::job(queue = "file_serve", class = "Archive", queue = "other")]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

fn main() {}
