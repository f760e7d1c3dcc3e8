#[resque::job(queue = "q", retry(limit = "x"))]
fn deliver() {}

fn main() {
    deliver();
}
