#[resque::job(queue = "file_serve")]
fn archive<T: ToString>(repo_id: T) {
    let _ = repo_id.to_string();
}

#[resque::job(queue = "file_serve")]
fn lifetime<'a>(branch: std::borrow::Cow<'a, str>) {
    let _ = branch;
}

#[resque::job(queue = "file_serve")]
fn constant<const N: usize>(ids: [u64; N]) {
    let _ = ids;
}

fn main() {}
