#[resque::job(queue = "q", retry(limit = -1, delay = "30s"))]
fn deliver() {}

fn main() {
    deliver();
}
