//! A job that returns `Result<(), E>` with its own `Display` error fails
//! with that error's type name and message.
#![deny(missing_docs, warnings)]

use std::fmt;

#[derive(Debug)]
struct ArchiveError {
    repo_id: u64,
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "repository {} is gone", self.repo_id)
    }
}

#[resque::job(queue = "file_serve")]
fn archive(repo_id: u64) -> Result<(), ArchiveError> {
    if repo_id == 0 {
        Err(ArchiveError { repo_id })
    } else {
        Ok(())
    }
}

#[resque::job(queue = "file_serve")]
fn io_job(repo_id: u64) -> std::io::Result<()> {
    let _ = repo_id;
    Err(std::io::Error::other("disk full"))
}

#[resque::job(queue = "file_serve")]
fn unit_job(repo_id: u64) -> () {
    let _ = repo_id;
}

fn main() {
    let registry = resque::Registry::linked().unwrap();
    let perform = |class: &str| registry.get(class).unwrap().perform;

    assert_eq!(perform("Archive")(vec![1.into()]), Ok(()));
    let failure = perform("Archive")(vec![0.into()]).unwrap_err();
    assert!(failure.exception.ends_with("ArchiveError"), "{}", failure.exception);
    assert_eq!(failure.error, "repository 0 is gone");

    let failure = perform("IoJob")(vec![1.into()]).unwrap_err();
    assert_eq!(failure.error, "disk full");
    assert_eq!(perform("UnitJob")(vec![1.into()]), Ok(()));
}
