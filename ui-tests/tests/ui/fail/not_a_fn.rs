#[resque::job(queue = "file_serve")]
struct Archive {
    repo_id: u64,
}

fn main() {}
