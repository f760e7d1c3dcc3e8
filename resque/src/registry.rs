//! The jobs linked into this program, collected by `#[resque::job]` in a
//! `linkme` distributed slice, and looked up by class name.
//!
//! `linkme` only sees crates that are linked: a worker binary must use the
//! crate that defines its jobs (`use my_jobs as _;`), or the slice is empty.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::job::unheld_failure;
use crate::job_failure::JobFailure;
use crate::payload;

/// One job, as `#[resque::job]` registers it.
pub struct JobEntry {
    /// The class name payloads carry (`"Archive"`).
    pub class: &'static str,
    /// The default queue.
    pub queue: &'static str,
    /// The Rust function's name.
    pub function: &'static str,
    /// `module_path!()` where the job is defined.
    pub module_path: &'static str,
    /// `file!()` where the job is defined.
    pub file: &'static str,
    /// `line!()` where the job is defined.
    pub line: u32,
    /// The function's parameter names, in order, for errors that name an
    /// argument.
    pub params: &'static [&'static str],
    /// Decodes the positional args and calls the function.
    pub perform: fn(Vec<Value>) -> std::result::Result<(), JobFailure>,
    /// Decodes the positional args as [`JobEntry::perform`] does, without
    /// calling the function: whether args fit the job before they are
    /// pushed (`resque-cli enqueue` checks them so). The error names the
    /// argument, its position and the type its parameter expects.
    pub check_args: fn(Vec<Value>) -> std::result::Result<(), JobFailure>,
    /// The job's own hard time limit (`timeout = "30s"`), overriding the
    /// worker's `--job-timeout`.
    pub timeout: Option<std::time::Duration>,
    /// Its hooks and plugins.
    pub hooks: crate::hooks::JobHooks,
    /// Its recurring schedule (`cron = "..."`), if it declares one.
    pub schedule: Option<JobSchedule>,
    /// Its retry policy (`retry(...)`, or a plugin's), if it has one.
    pub retry: Option<crate::retry::RetryPolicy>,
}

/// A recurring schedule declared on a job with `#[resque::job(cron = "...",
/// args = (...))]`; the scheduler runs it as a static schedule named after
/// the job's class.
#[derive(Debug, Clone, Copy)]
pub struct JobSchedule {
    /// Five cron fields and an optional time zone, as written (checked at
    /// compile time).
    pub cron: &'static str,
    /// Encodes the arguments of a run, as the job's `args` JSON array.
    pub args: fn() -> std::result::Result<String, payload::EncodeError>,
}

impl JobEntry {
    /// Fails a job whose payload holds an integer beyond 64 bits (Ruby writes
    /// Integers of any size, `2**70`), naming the argument: no job parameter
    /// holds one (a `serde_json::Value` would hold a rounded float), so the job
    /// would see a different number.
    pub(crate) fn check_integers(&self, raw_payload: &str) -> Result<(), JobFailure> {
        match payload::unheld_integer(raw_payload) {
            None => Ok(()),
            Some(found) => Err(unheld_failure(self.class, self.params, &found)),
        }
    }

    /// `module::function (file:line)`, for messages.
    pub fn location(&self) -> String {
        format!("{}::{} ({}:{})", self.module_path, self.function, self.file, self.line)
    }
}

impl fmt::Debug for JobEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobEntry")
            .field("class", &self.class)
            .field("queue", &self.queue)
            .field("location", &self.location())
            .finish()
    }
}

/// The linked job registered under `class` (the first, if two share it).
pub(crate) fn linked(class: &str) -> Option<&'static JobEntry> {
    static BY_CLASS: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static JobEntry>> =
        std::sync::OnceLock::new();
    BY_CLASS
        .get_or_init(|| {
            let mut by_class = std::collections::HashMap::new();
            for entry in JOBS.iter() {
                by_class.entry(entry.class).or_insert(entry);
            }
            by_class
        })
        .get(class)
        .copied()
}

/// Every job entry linked into the program.
#[linkme::distributed_slice]
pub static JOBS: [JobEntry];

