#[allow(non_snake_case)]
#[resque::job(queue = "file_serve")]
fn archive(CLASS: String) {
    let _ = CLASS;
}

#[allow(non_snake_case)]
#[resque::job(queue = "file_serve", timeout = "30s")]
fn warm(TIMEOUT: u64) {
    let _ = TIMEOUT;
}

fn main() {}
