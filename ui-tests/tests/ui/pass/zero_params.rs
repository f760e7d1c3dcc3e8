//! No parameters: the arguments are `[]`.
#![deny(missing_docs, warnings)]

use resque::__private::serde_json;

#[resque::job(queue = "maintenance")]
fn vacuum() {}

fn main() {
    assert_eq!(serde_json::to_string(&vacuum::Args {}).unwrap(), "[]");
    let vacuum::Args {} = serde_json::from_str("[]").unwrap();
    let error = serde_json::from_value::<vacuum::Args>(serde_json::json!([1])).err().unwrap();
    assert_eq!(error.to_string(), "invalid length 1, expected no arguments");
    assert_eq!(vacuum::CLASS, "Vacuum");
    let _ = vacuum::enqueue;
    let _ = async_vacuum;
}
