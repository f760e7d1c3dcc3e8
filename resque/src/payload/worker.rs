//! Worker records: what a worker is processing (`worker:<id>`) and the
//! jobs it has taken (`inflight:<id>` entries).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// The `worker:<id>` value: what a worker is processing now.
///
/// The worker's step script (`worker/step.lua`) writes this same shape in
/// Lua for a job it takes and starts in the same step; a job taken ahead
/// gets this struct's JSON. The two must stay in step (the integration tests
/// read both back and check their members and order).
#[derive(Debug, Serialize)]
pub struct ProcessingRecord<'a> {
    /// The queue the job came from.
    pub queue: &'a str,
    /// When the job started, UTC ISO-8601 (`2026-11-23T23:50:00Z`).
    pub run_at: String,
    /// The payload, byte for byte as it was in the queue.
    pub payload: &'a RawValue,
}

impl ProcessingRecord<'_> {
    /// Compact JSON for Redis.
    pub fn to_json(&self) -> String {
        // A struct of strings and an already-valid RawValue cannot fail to serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A processing record as read back from `worker:<id>`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WorkingOn {
    /// The queue the job came from.
    pub queue: String,
    /// When the job started, as the worker wrote it.
    pub run_at: String,
    /// The job payload.
    pub payload: Value,
}

/// An `inflight:<id>` entry: a taken job and the queue it came from.
///
/// Written by the fetch script (Lua `cjson.encode`, so member order may
/// vary); the payload is the queue's exact bytes as a JSON string.
///
/// The payload may be any bytes: Lua's `cjson` copies bytes that are not
/// UTF-8 into the JSON string as they are, and they are read back as they are.
///
/// ```
/// let entry = resque::payload::InflightEntry::parse(b"{\"payload\":\"{\\\"args\\\":[\\\"caf\xe9\\\"]}\",\"queue\":\"eq\"}").unwrap();
/// assert_eq!(entry.queue, b"eq");
/// assert_eq!(entry.payload, b"{\"args\":[\"caf\xe9\"]}");
/// ```
///
/// The queue's name, too, is any bytes, copied by `cjson` as they are.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InflightEntry {
    /// The queue the job was taken from, byte for byte.
    #[serde(deserialize_with = "json_bytes")]
    pub queue: Vec<u8>,
    /// The payload, byte for byte.
    #[serde(deserialize_with = "json_bytes")]
    pub payload: Vec<u8>,
}

impl InflightEntry {
    /// Parses an entry.
    pub fn parse(raw: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(raw)
    }
}

/// Reads a JSON string as the bytes it holds, escapes decoded, without
/// requiring them to be UTF-8.
fn json_bytes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    struct Bytes;
    impl serde::de::Visitor<'_> for Bytes {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON string")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            Ok(v.as_bytes().to_vec())
        }
    }
    deserializer.deserialize_bytes(Bytes)
}
