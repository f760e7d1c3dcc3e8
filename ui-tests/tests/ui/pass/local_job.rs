//! A job defined inside a function body, as in a doctest without `fn main`.
#![deny(missing_docs, warnings)]

fn main() {
    #[resque::job(queue = "file_serve")]
    fn archive(repo_id: u64, branch: String) -> Result<(), std::fmt::Error> {
        let _ = (repo_id, branch);
        Ok(())
    }

    assert_eq!(archive::CLASS, "Archive");
    assert_eq!(archive::QUEUE, "file_serve");
    let _ = |client: &resque::Client| archive::enqueue_to(client, 44, "masterbrew");
    let _ = || async_archive(44, "masterbrew");
    let registry = resque::Registry::linked().unwrap();
    let entry = registry.get("Archive").unwrap();
    assert_eq!((entry.perform)(vec![44.into(), "masterbrew".into()]), Ok(()));
}
