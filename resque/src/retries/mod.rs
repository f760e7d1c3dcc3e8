//! Retries as they happen: a run of a job with a retry policy counted on
//! resque-retry's counter before it starts (`attempt`), and what the step
//! that finishes it does about its retry (`finish`). The policy and its
//! decision are `crate::retry`.

mod attempt;
mod finish;

pub(crate) use attempt::Attempt;
pub(crate) use finish::{decide, RetryFinish, Then};
