#[resque::job(queue = "file_serve")]
fn archive(repo_id: u64, branch: &str) {
    let _ = (repo_id, branch);
}

#[resque::job(queue = "file_serve")]
fn bytes(data: &[u8], names: Vec<&str>, path: &std::path::Path, ids: &mut Vec<u64>) {
    let _ = (data, names, path, ids);
}

fn main() {}
