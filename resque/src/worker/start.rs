//! What a worker says when it starts, at the level a quiet log shows (see
//! [`STATUS_TARGET`]): who it is, the queues it takes from, how it runs
//! jobs, its Redis (never the password) and the jobs it links; then a
//! warning for each thing it was asked that it will not do as asked.

use std::time::Duration;

use super::{Worker, STATUS_TARGET};
use crate::payload::escape_bytes;
use crate::queues::QueueList;
use crate::registry::Registry;

/// The most job classes the start-up line names; `jobs` lists them all.
const NAMED_JOBS: usize = 50;

impl Worker {
    /// Logs the start-up line and the start-up warnings.
    pub(super) fn announce(&self) {
        let queues = &self.options.queues;
        let mode = if self.options.fork_per_job { "fork" } else { "in-process" };
        let redis = self.client.address();
        let namespace = self.client.namespace();
        let jobs = job_names(&self.registry);
        let worker = self.id.as_str();
        if queues.is_dynamic() {
            // One read at start, to show what the wildcards match now.
            let now = match self.client.workable_queues() {
                Ok(known) => {
                    let names = queues.resolve_bytes(&known);
                    names.iter().map(|q| escape_bytes(q).into_owned()).collect::<Vec<_>>().join(",")
                }
                Err(e) => format!("(cannot list the queues: {e})"),
            };
            tracing::info!(
                target: STATUS_TARGET,
                %worker,
                %queues,
                resolved_now = %now,
                %mode,
                %redis,
                %namespace,
                %jobs,
                "worker started"
            );
        } else {
            tracing::info!(
                target: STATUS_TARGET,
                %worker,
                %queues,
                %mode,
                %redis,
                %namespace,
                %jobs,
                "worker started"
            );
        }
        for warning in start_warnings(&self.registry, queues, self.options.fork_per_job) {
            tracing::warn!(%worker, "{warning}");
        }
        if !self.options.fork_per_job && self.options.job_timeout.is_some() {
            tracing::warn!(%worker, "job timeouts need a forked child per job; --no-fork ignores them");
        }
    }
}

/// The linked classes, comma-separated, the first [`NAMED_JOBS`] of them.
fn job_names(registry: &Registry) -> String {
    let mut names: Vec<&str> = registry.classes().take(NAMED_JOBS).collect();
    let more = registry.len().saturating_sub(NAMED_JOBS);
    let more = (more > 0).then(|| format!(" and {more} more"));
    if names.is_empty() {
        names.push("none");
    }
    format!("{}{}", names.join(","), more.unwrap_or_default())
}

/// What a worker with these jobs and queues will not do as asked: it links
/// no job; no linked job's queue is among its queues; a job's own timeout
/// that a worker running jobs in its own process does not enforce.
fn start_warnings(registry: &Registry, queues: &QueueList, fork_per_job: bool) -> Vec<String> {
    if registry.is_empty() {
        return vec!["this worker links no jobs, so every job it takes fails as an unknown class: build it \
             from a binary that uses the crate defining your #[resque::job] functions"
            .to_string()];
    }
    let entries: Vec<_> = registry.classes().filter_map(|class| registry.get(class)).collect();
    let mut warnings = Vec::new();
    let mut used: Vec<String> = entries.iter().map(|e| e.queue.to_string()).collect();
    used.sort();
    used.dedup();
    let served = queues.resolve(&used);
    if !served.iter().any(|q| used.contains(q)) {
        let asked: Vec<&str> = queues.included().collect();
        warnings.push(format!(
            "no linked job uses queue(s) {}; linked jobs use {} (a job pushed to another queue by \
             class name still runs here)",
            asked.join(", "),
            used.join(", ")
        ));
    }
    if !fork_per_job {
        for entry in entries.iter().filter(|e| e.timeout.is_some()) {
            let timeout = entry.timeout.unwrap_or(Duration::ZERO);
            warnings.push(format!(
                "job {} has a timeout of {timeout:?}, which is not enforced: --no-fork runs jobs in \
                 the worker's own process, where nothing can stop one safely",
                entry.class
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job_failure::JobFailure;
    use crate::registry::JobEntry;

    fn ok(_: Vec<serde_json::Value>) -> Result<(), JobFailure> {
        Ok(())
    }

    const fn entry(class: &'static str, queue: &'static str, timeout: Option<Duration>) -> JobEntry {
        JobEntry {
            class,
            queue,
            function: "f",
            module_path: "app::jobs",
            file: "src/jobs.rs",
            line: 1,
            params: &[],
            perform: ok,
            check_args: ok,
            timeout,
            hooks: crate::hooks::JobHooks::NONE,
            schedule: None,
            retry: None,
        }
    }

    static MAIL: JobEntry = entry("Mail", "mail", None);
    static ARCHIVE: JobEntry = entry("Archive", "file_serve", Some(Duration::from_millis(1500)));

    fn registry() -> Registry {
        Registry::from_entries([&MAIL, &ARCHIVE]).unwrap()
    }

    fn warnings(queues: &str, fork: bool) -> Vec<String> {
        start_warnings(&registry(), &QueueList::parse(queues).unwrap(), fork)
    }

    #[test]
    fn queues_no_linked_job_uses_are_named_with_those_they_use() {
        assert_eq!(
            warnings("critical,low", true),
            ["no linked job uses queue(s) critical, low; linked jobs use file_serve, mail \
              (a job pushed to another queue by class name still runs here)"]
        );
        assert!(warnings("critical,mail", true).is_empty());
        assert!(warnings("*", true).is_empty());
        assert!(warnings("file_*", true).is_empty());
        assert_eq!(warnings("*,!mail,!file_*", true).len(), 1);
        assert!(warnings("low_*", true)[0].starts_with("no linked job uses queue(s) low_*;"));
    }

    #[test]
    fn in_process_workers_name_each_timeout_they_do_not_enforce() {
        assert_eq!(
            warnings("*", false),
            ["job Archive has a timeout of 1.5s, which is not enforced: --no-fork runs jobs in the \
              worker's own process, where nothing can stop one safely"]
        );
        assert!(warnings("*", true).is_empty());
    }

    #[test]
    fn a_worker_without_jobs_says_so_instead() {
        let none = Registry::from_entries([]).unwrap();
        let warnings = start_warnings(&none, &QueueList::parse("mail").unwrap(), false);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("this worker links no jobs"), "{warnings:?}");
        assert_eq!(job_names(&none), "none");
    }

    #[test]
    fn the_start_line_names_the_jobs() {
        assert_eq!(job_names(&registry()), "Archive,Mail");
    }
}
