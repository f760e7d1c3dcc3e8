//! `jobs`: the job classes linked into this binary, one a line: class, queue
//! and definition, tab-separated.

use resque::Registry;

use super::output::out;
use crate::CliError;

/// Said when no job is linked: an empty table would look like a fault.
const NO_JOBS: &str = "no jobs are linked into this binary: the stock resque-cli runs none.\n\
    Build a worker binary in your application that uses the crate defining your \
    #[resque::job] functions and calls resque_cli::main() (see the README).\n";

/// `jobs`: class, queue and definition of each linked job.
pub(crate) fn jobs() -> Result<(), CliError> {
    let registry = Registry::linked()?;
    out(&listing(&registry));
    Ok(())
}

fn listing(registry: &Registry) -> String {
    if registry.is_empty() {
        return NO_JOBS.to_string();
    }
    registry
        .classes()
        .filter_map(|class| registry.get(class))
        .map(|entry| format!("{}\tqueue {}\t{}\n", entry.class, entry.queue, entry.location()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_linked_job_is_said_in_words() {
        let empty = Registry::from_entries([]).unwrap_or_else(|e| panic!("{e}"));
        let text = listing(&empty);
        assert!(text.starts_with("no jobs are linked into this binary"), "{text}");
        assert!(text.contains("README"), "{text}");
    }
}
