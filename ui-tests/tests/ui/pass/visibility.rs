//! The module and `async_` helper take the function's visibility.
#![deny(missing_docs, warnings)]

mod jobs {
    pub mod files {
        /// Public, used from outside `jobs`.
        #[resque::job(queue = "file_serve")]
        pub fn archive(repo_id: u64) {
            let _ = repo_id;
        }

        /// Visible in the crate.
        #[resque::job(queue = "file_serve")]
        pub(crate) fn compress(repo_id: u64) {
            let _ = repo_id;
        }

        /// Visible in `jobs`.
        #[resque::job(queue = "file_serve")]
        pub(super) fn prune(repo_id: u64) {
            let _ = repo_id;
        }

        // Private: only this module, and the registry, see it.
        #[resque::job(queue = "file_serve")]
        fn secret(repo_id: u64) {
            let _ = repo_id;
        }

        pub(crate) fn secret_class() -> &'static str {
            let _ = async_secret;
            secret::CLASS
        }
    }

    pub(crate) fn prune_class() -> &'static str {
        let _ = files::async_prune;
        files::prune::CLASS
    }
}

/// A job in the crate root of a library would be `pub mod` in its docs.
#[resque::job(queue = "top")]
pub fn top_level() {}

fn main() {
    assert_eq!(jobs::files::archive::CLASS, "Archive");
    let _ = jobs::files::archive::enqueue;
    let _ = jobs::files::async_archive;
    assert_eq!(jobs::files::compress::QUEUE, "file_serve");
    let _ = jobs::files::async_compress;
    assert_eq!(jobs::prune_class(), "Prune");
    assert_eq!(jobs::files::secret_class(), "Secret");
    assert_eq!(top_level::CLASS, "TopLevel");

    let registry = resque::Registry::linked().unwrap();
    let secret = registry.get("Secret").unwrap();
    assert!(secret.module_path.ends_with("::jobs::files"), "{}", secret.module_path);
    assert_eq!(registry.len(), 5);
}
