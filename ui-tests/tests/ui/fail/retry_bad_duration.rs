#[resque::job(queue = "q", retry(delay = "30 s", expire_key_after = "1h30"))]
fn deliver() {}

fn main() {
    deliver();
}
