#[resque::job(queue = "file_serve", retries = 3)]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

fn main() {}
