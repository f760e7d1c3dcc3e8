//! The admin commands: what resque-web shows and does, from the command line.
//!
//! Read commands print aligned tables, or JSON with `--json` (arrays and
//! objects with snake_case keys, every key always present). Errors come back
//! as [`CliError`], which `main` prints before exiting non-zero.

mod delayed;
mod enqueue;
mod failed;
mod generate;
mod info;
mod jobs;
mod output;
mod pause;
mod queues;
mod remove;
mod retries;
mod schedule;
mod workers;

use std::process::ExitCode;

pub(crate) use generate::{completions, man};
pub(crate) use jobs::jobs;

use crate::{client, Cli, CliError, Command};

/// Runs an admin command that reads or writes Redis (anything but `work`,
/// `scheduler`, `web` and those that need no server: `jobs`,
/// `completions`, `man`).
pub(crate) fn run(cli: &Cli, command: &Command) -> Result<ExitCode, CliError> {
    let client = client(cli)?;
    match command {
        Command::Queues(flag) => queues::queues(&client, flag.json)?,
        Command::Info(flag) => info::info(&client, flag.json)?,
        Command::Workers(flag) => workers::workers(&client, flag.json)?,
        Command::Failed(failed) => failed::failed(&client, &failed.command)?,
        Command::Delayed(delayed) => delayed::delayed(&client, &delayed.command)?,
        Command::Retries(retries) => retries::retries(&client, &retries.command)?,
        Command::Schedule(schedule) => schedule::schedule(&client, &schedule.command)?,
        Command::Enqueue(args) => enqueue::enqueue(&client, args)?,
        Command::RemoveQueue(args) => remove::remove_queue(&client, args)?,
        Command::RemoveWorker(args) => remove::remove_worker(&client, args)?,
        Command::Prune(args) => remove::prune(&client, args)?,
        Command::Pause => pause::pause(&client)?,
        Command::Resume => pause::resume(&client)?,
        Command::Work(_) | Command::Jobs | Command::Scheduler(_) | Command::Completions(_) | Command::Man => {
            return Err(not_admin())
        }
        #[cfg(feature = "web")]
        Command::Web(_) => return Err(not_admin()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `run` given a command `crate::run` handles itself.
fn not_admin() -> CliError {
    CliError::Usage("internal error: not an admin command".into())
}
