//! What a job is: a typed argument list bound to a class and a queue, and
//! how a payload's args become it.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use crate::job_failure::{IntoJobResult, JobFailure};
use crate::payload::{self, exception};

/// A job's arguments, bound to its class name and default queue.
///
/// `#[resque::job]` implements this for the `Args` struct it generates, so
/// that [`Client::enqueue`](crate::Client::enqueue) can take one:
///
/// ```
/// #[resque::job(queue = "file_serve")]
/// fn archive(repo_id: u64, branch: String) {}
///
/// use resque::Job;
/// assert_eq!(archive::Args::CLASS, "Archive");
/// assert_eq!(<archive::Args as Job>::QUEUE, "file_serve");
/// ```
pub trait Job: Serialize + DeserializeOwned {
    /// The class name payloads carry.
    const CLASS: &'static str;
    /// The queue `enqueue` pushes to.
    const QUEUE: &'static str;
    /// Its hooks and plugins.
    const HOOKS: crate::hooks::JobHooks = crate::hooks::JobHooks::NONE;
    /// Its retry policy: its own `retry(...)`, else the first of its
    /// plugins' [`Plugin::RETRY`](crate::hooks::Plugin::RETRY) that is
    /// `Some`, else `None` (a failure is not retried).
    const RETRY: Option<crate::retry::RetryPolicy> = None;
}

/// Decodes a payload's positional args into a job's `Args`; `params` are
/// the job's parameter names, for errors.
///
/// A number reaches the job as written or the job fails naming the
/// argument: an integer that a float cannot hold exactly (beyond ±2^53),
/// given to a parameter that takes it as a float, is refused rather than
/// rounded. (Integers beyond 64 bits never get here: the worker fails
/// such a job from the payload's text before decoding it.)
pub fn decode_args<A: DeserializeOwned + Serialize>(
    class: &str,
    params: &[&str],
    args: Vec<Value>,
) -> Result<A, JobFailure> {
    let mut beyond_floats = Vec::new();
    for (index, arg) in args.iter().enumerate() {
        let mut ints = Vec::new();
        payload::integers_beyond_floats(arg, &mut ints);
        if !ints.is_empty() {
            beyond_floats.push((index, ints));
        }
    }
    let decoded: A =
        serde_json::from_value(Value::Array(args)).map_err(|e| JobFailure::bad_args(class, &e))?;
    if beyond_floats.is_empty() {
        return Ok(decoded);
    }
    // What the job holds, written back: each such integer must be in it,
    // as itself or as a float equal to it.
    let Ok(Value::Array(held)) = serde_json::to_value(&decoded) else {
        return Ok(decoded);
    };
    for (index, ints) in beyond_floats {
        let Some(arg) = held.get(index) else { continue };
        if let Some(int) = ints.into_iter().find(|&int| !payload::holds_exactly(arg, int)) {
            return Err(JobFailure::new(
                exception::BAD_ARGS,
                format!(
                    "arguments do not fit job {class}: {}: the integer {int} would reach the job as a \
                     different number (its parameter takes it as a float, which holds integers exactly \
                     only up to 2^53)",
                    argument(index, params)
                ),
            ));
        }
    }
    Ok(decoded)
}

/// The failure of a job given an integer no parameter holds (see
/// [`JobEntry::check_integers`](crate::registry::JobEntry)).
pub(crate) fn unheld_failure(class: &str, params: &[&str], found: &payload::UnheldInteger) -> JobFailure {
    JobFailure::new(
        exception::BAD_ARGS,
        format!(
            "arguments do not fit job {class}: {}: the integer {} is beyond 64 bits, which no job \
             parameter holds exactly (a serde_json::Value would get a rounded float)",
            argument(found.index, params),
            found.literal
        ),
    )
}

/// An argument as errors name it: `argument 1 (amount)`, from its index.
pub(crate) fn argument(index: usize, params: &[&str]) -> String {
    match params.get(index) {
        Some(name) => format!("argument {} ({name})", index + 1),
        None => format!("argument {}", index + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_args_say_what_does_not_fit() {
        let f =
            decode_args::<(u64, String)>("Archive", &["id", "branch"], vec![Value::from("x")]).unwrap_err();
        assert_eq!(f.exception, "ArgumentError");
        assert!(f.error.starts_with("arguments do not fit job Archive: "), "{}", f.error);
    }

    #[test]
    fn integers_reach_the_job_exactly_or_not_at_all() {
        // 2^53 + 1: the nearest float is 2^53.
        let odd = serde_json::json!(9007199254740993u64);
        let f = decode_args::<(String, f64)>("Fl", &["name", "amount"], vec!["x".into(), odd.clone()])
            .unwrap_err();
        assert_eq!(f.exception, "ArgumentError");
        assert!(
            f.error.starts_with(
                "arguments do not fit job Fl: argument 2 (amount): the integer 9007199254740993 "
            ),
            "{}",
            f.error
        );
        let f =
            decode_args::<(Vec<f64>,)>("Fl", &["amounts"], vec![serde_json::json!([1, odd])]).unwrap_err();
        assert!(f.error.contains("argument 1 (amounts): the integer 9007199254740993"), "{}", f.error);
        // Held exactly: as an integer, or as a float that is that integer.
        let (n,) = decode_args::<(u64,)>("Big", &["n"], vec![odd.clone()]).unwrap();
        assert_eq!(n, 9007199254740993);
        let (v,) = decode_args::<(Value,)>("Big", &["v"], vec![odd.clone()]).unwrap();
        assert_eq!(v, odd);
        let (x,) = decode_args::<(f64,)>("Fl", &["x"], vec![serde_json::json!(1u64 << 60)]).unwrap();
        assert_eq!(x, 1152921504606846976.0);
        let (x,) = decode_args::<(f64,)>("Fl", &["x"], vec![serde_json::json!(12)]).unwrap();
        assert_eq!(x, 12.0);
    }

    #[test]
    fn arguments_are_named_from_one() {
        assert_eq!(argument(0, &["amount"]), "argument 1 (amount)");
        assert_eq!(argument(3, &["amount"]), "argument 4");
    }
}
