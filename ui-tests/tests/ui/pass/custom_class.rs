//! `class = "..."` names the job as the Ruby side knows it.
#![deny(missing_docs, warnings)]

#[resque::job(queue = "file_serve", class = "Admin::Archive")]
fn archive(repo_id: u64) {
    let _ = repo_id;
}

#[resque::job(class = "Reindex", queue = "search")]
fn rebuild_search_index() {}

#[resque::job(queue = "q")]
fn warm_cache() {}

#[resque::job(queue = "q")]
fn send_email2() {}

#[resque::job(queue = "q")]
fn r#type(r#type: String) {
    let _ = r#type;
}

// Never called: there is no Redis here.
#[allow(dead_code)]
fn enqueue_type() -> Result<(), resque::Error> {
    r#type::enqueue("t")?;
    async_type("t")
}

fn main() {
    assert_eq!(archive::CLASS, "Admin::Archive");
    assert_eq!(rebuild_search_index::CLASS, "Reindex");
    assert_eq!(rebuild_search_index::QUEUE, "search");
    assert_eq!(warm_cache::CLASS, "WarmCache");
    assert_eq!(send_email2::CLASS, "SendEmail2");
    assert_eq!(r#type::CLASS, "Type");
    let _ = enqueue_type;

    let registry = resque::Registry::linked().unwrap();
    let classes: Vec<_> = registry.classes().collect();
    assert_eq!(classes, ["Admin::Archive", "Reindex", "SendEmail2", "Type", "WarmCache"]);
    assert_eq!(registry.get("Type").unwrap().function, "type");
}
