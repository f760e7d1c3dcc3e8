struct Repo {
    id: u64,
}

#[resque::job(queue = "file_serve")]
fn archive(repo: Repo, branch: String) {
    let _ = (repo.id, branch);
}

fn main() {}
