//! The generated code under this workspace's lints and clippy (`missing_docs`,
//! `unused_qualifications`, `-D warnings`), and what it does at run time.
#![deny(warnings, missing_docs, unused_qualifications, unreachable_pub, clippy::all)]
#![allow(clippy::unwrap_used)]

use resque::__private::serde_json::{self, json, Value};
use resque::Job as _;

/// Jobs as a library would define them.
pub mod jobs {
    use std::fmt;

    /// Why archiving failed.
    #[derive(Debug)]
    pub struct ArchiveError(pub u64);

    impl fmt::Display for ArchiveError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "repository {} is gone", self.0)
        }
    }

    /// Archives a branch.
    #[resque::job(queue = "file_serve")]
    pub fn archive(repo_id: u64, branch: String) -> Result<(), ArchiveError> {
        if branch.is_empty() {
            return Err(ArchiveError(repo_id));
        }
        Ok(())
    }

    /// Many arguments of many types.
    #[resque::job(queue = "misc", class = "Admin::Misc", timeout = "1h30m")]
    // The qualified `String` gets `impl Into<String>` in `enqueue` too.
    #[allow(clippy::too_many_arguments, unused_qualifications)]
    pub(crate) fn misc(
        a: Vec<u8>,
        b: Option<String>,
        c: std::string::String,
        d: (u8, i64),
        e: f64,
        f: bool,
        g: char,
        client: std::collections::BTreeMap<String, u32>,
    ) {
        let _unused = (a, b, c, d, e, f, g, client);
    }

    #[resque::job(queue = "q")]
    fn private_job() {}

    /// The private job's class, for the test.
    pub fn private_class() -> &'static str {
        private_job::CLASS
    }

    /// Hooks a job names.
    pub mod hooks {
        use resque::hooks::{HookStop, JobContext, Perform, Plugin, WorkerContext};
        use resque::JobFailure;

        /// Lets every job through.
        pub fn allow(job: &JobContext<'_>) -> bool {
            !job.class.is_empty()
        }

        /// Never stops a job.
        pub fn check(_job: &JobContext<'_>) -> Result<(), HookStop> {
            Ok(())
        }

        /// Runs the job.
        pub fn around(_job: &JobContext<'_>, perform: Perform<'_>) -> Result<(), JobFailure> {
            perform()
        }

        /// A plugin with no hooks of its own.
        #[derive(Debug)]
        pub struct Quiet;
        impl Plugin for Quiet {}

        /// A plugin with one hook.
        #[derive(Debug)]
        pub struct Counting;
        impl Plugin for Counting {
            fn after_perform(job: &JobContext<'_>) {
                let _ = job.args.len();
            }
        }

        /// A worker hook.
        #[resque::hook(after_fork)]
        pub fn reconnect(ctx: &WorkerContext<'_>) {
            let _ = ctx.worker_id;
        }
    }

    /// A job with hooks and plugins.
    #[resque::job(
        queue = "q",
        before_enqueue = hooks::allow,
        before_perform = hooks::check,
        around_perform = hooks::around,
        plugins(hooks::Quiet, hooks::Counting)
    )]
    pub fn hooked() {}

    /// A job with one hook.
    #[resque::job(queue = "q", before_dequeue = hooks::allow)]
    pub fn one_hook() {}

    /// A job compiled out: no module, no registration.
    #[resque::job(queue = "q")]
    #[cfg(any())]
    pub fn compiled_out(x: u8) {}
}

#[test]
fn args_are_a_json_array_in_parameter_order() {
    let args = jobs::archive::Args { repo_id: 44, branch: "masterbrew".into() };
    assert_eq!(serde_json::to_value(&args).unwrap(), json!([44, "masterbrew"]));
    assert_eq!(jobs::archive::Args::CLASS, "Archive");
    assert_eq!(jobs::archive::Args::QUEUE, "file_serve");

    let misc = jobs::misc::Args {
        a: vec![1],
        b: None,
        c: "c".into(),
        d: (1, -2),
        e: 0.5,
        f: true,
        g: 'g',
        client: [("k".to_owned(), 1)].into(),
    };
    let value = serde_json::to_value(&misc).unwrap();
    assert_eq!(value, json!([[1], null, "c", [1, -2], 0.5, true, "g", {"k": 1}]));
    let back: jobs::misc::Args = serde_json::from_value(value).unwrap();
    assert_eq!((back.c.as_str(), back.d, back.g), ("c", (1, -2), 'g'));
}

