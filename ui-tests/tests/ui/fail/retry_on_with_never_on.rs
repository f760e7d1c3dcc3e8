#[resque::job(queue = "q", retry(on = ["Net::ReadTimeout"], never_on = [std::fmt::Error]))]
fn deliver() {}

fn main() {
    deliver();
}
