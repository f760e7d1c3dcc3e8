#[resque::job(queue = "file_serve")]
fn archive(repo_id: u64) -> u32 {
    repo_id as u32
}

#[resque::job(queue = "file_serve")]
fn count(repo_id: u64) -> Result<u32, std::io::Error> {
    Ok(repo_id as u32)
}

fn main() {}
