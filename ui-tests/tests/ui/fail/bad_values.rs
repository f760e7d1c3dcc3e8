#[resque::job(queue = file_serve)]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

#[resque::job(queue = "", class = 3)]
fn warm(repo_id: u64) {
    let _ = repo_id;
}

#[resque::job(queue("file_serve"))]
fn send(repo_id: u64) {
    let _ = repo_id;
}

fn main() {}
