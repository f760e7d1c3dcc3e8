// With a bad attribute the function is still emitted, so calling it only
// reports the attribute's error, not "cannot find function `archive`".
#[resque::job(queue = 1)]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

fn main() {
    archive(44);
}
