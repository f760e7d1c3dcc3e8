//! `enqueue`: push a job by class name and JSON args, as any producer would.

use resque::Client;
use serde_json::Value;

use super::output::out;
use crate::args::EnqueueArgs;
use crate::CliError;

const ARGS_EXAMPLE: &str = r#"'[44,"masterbrew"]'"#;

pub(super) fn enqueue(client: &Client, args: &EnqueueArgs) -> Result<(), CliError> {
    let queue = args.queue.as_deref().map(str::trim).filter(|q| !q.is_empty()).ok_or_else(|| {
        CliError::Usage(format!(
            "enqueue needs a queue: pass -q QUEUE (there is no default), e.g. \
             resque-cli enqueue {} {ARGS_EXAMPLE} -q file_serve",
            args.class
        ))
    })?;
    if args.class.trim().is_empty() {
        return Err(CliError::Usage("enqueue needs a job class, e.g. Archive".into()));
    }
    let value = json_args(&args.args)?;
    client.enqueue_class(queue, &args.class, &value)?;
    out(&format!("enqueued {} {} to queue {queue}\n", args.class, value));
    Ok(())
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
