//! One parameter still serializes to an array: `[44]`, never `44`.
#![deny(missing_docs, warnings)]

use resque::__private::serde_json;

#[resque::job(queue = "file_serve")]
fn reindex(repo_id: u64) {
    let _ = repo_id;
}

fn main() {
    let args = reindex::Args { repo_id: 44 };
    assert_eq!(serde_json::to_string(&args).unwrap(), "[44]");
    let back: reindex::Args = serde_json::from_str("[45]").unwrap();
    assert_eq!(back.repo_id, 45);
    assert!(serde_json::from_str::<reindex::Args>("45").is_err());
}
