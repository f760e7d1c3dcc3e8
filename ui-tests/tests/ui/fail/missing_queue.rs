#[resque::job]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

#[resque::job(class = "Archive2")]
fn archive2(repo_id: u64) {
    let _ = repo_id;
}

fn main() {}
