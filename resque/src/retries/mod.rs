//! Retries as they happen: a run of a job with a retry policy counted on
//! resque-retry's counter before it starts (`attempt`), and what the step
//! that finishes it does about its retry (`finish`), and the retries
//! waiting, run now or cancelled by an admin (`pending`). The policy and its
//! decision are `crate::retry`.

mod attempt;
mod finish;
mod pending;

pub(crate) use attempt::Attempt;
pub(crate) use finish::{decide, RetryFinish, Then};
pub use pending::{PendingRetry, RetryCancelled};
