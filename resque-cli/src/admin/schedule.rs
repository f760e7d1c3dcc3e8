//! `schedule`: list recurring schedules (static and dynamic, with their
//! next and last runs and the leading scheduler), enqueue one now, set or
//! remove a dynamic one (resque-scheduler's `persistent_schedules`, Ruby's
//! resque-web Schedule tab).

use std::path::Path;

use resque::scheduler::{self, ScheduleEntry, ScheduleListing};
use resque::Client;
use serde_json::Value;

use super::output::{one_line, or_dash, out, out_json, stored_time, table, time};
use crate::args::{ScheduleCommand, ScheduleListArgs, ScheduleNameArg, ScheduleSetArgs};
use crate::CliError;

pub(super) fn schedule(client: &Client, command: &ScheduleCommand) -> Result<(), CliError> {
    match command {
        ScheduleCommand::List(args) => list(client, args),
        ScheduleCommand::EnqueueNow(arg) => enqueue_now(client, arg),
        ScheduleCommand::Set(args) => set(client, args),
        ScheduleCommand::Remove(arg) => {
            if !client.remove_schedule(&arg.name)? {
                return Err(CliError::Usage(format!(
                    "no dynamic schedule named {:?} (static ones live in the schedule file or on the job)",
                    arg.name
                )));
            }
            out(&format!("removed the dynamic schedule {}\n", arg.name));
            Ok(())
        }
    }
}

/// The static schedules this command can know: the file's and the linked jobs'.
fn statics(file: Option<&Path>) -> Result<Vec<ScheduleEntry>, CliError> {
    let file = file.map(ScheduleEntry::load_file).transpose()?.unwrap_or_default();
    Ok(scheduler::static_schedules(file)?)
}

fn list(client: &Client, args: &ScheduleListArgs) -> Result<(), CliError> {
    let listing = scheduler::listing(client, &statics(args.schedule.as_deref())?)?;
    if args.json {
        return out_json(&listing);
    }
    let ScheduleListing { leader, schedules } = listing;
    let mut text = match &leader {
        Some(who) => format!("scheduler leading: {who}\n"),
        None => "no scheduler leads (none holds the master lock)\n".to_string(),
    };
    if schedules.is_empty() {
        text.push_str("no schedules\n");
        out(&text);
        return Ok(());
    }
    let cells: Vec<Vec<String>> = schedules
        .iter()
        .map(|s| {
            vec![
                s.entry.name.clone(),
                s.entry.class.clone(),
                or_dash(s.queue().as_deref()),
                one_line(&Value::from(s.entry.args.clone()).to_string(), 40),
                s.entry.timing.to_string(),
                s.next_run.map_or_else(|| "-".to_string(), time),
                stored_time(s.last_run.as_deref()),
                if s.dynamic { "dynamic" } else { "static" }.to_string(),
            ]
        })
        .collect();
    text.push_str(&table(
        &["name", "class", "queue", "args", "when", "next run", "last run", "kind"],
        &cells,
    ));
    out(&text);
    Ok(())
}

fn enqueue_now(client: &Client, arg: &ScheduleNameArg) -> Result<(), CliError> {
    let schedules = scheduler::schedules(client, &statics(arg.schedule.as_deref())?)?;
    let Some(found) = schedules.into_iter().find(|s| s.entry.name == arg.name) else {
        return Err(CliError::Usage(format!(
            "no schedule named {:?}: see `schedule list` (a static one from a file needs --schedule FILE)",
            arg.name
        )));
    };
    let queue = found.entry.enqueue_now(client)?;
    out(&format!("enqueued {} of schedule {} on queue {queue}\n", found.entry.class, found.entry.name));
    Ok(())
}

fn set(client: &Client, args: &ScheduleSetArgs) -> Result<(), CliError> {
    let config: Value = serde_json::from_str(&args.config_json).map_err(|e| {
        CliError::Usage(format!(
            "the config of {} is not JSON ({e}): give an object such as \
             '{{\"every\":\"30s\",\"class\":\"Archive\",\"queue\":\"file_serve\",\"args\":[44]}}'",
            args.name
        ))
    })?;
    let entry = client.set_schedule(&args.name, &config)?;
    out(&format!("set the dynamic schedule {} ({}, {})\n", entry.name, entry.class, entry.timing));
    Ok(())
}
