//! What a job is: a typed argument list bound to a class and a queue, and
//! the failure a run can end in.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::payload::exception;

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
}

/// How a job run failed: what goes into its failure entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The error's type name (Ruby: the exception class).
    pub exception: String,
    /// The error's message.
    pub error: String,
    /// Where it happened, if known.
    pub backtrace: Vec<String>,
}

impl JobFailure {
    /// A failure with an exception name and a message.
    pub fn new(exception: impl Into<String>, error: impl Into<String>) -> Self {
        JobFailure { exception: exception.into(), error: error.into(), backtrace: Vec::new() }
    }

    /// A failure from a job's `Err`, named after the error's type.
    ///
    /// ```
    /// let f = resque::JobFailure::from_error(&std::fmt::Error);
    /// assert_eq!(f.exception, "core::fmt::Error");
    /// ```
    pub fn from_error<E: fmt::Display + ?Sized>(error: &E) -> Self {
        JobFailure::new(std::any::type_name::<E>(), error.to_string())
    }

    /// Args that do not fit the job function.
    pub fn bad_args(class: &str, error: &serde_json::Error) -> Self {
        JobFailure::new(exception::BAD_ARGS, format!("arguments do not fit job {class}: {error}"))
    }
}

impl fmt::Display for JobFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.exception, self.error)
    }
}

impl std::error::Error for JobFailure {}

/// What a job function may return: `()` or `Result<(), E: Display>`.
pub trait IntoJobResult {
    /// The run's outcome.
    fn into_job_result(self) -> Result<(), JobFailure>;
}

impl IntoJobResult for () {
    fn into_job_result(self) -> Result<(), JobFailure> {
        Ok(())
    }
}

impl<E: fmt::Display> IntoJobResult for Result<(), E> {
    fn into_job_result(self) -> Result<(), JobFailure> {
        self.map_err(|e| JobFailure::from_error(&e))
    }
}

/// Decodes a payload's positional args into a job's `Args`.
pub fn decode_args<A: DeserializeOwned>(class: &str, args: Vec<Value>) -> Result<A, JobFailure> {
    serde_json::from_value(Value::Array(args)).map_err(|e| JobFailure::bad_args(class, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Boom;
    impl fmt::Display for Boom {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("it went boom")
        }
    }

    #[test]
    fn results_map_to_failures() {
        assert_eq!(().into_job_result(), Ok(()));
        assert_eq!(Ok::<(), Boom>(()).into_job_result(), Ok(()));
        let f = Err::<(), Boom>(Boom).into_job_result().unwrap_err();
        assert!(f.exception.ends_with("Boom"), "{}", f.exception);
        assert_eq!(f.error, "it went boom");
    }

    #[test]
    fn bad_args_say_what_does_not_fit() {
        let f = decode_args::<(u64, String)>("Archive", vec![Value::from("x")]).unwrap_err();
        assert_eq!(f.exception, "ArgumentError");
        assert!(f.error.starts_with("arguments do not fit job Archive: "), "{}", f.error);
    }
}
