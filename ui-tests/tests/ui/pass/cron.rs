//! A recurring schedule declared on a job: the cron fields checked at
//! compile time, the arguments typed as the parameters, registered with the
//! job for the scheduler.
#![deny(missing_docs, warnings)]

#[resque::job(queue = "reports", cron = "0 3 * * *")]
fn nightly() {}

#[resque::job(queue = "file_serve", cron = "*/15 9-17 * * 1-5 Europe/Berlin", args = (44, "masterbrew"))]
fn archive(repo_id: u64, branch: String) {
    let _ = (repo_id, branch);
}

#[resque::job(queue = "q", cron = "30 4 1 * *", args = ("one",))]
fn one(name: String) {
    let _ = name;
}

fn main() {
    let registry = resque::Registry::linked().unwrap();
    let nightly = registry.get("Nightly").unwrap().schedule.unwrap();
    assert_eq!(nightly.cron, "0 3 * * *");
    assert_eq!((nightly.args)().unwrap(), "[]");
    let archive = registry.get("Archive").unwrap().schedule.unwrap();
    assert_eq!(archive.cron, "*/15 9-17 * * 1-5 Europe/Berlin");
    assert_eq!((archive.args)().unwrap(), r#"[44,"masterbrew"]"#);
    assert_eq!((registry.get("One").unwrap().schedule.unwrap().args)().unwrap(), r#"["one"]"#);
}
