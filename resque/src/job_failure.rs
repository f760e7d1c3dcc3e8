//! How a job run failed (what goes into its failure entry), and what a job
//! function may return to say so.

use std::fmt;

use crate::payload::exception;

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
}
