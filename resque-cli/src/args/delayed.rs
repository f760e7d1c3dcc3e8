//! The `delayed` command's arguments: seconds with delayed jobs, and one
//! job to cancel.

use clap::{Args, Subcommand};

/// `delayed`'s subcommands.
#[derive(Debug, Args)]
pub struct DelayedArgs {
    /// What to do with the delayed jobs.
    #[command(subcommand)]
    pub command: DelayedCommand,
}

/// What `delayed` does. A second (`TS`) is a Unix second, or a time as
/// `delayed list` shows it (`2026-12-02 03:00:00 +0000`, or ISO 8601).
#[derive(Debug, Subcommand)]
pub enum DelayedCommand {
    /// List the seconds that have delayed jobs, earliest first, with how many.
    List(DelayedListArgs),
    /// Show the jobs due at one second.
    Show(DelayedShowArgs),
    /// Push every job due at one second to its queue now.
    QueueNow(SecondArg),
    /// Cancel the jobs due at one second (TS), or every delayed instance of
    /// one job (--class and --args, as `enqueue` names it).
    Cancel(DelayedCancelArgs),
    /// Remove every delayed job.
    Clear,
}

/// `delayed list`'s flags: a page, earliest first.
pub type DelayedListArgs = super::PageArgs;

/// `delayed show`'s arguments.
#[derive(Debug, Args)]
pub struct DelayedShowArgs {
    /// The second.
    #[arg(value_name = "TS", value_parser = unix_second, allow_negative_numbers = true)]
    pub at: i64,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One second with delayed jobs.
#[derive(Debug, Args)]
pub struct SecondArg {
    /// The second.
    #[arg(value_name = "TS", value_parser = unix_second, allow_negative_numbers = true)]
    pub at: i64,
}

/// `delayed cancel`'s arguments: a second, or one job.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["at", "class"]))]
pub struct DelayedCancelArgs {
    /// Cancel every job due at this second.
    #[arg(value_name = "TS", value_parser = unix_second, allow_negative_numbers = true)]
    pub at: Option<i64>,
    /// Cancel every delayed instance of a job of this class...
    #[arg(long, value_name = "CLASS", conflicts_with = "at", requires = "args")]
    pub class: Option<String>,
    /// ...with exactly these arguments (a JSON array, such as '[44,"masterbrew"]')...
    #[arg(long, value_name = "JSON_ARGS", allow_hyphen_values = true, requires = "class")]
    pub args: Option<String>,
    /// ...on this queue (default: the class's queue when the job is linked
    /// into this binary).
    #[arg(short = 'q', long, value_name = "QUEUE", requires = "class")]
    pub queue: Option<String>,
}

/// A second: a Unix second, or a time in a format Resque writes.
fn unix_second(text: &str) -> Result<i64, String> {
    if let Ok(at) = text.trim().parse::<i64>() {
        return Ok(at);
    }
    resque::payload::time::parse_any(text).map(|ts| ts.as_second()).ok_or_else(|| {
        format!(
            "{text:?} is not a second: give a Unix second (1764633600) or a time (2025-12-02 00:00:00 +0000)"
        )
    })
}
