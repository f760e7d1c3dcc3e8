// Every problem is reported at once, each on its own token.
#[resque::job(queue = "", colour = "red")]
async fn archive<T>(repo_id: T, branch: &str, (a, b): (u8, u8)) -> u32 {
    let _ = (repo_id, branch, a, b);
    0
}

fn main() {}
