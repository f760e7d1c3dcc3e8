#[resque::job(queue = "q", retry(backoff = ["1m", "10m"], delay = "30s"))]
fn deliver() {}

fn main() {
    deliver();
}
