//! `pause` and `resume`: every worker, Ruby's included, stops or goes on
//! taking jobs.

use resque::Client;

use super::output::out;
use crate::CliError;

/// `pause`: sets `pause-all-workers`, then says what it is now.
pub(super) fn pause(client: &Client) -> Result<(), CliError> {
    client.pause_all_workers()?;
    print_paused(client)
}

/// `resume`: deletes `pause-all-workers`, then says what it is now.
pub(super) fn resume(client: &Client) -> Result<(), CliError> {
    client.resume_all_workers()?;
    print_paused(client)
}

fn print_paused(client: &Client) -> Result<(), CliError> {
    out(if client.all_workers_paused()? {
        "workers are paused (pause-all-workers is true): they take no new jobs\n"
    } else {
        "workers are not paused: they take jobs\n"
    });
    Ok(())
}
