#[resque::job(queue = "file_serve")]
fn archive((repo_id, attempt): (u64, u8), _: String, ref branch: String) {
    let _ = (repo_id, attempt, branch);
}

fn main() {}
