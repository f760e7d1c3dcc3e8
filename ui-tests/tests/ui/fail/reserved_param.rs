#[allow(non_snake_case)]
#[resque::job(queue = "file_serve")]
fn archive(CLASS: String) {
    let _ = CLASS;
}

fn main() {}
