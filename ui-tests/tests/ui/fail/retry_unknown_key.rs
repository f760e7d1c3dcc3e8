#[resque::job(queue = "q", retry(limit = 3, delays = "30s"))]
fn deliver() {}

fn main() {
    deliver();
}
