struct Repo {
    id: u64,
}

#[resque::job(queue = "file_serve")]
fn archive(repos: Vec<Repo>, branch: String) {
    let _ = (repos.len(), branch);
}

#[derive(Debug)]
struct NotDisplay;

#[resque::job(queue = "file_serve")]
fn warm(repo_id: u64) -> std::result::Result<(), NotDisplay> {
    let _ = repo_id;
    Err(NotDisplay)
}

fn main() {}
