#[resque::job(queue = "file_serve")]
async fn archive(repo_id: u64) {
    let _ = repo_id;
}

fn main() {}
