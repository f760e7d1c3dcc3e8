//! The `schedule` command's arguments: recurring schedules, static and
//! dynamic.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `schedule`'s subcommands.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// What to do with the schedules.
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

/// What `schedule` does. Static schedules come from `--schedule FILE` and
/// from the jobs linked into this binary; dynamic ones from Redis.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// List every schedule: class, queue, args, cron or every, next and
    /// last run, dynamic or static, and which scheduler leads.
    List(ScheduleListArgs),
    /// Enqueue a schedule's job once, now (its next run stays as it was).
    EnqueueNow(ScheduleNameArg),
    /// Set a dynamic schedule from its JSON config (`cron` or `every`,
    /// `class`, `queue`, `args`, `description`), as Ruby's
    /// `Resque.set_schedule`; the leading scheduler picks it up.
    Set(ScheduleSetArgs),
    /// Remove a dynamic schedule.
    Remove(ScheduleNameArg),
}

/// `schedule list`'s flags.
#[derive(Debug, Args)]
pub struct ScheduleListArgs {
    /// A schedule YAML whose static schedules to list too.
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One schedule, by name.
#[derive(Debug, Args)]
pub struct ScheduleNameArg {
    /// The schedule's name.
    pub name: String,
    /// A schedule YAML to find a static schedule in.
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,
}

/// `schedule set`'s arguments.
#[derive(Debug, Args)]
pub struct ScheduleSetArgs {
    /// The schedule's name.
    pub name: String,
    /// Its config, a JSON object such as
    /// '{"every":"30s","class":"Archive","queue":"file_serve","args":[44]}'.
    #[arg(value_name = "JSON")]
    pub config_json: String,
}
