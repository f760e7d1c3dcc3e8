//! `enqueue`: push a job by class name and JSON args, as any producer would.
//!
//! In a binary that links jobs, the class must be one of them (else the
//! nearest linked class is suggested), the args are decoded as the worker
//! will decode them, and the queue defaults to the job's. In every binary a
//! queue that does not exist yet but is named almost as one that does is
//! refused unless `--new-queue` says so: `-q defualt` next to `default` is
//! a typo far more often than a new queue. A name like no known queue is
//! pushed to, as Ruby's `Resque.enqueue_to` does.

use resque::{Client, JobEntry, Registry};
use serde_json::Value;

use super::output::out;
use crate::args::EnqueueArgs;
use crate::CliError;

const ARGS_EXAMPLE: &str = r#"'[44,"masterbrew"]'"#;

/// How close (Jaro-Winkler, 0 to 1, case aside) a name must be to another
/// for "did you mean": clap's own threshold for flags and subcommands is 0.7;
/// a little stricter here, since class and queue names are short.
const SIMILAR: f64 = 0.8;

pub(super) fn enqueue(client: &Client, args: &EnqueueArgs) -> Result<(), CliError> {
    let class = args.class.trim();
    if class.is_empty() {
        return Err(CliError::Usage("enqueue needs a job class, e.g. Archive".into()));
    }
    let value = json_args(&args.args)?;
    let registry = Registry::linked()?;
    // Unchecked, a linked job still gives its queue.
    let job = if registry.is_empty() || args.unchecked {
        registry.get(class)
    } else {
        Some(linked_job(&registry, class)?)
    };
    if let (Some(job), false) = (job, args.unchecked) {
        check_args(job, &value)?;
    }
    let given = args.queue.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let queue = match (given, job) {
        (Some(queue), _) => queue,
        (None, Some(job)) => job.queue,
        (None, None) => {
            return Err(CliError::Usage(format!(
                "enqueue needs a queue: pass -q QUEUE ({}), e.g. resque-cli enqueue {class} {ARGS_EXAMPLE} \
                 -q file_serve",
                if registry.is_empty() {
                    "this binary links no job whose queue it could default to"
                } else {
                    "the job is not linked here, so it has no default queue"
                }
            )))
        }
    };
    if !args.new_queue {
        check_queue(client, &registry, queue)?;
    }
    client.enqueue_class(queue, class, &value)?;
    out(&format!("enqueued {class} {value} to queue {queue}\n"));
    Ok(())
}

/// The linked job `class` names, or an error suggesting the nearest one.
fn linked_job(registry: &Registry, class: &str) -> Result<&'static JobEntry, CliError> {
    if let Some(job) = registry.get(class) {
        return Ok(job);
    }
    let hint = match nearest(class, registry.classes()) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("the linked jobs are {}", listed(registry.classes())),
    };
    Err(CliError::Usage(format!(
        "no job named `{class}` is linked in this binary; {hint} (`jobs` lists them; pass --unchecked to \
         push it anyway, for workers that link it)"
    )))
}

/// Refuses args the worker would refuse: decoded as the job decodes them.
fn check_args(job: &JobEntry, args: &Value) -> Result<(), CliError> {
    let positional = args.as_array().cloned().unwrap_or_default();
    (job.check_args)(positional).map_err(|failure| {
        let signature = job.params.join(", ");
        CliError::Usage(format!(
            "nothing enqueued: {} (the job takes ({signature}); defined at {}; pass --unchecked to push it \
             anyway)",
            failure.error,
            job.location()
        ))
    })
}

/// Refuses a queue that neither exists nor is a linked job's when it is
/// named almost as one that is (a likely typo), naming that one.
fn check_queue(client: &Client, registry: &Registry, queue: &str) -> Result<(), CliError> {
    let mut known = client.queues()?;
    known.extend(registry.classes().filter_map(|c| registry.get(c)).map(|job| job.queue.to_string()));
    known.sort();
    known.dedup();
    if known.iter().any(|q| q == queue) {
        return Ok(());
    }
    let Some(near) = nearest(queue, known.iter().map(String::as_str)) else { return Ok(()) };
    let why = if registry.is_empty() {
        "no job was ever pushed to it"
    } else {
        "no job was ever pushed to it, and no linked job's queue is named so"
    };
    Err(CliError::Usage(format!(
        "nothing enqueued: there is no queue `{queue}` ({why}); did you mean `{near}`? To create `{queue}`, \
         pass --new-queue"
    )))
}

/// The candidate most like `name` (case aside), when one is like it enough.
fn nearest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_lowercase();
    candidates
        .map(|c| (strsim::jaro_winkler(&name, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= SIMILAR)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `a, b, c` for a message, with at most ten names.
fn listed<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut text: String = names.iter().take(10).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > 10 {
        text.push_str(&format!(" and {} more", names.len() - 10));
    }
    text
}

/// Job arguments given on the command line: a JSON array whose integers
/// all fit in 64 bits, or the usage error saying what is wrong.
pub(super) fn json_args(text: &str) -> Result<Value, CliError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        CliError::Usage(format!(
            "invalid JSON args {:?}: {e}; args must be a JSON array, e.g. {ARGS_EXAMPLE}",
            text
        ))
    })?;
    if !value.is_array() {
        let kind = match &value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Object(_) => "an object",
            Value::Array(_) => "an array",
        };
        return Err(CliError::Usage(format!(
            "args must be a JSON array, e.g. {ARGS_EXAMPLE}, not {kind} ({}); wrap a single argument \
             in [ ]",
            text.trim()
        )));
    }
    // Parsed, such an integer would become a rounded float: refuse it
    // rather than push a different number.
    if let Some(found) = resque::payload::unheld_integer_in_args(text) {
        return Err(CliError::Usage(format!(
            "argument {}: the integer {} is beyond 64 bits, which resque-cli cannot carry exactly \
             (nor can a Rust job receive it)",
            found.index + 1,
            found.literal
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_name_is_suggested_when_near_enough() {
        let classes = ["Archive", "Record", "SlowRecord", "Test::Fail"];
        assert_eq!(nearest("Archve", classes.into_iter()), Some("Archive"));
        assert_eq!(nearest("archive", classes.into_iter()), Some("Archive"));
        assert_eq!(nearest("slowrecod", classes.into_iter()), Some("SlowRecord"));
        assert_eq!(nearest("Zebra", classes.into_iter()), None);
        assert_eq!(nearest("defualt", ["default", "critical"].into_iter()), Some("default"));
        assert_eq!(nearest("x", std::iter::empty()), None);
    }

    #[test]
    fn long_lists_are_cut() {
        assert_eq!(listed(["a", "b"].into_iter()), "`a`, `b`");
        let many: Vec<String> = (0..12).map(|i| format!("q{i}")).collect();
        assert!(listed(many.iter().map(String::as_str)).ends_with("`q9` and 2 more"));
    }
}
