#[resque::job(queue = "q", retry(limit = 3, jitter = 2.0))]
fn deliver() {}

fn main() {
    deliver();
}
