#[resque::job(queue = "q", retry(backoff = []))]
fn deliver() {}

fn main() {
    deliver();
}
