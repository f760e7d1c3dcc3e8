//! Every JSON shape resque-rs writes to or reads from Redis, in one place,
//! and the time formats Ruby Resque uses inside them.

mod delayed;
mod enqueued_at;
mod failure;
mod failure_id;
mod inflight_payload;
mod job;
mod new_failure;
mod numbers;
mod raw_failure;
mod retry_identifier;
mod text;
mod worker;

pub mod exception;
pub mod time;

pub use delayed::{encode_delayed, DueJob};
pub use enqueued_at::enqueued_at;
pub use failure::Failure;
pub(crate) use failure_id::identity_bytes;
pub use failure_id::FailureId;
pub(crate) use inflight_payload::inflight_payload;
pub use job::{encode_args, encode_job, EncodeError, JobPayload};
pub use new_failure::{FailedPayload, NewFailure, PAYLOAD_BASE64, QUEUE_BASE64};
pub(crate) use numbers::{holds_exactly, integers_beyond_floats, to_ruby_json};
pub use numbers::{ruby_float, unheld_integer, unheld_integer_in_args, UnheldInteger};
pub use raw_failure::RawFailure;
pub use retry_identifier::{retry_identifier, retry_identifier_ruby34, ruby34_join, ruby_join};
pub use text::{escape_bytes, from_json_bytes, into_text};
pub use worker::{InflightEntry, ProcessingRecord, WorkingOn};

#[cfg(test)]
mod tests;