#[test]
fn arguments_of_the_wrong_length_say_what_was_expected() {
    let error = |v: Value| serde_json::from_value::<jobs::archive::Args>(v).err().unwrap().to_string();
    assert_eq!(error(json!([44])), "invalid length 1, expected 2 arguments");
    assert_eq!(error(json!([44, "a", "b"])), "invalid length 3, expected 2 arguments");
    assert!(error(json!({"repo_id": 44})).contains("the arguments of job Archive"));
}

#[test]
fn the_registry_runs_the_function() {
    let registry = resque::Registry::linked().unwrap();
    let classes: Vec<_> = registry.classes().collect();
    assert_eq!(classes, ["Admin::Misc", "Archive", "Hooked", "OneHook", "PrivateJob"]);
    assert_eq!(jobs::private_class(), "PrivateJob");

    let archive = registry.get("Archive").unwrap();
    assert_eq!(archive.function, "archive");
    assert_eq!(archive.module_path, "generated::jobs");
    assert!(archive.file.ends_with("generated.rs"), "{}", archive.file);
    assert_eq!(archive.line, 25);
    assert_eq!(archive.timeout, None);
    assert_eq!(archive.timeout, jobs::archive::TIMEOUT);

    let misc = registry.get("Admin::Misc").unwrap();
    assert_eq!(misc.timeout, Some(std::time::Duration::from_secs(90 * 60)));
    assert_eq!(misc.timeout, jobs::misc::TIMEOUT);
    assert_eq!((archive.perform)(vec![json!(44), json!("masterbrew")]), Ok(()));

    let failure = (archive.perform)(vec![json!(44), json!("")]).unwrap_err();
    assert!(failure.exception.ends_with("ArchiveError"), "{}", failure.exception);
    assert_eq!(failure.error, "repository 44 is gone");

    let failure = (archive.perform)(vec![json!("44")]).unwrap_err();
    assert_eq!(failure.exception, "ArgumentError");
    assert!(failure.error.starts_with("arguments do not fit job Archive: "), "{}", failure.error);
}

#[test]
fn hooks_are_combined_and_registered() {
    use resque::hooks::JobContext;

    let registry = resque::Registry::linked().unwrap();
    assert!(!registry.get("Archive").unwrap().hooks.any);
    let hooked = registry.get("Hooked").unwrap();
    assert!(hooked.hooks.any);
    let job = JobContext { class: "Hooked", queue: "q", args: &[] };
    assert!((hooked.hooks.before_enqueue)(&job));
    assert_eq!((hooked.hooks.before_perform)(&job), Ok(()));
    assert_eq!((hooked.hooks.around_perform)(&job, &mut || Ok(())), Ok(()));
    assert!(registry.get("OneHook").unwrap().hooks.any);

    let worker_hooks: Vec<_> = resque::__private::WORKER_HOOKS.iter().map(|entry| entry.name).collect();
    assert_eq!(worker_hooks, ["generated::jobs::hooks::reconnect"]);
}

// Never called (there is no Redis here): `enqueue` takes `impl Into<String>`
// for `String` parameters and the exact type for the others.
#[allow(dead_code)]
fn enqueue_type_checks(client: &resque::Client) -> Result<(), resque::Error> {
    jobs::archive::enqueue(44, "masterbrew")?;
    jobs::archive::enqueue_to(client, 44, String::from("masterbrew"))?;
    jobs::async_archive(44, "masterbrew")?;
    jobs::misc::enqueue(vec![], None, "c", (1, 2), 1.0, true, 'c', Default::default())
}
