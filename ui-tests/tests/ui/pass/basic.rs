//! Every generated item, used as the README shows it.
#![deny(missing_docs, warnings)]

use resque::Job as _;

/// Archives a branch.
#[resque::job(queue = "file_serve")]
fn archive(repo_id: u64, branch: String) -> Result<(), std::io::Error> {
    let _ = (repo_id, branch);
    Ok(())
}

// Never called: there is no Redis here. It only has to type-check, with a
// `&str` for the `String` parameter and an integer literal for the `u64`.
#[allow(dead_code)]
fn enqueue_some(client: &resque::Client) -> Result<(), resque::Error> {
    archive::enqueue(44, "masterbrew")?;
    archive::enqueue(44, String::from("masterbrew"))?;
    archive::enqueue_to(client, 44, "masterbrew")?;
    async_archive(44, "masterbrew")?;
    client.enqueue(&archive::Args { repo_id: 44, branch: "masterbrew".into() })
}

fn main() {
    assert_eq!(archive::CLASS, "Archive");
    assert_eq!(archive::QUEUE, "file_serve");
    assert_eq!(archive::TIMEOUT, None);
    assert_eq!(archive::Args::CLASS, "Archive");
    assert_eq!(archive::Args::QUEUE, "file_serve");

    let args = archive::Args { repo_id: 44, branch: "masterbrew".to_owned() };
    let json = resque::__private::serde_json::to_string(&args).unwrap();
    assert_eq!(json, r#"[44,"masterbrew"]"#);

    let back: archive::Args = resque::__private::serde_json::from_str(&json).unwrap();
    assert_eq!((back.repo_id, back.branch.as_str()), (44, "masterbrew"));

    // Still an ordinary function.
    archive(44, "masterbrew".to_owned()).unwrap();

    let registry = resque::Registry::linked().unwrap();
    let entry = registry.get("Archive").unwrap();
    assert_eq!(entry.queue, "file_serve");
    assert_eq!(entry.function, "archive");
    assert_eq!(entry.line, 8);
    assert_eq!(entry.timeout, None);
    assert!(entry.file.ends_with("basic.rs"), "{}", entry.file);
    let perform = entry.perform;
    assert_eq!(perform(vec![44.into(), "masterbrew".into()]), Ok(()));

    let _ = enqueue_some;
}
