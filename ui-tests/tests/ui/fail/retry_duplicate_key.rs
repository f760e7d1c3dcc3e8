#[resque::job(queue = "q", retry(limit = 3, delay = "1s", limit = 5))]
fn deliver() {}

fn main() {
    deliver();
}
