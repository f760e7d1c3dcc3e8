//! `completions` and `man`: shell completion scripts and the manual page,
//! generated from the command line's definition, under the name this
//! binary was started as (a worker binary's own name, or `resque-cli`).

use std::ffi::OsStr;
use std::path::Path;

use clap::CommandFactory;

use super::output::out_bytes;
use crate::args::CompletionsArgs;
use crate::{Cli, CliError};

/// The command's name: the file name of `argv[0]`, else `resque-cli`.
fn command_name(program: Option<&OsStr>) -> String {
    program
        .map(Path::new)
        .and_then(Path::file_name)
        .and_then(OsStr::to_str)
        .filter(|name| !name.is_empty())
        .unwrap_or("resque-cli")
        .to_string()
}

/// The definition, named as this binary.
fn command(program: Option<&OsStr>) -> clap::Command {
    // clap takes a `&'static str` name: leaked, once in a process that
    // prints and exits.
    let name: &'static str = Box::leak(command_name(program).into_boxed_str());
    Cli::command().name(name).bin_name(name)
}

/// `completions SHELL`: the script on stdout.
pub(crate) fn completions(program: Option<&OsStr>, args: &CompletionsArgs) -> Result<(), CliError> {
    let mut cmd = command(program);
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    out_bytes(&script);
    Ok(())
}

/// `man`: the manual page, roff, on stdout.
pub(crate) fn man(program: Option<&OsStr>) -> Result<(), CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command(program))
        .render(&mut page)
        .map_err(|source| CliError::Os { what: "writing the manual page", source })?;
    out_bytes(&page);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_binarys() {
        assert_eq!(command_name(Some(OsStr::new("/usr/local/bin/my-worker"))), "my-worker");
        assert_eq!(command_name(Some(OsStr::new("resque-cli"))), "resque-cli");
        assert_eq!(command_name(None), "resque-cli");
        assert_eq!(command_name(Some(OsStr::new(""))), "resque-cli");
    }
}