/// The linked jobs by class name, checked for duplicates.
///
/// ```
/// let registry = resque::Registry::linked().unwrap();
/// assert!(registry.get("NoSuchJob").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    by_class: BTreeMap<&'static str, &'static JobEntry>,
}

impl Registry {
    /// For a payload that did not parse: serde_json refuses a whole payload
    /// holding an integer too large even for a float (`10**400`), which Ruby
    /// reads; a job of a registered class fails as for any integer beyond 64
    /// bits, naming the argument.
    pub(crate) fn check_unparsed_integers(&self, raw_payload: &str) -> Option<JobFailure> {
        #[derive(serde::Deserialize)]
        struct Class {
            class: String,
        }
        let found = payload::unheld_integer(raw_payload)?;
        let class = serde_json::from_str::<Class>(raw_payload).ok()?.class;
        let entry = self.get(&class)?;
        Some(unheld_failure(entry.class, entry.params, &found))
    }

    /// The jobs in this program's `JOBS` slice.
    ///
    /// Fails when two jobs answer to one class name, naming both definitions.
    pub fn linked() -> Result<Self> {
        Self::from_entries(JOBS.iter())
    }

    /// A registry of the given entries, checked for duplicate class names.
    pub fn from_entries(entries: impl IntoIterator<Item = &'static JobEntry>) -> Result<Self> {
        let mut by_class: BTreeMap<&'static str, &'static JobEntry> = BTreeMap::new();
        let mut duplicates = Vec::new();
        for entry in entries {
            if let Some(first) = by_class.get(entry.class) {
                duplicates.push(format!(
                    "job class {:?} is defined twice: {} and {}",
                    entry.class,
                    first.location(),
                    entry.location()
                ));
            } else {
                by_class.insert(entry.class, entry);
            }
        }
        if duplicates.is_empty() {
            Ok(Registry { by_class })
        } else {
            duplicates.push("give one of each pair its own name with #[resque::job(class = \"...\")]".into());
            Err(Error::DuplicateJobs(duplicates.join("\n")))
        }
    }

    /// The job registered under `class`.
    pub fn get(&self, class: &str) -> Option<&'static JobEntry> {
        self.by_class.get(class).copied()
    }

    /// How many jobs are registered.
    pub fn len(&self) -> usize {
        self.by_class.len()
    }

    /// Whether no job is registered.
    pub fn is_empty(&self) -> bool {
        self.by_class.is_empty()
    }

    /// The registered class names, sorted.
    pub fn classes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_class.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: Vec<Value>) -> std::result::Result<(), JobFailure> {
        Ok(())
    }

    static A: JobEntry = JobEntry {
        class: "Archive",
        queue: "q",
        function: "archive",
        module_path: "app::jobs",
        file: "src/jobs.rs",
        line: 3,
        params: &[],
        perform: ok,
        check_args: ok,
        timeout: None,
        hooks: crate::hooks::JobHooks::NONE,
        schedule: None,
        retry: None,
    };
    static B: JobEntry = JobEntry {
        class: "Archive",
        queue: "q",
        function: "archive",
        module_path: "app::other",
        file: "src/other.rs",
        line: 9,
        params: &[],
        perform: ok,
        check_args: ok,
        timeout: None,
        hooks: crate::hooks::JobHooks::NONE,
        schedule: None,
        retry: None,
    };

    #[test]
    fn duplicate_classes_name_both_definitions() {
        let err = Registry::from_entries([&A, &B]).unwrap_err().to_string();
        assert!(err.contains("\"Archive\" is defined twice"), "{err}");
        assert!(err.contains("app::jobs::archive (src/jobs.rs:3)"), "{err}");
        assert!(err.contains("app::other::archive (src/other.rs:9)"), "{err}");
    }

    #[test]
    fn lookup_by_class() {
        let r = Registry::from_entries([&A]).unwrap();
        assert_eq!(r.get("Archive").map(|e| e.function), Some("archive"));
        assert_eq!(r.len(), 1);
        assert!(r.get("archive").is_none());
    }
}
