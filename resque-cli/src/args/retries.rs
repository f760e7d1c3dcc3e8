//! The `retries` command's arguments: the retries waiting for their
//! second, and which of them to run now or cancel.

use clap::{Args, Subcommand};

/// `retries`' subcommands.
#[derive(Debug, Args)]
pub struct RetriesArgs {
    /// What to do with the waiting retries.
    #[command(subcommand)]
    pub command: RetriesCommand,
}

/// What `retries` does. A retry is one whose job failed and waits, as a
/// delayed job, to run again (resque-retry's keys, by a resque-rs worker or
/// by Ruby).
#[derive(Debug, Subcommand)]
pub enum RetriesCommand {
    /// List the waiting retries, earliest first: class, queue, attempt, when
    /// it runs next, the last error.
    List(RetriesListArgs),
    /// Push waiting retries to their queue now.
    Now(RetrySelector),
    /// Cancel waiting retries: the job does not run again, and the failure
    /// of its last run moves to the failed list.
    Cancel(RetrySelector),
}

/// `retries list`'s flags: a page, earliest first.
pub type RetriesListArgs = super::PageArgs;

/// Which waiting retries: one (its index or id, as `retries list` shows),
/// every one of a class, or all.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["retry", "class", "all"]))]
pub struct RetrySelector {
    /// The retry's id (12 hex digits: that retry, wherever it is now) or its
    /// index in `retries list` (from 0, earliest first: whatever is there now).
    #[arg(value_name = "ID|INDEX")]
    pub retry: Option<String>,
    /// Every waiting retry of a job of this class.
    #[arg(long, value_name = "CLASS", conflicts_with_all = ["retry", "all"])]
    pub class: Option<String>,
    /// Every waiting retry.
    #[arg(long, conflicts_with_all = ["retry", "class"])]
    pub all: bool,
}
