//! Every JSON shape resque-rs writes to or reads from Redis, in one place,
//! and the time formats Ruby Resque uses inside them.

use jiff::{tz::TimeZone, Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

mod numbers;

pub(crate) use numbers::{holds_exactly, integers_beyond_floats};
pub use numbers::{ruby_float, unheld_integer, unheld_integer_in_args, UnheldInteger};

/// The `class` and `args` of a job payload, as read from a queue.
///
/// Other members of the payload (node-resque's `queue`, plugin ids) are not
/// kept here: code that moves a payload moves its original bytes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobPayload {
    /// The job's class name, as the enqueuer spelled it.
    pub class: String,
    /// Positional arguments.
    pub args: Vec<Value>,
}

impl JobPayload {
    /// Parses a payload, with an error that says what is wrong with it.
    ///
    /// ```
    /// let p = resque::payload::JobPayload::parse(r#"{"class":"Archive","args":[44]}"#).unwrap();
    /// assert_eq!(p.class, "Archive");
    /// assert!(resque::payload::JobPayload::parse("{nope").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw)
    }
}

/// Why job arguments could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Serialization failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The arguments serialized to something other than a JSON array.
    #[error("args must serialize to a JSON array, not {0}")]
    NotAnArray(String),
    /// A NaN or infinite float, which JSON cannot carry.
    #[error("{}", numbers::not_finite_message(*.position, *.value))]
    NotFinite {
        /// The argument's position, from 1 (0 when the args are no sequence).
        position: usize,
        /// The float.
        value: f64,
    },
}

/// Encodes a payload as compact JSON, `class` first, as Ruby Resque does,
/// floats spelled as Ruby spells them ([`ruby_float`]), so that Ruby's
/// `Resque::Job.destroy` and resque-scheduler's `remove_delayed`, which match
/// payloads by their bytes, find it.
///
/// ```
/// let json = resque::payload::encode_job("Archive", &(44, "masterbrew")).unwrap();
/// assert_eq!(json, r#"{"class":"Archive","args":[44,"masterbrew"]}"#);
/// let json = resque::payload::encode_job("Fl", &(1e20, 1e-5, 100.0, 2.5)).unwrap();
/// assert_eq!(json, r#"{"class":"Fl","args":[1.0e+20,1.0e-05,100.0,2.5]}"#);
/// assert!(resque::payload::encode_job("Archive", &44).is_err());
/// assert!(resque::payload::encode_job("Fl", &(f64::NAN,)).is_err());
/// ```
pub fn encode_job<A: Serialize + ?Sized>(class: &str, args: &A) -> Result<String, EncodeError> {
    let args = numbers::to_ruby_json(args)?;
    if !args.starts_with('[') {
        return Err(EncodeError::NotAnArray(args));
    }
    let class = serde_json::to_string(class)?;
    let mut json = String::with_capacity(20 + class.len() + args.len());
    json.push_str("{\"class\":");
    json.push_str(&class);
    json.push_str(",\"args\":");
    json.push_str(&args);
    json.push('}');
    Ok(json)
}

/// The `worker:<id>` value: what a worker is processing now.
///
/// The worker's step script (`worker/store.rs`) writes this same shape in
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InflightEntry {
    /// The queue the job was taken from.
    pub queue: String,
    /// The payload, byte for byte.
    pub payload: String,
}

impl InflightEntry {
    /// Parses an entry.
    pub fn parse(raw: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(raw)
    }
}

/// The payload stored in a failure entry: the original JSON, or the raw text
/// of a payload that was not valid JSON (so that nothing is lost).
#[derive(Debug)]
pub enum FailedPayload<'a> {
    /// A payload that parsed as JSON, kept byte for byte.
    Json(&'a RawValue),
    /// A payload that did not parse, kept as a JSON string.
    Text(&'a str),
}

impl Serialize for FailedPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FailedPayload::Json(raw) => raw.serialize(serializer),
            FailedPayload::Text(text) => serializer.serialize_str(text),
        }
    }
}

/// A failure entry as written to the `failed` list, members in Ruby's order.
#[derive(Debug, Serialize)]
pub struct NewFailure<'a> {
    /// `%Y/%m/%d %H:%M:%S %Z`, local time.
    pub failed_at: String,
    /// The original payload.
    pub payload: FailedPayload<'a>,
    /// The error's type (Ruby: the exception class).
    pub exception: &'a str,
    /// The error's message.
    pub error: &'a str,
    /// Where it happened, innermost first.
    pub backtrace: &'a [String],
    /// The worker id.
    pub worker: &'a str,
    /// The queue the job came from.
    pub queue: &'a str,
}

impl NewFailure<'_> {
    /// Compact JSON for Redis.
    pub fn to_json(&self) -> String {
        // Strings, a string slice and a valid RawValue cannot fail to serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A failure entry as read from the `failed` list (written by us or by Ruby).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Failure {
    /// When it failed, as the writer formatted it.
    #[serde(default)]
    pub failed_at: Option<String>,
    /// The original payload.
    #[serde(default)]
    pub payload: Value,
    /// The error's type.
    #[serde(default)]
    pub exception: Option<String>,
    /// The error's message.
    #[serde(default)]
    pub error: Option<String>,
    /// Where it happened.
    #[serde(default)]
    pub backtrace: Option<Vec<String>>,
    /// The worker that ran it.
    #[serde(default)]
    pub worker: Option<String>,
    /// The queue it came from.
    #[serde(default)]
    pub queue: Option<String>,
    /// When it was retried, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_at: Option<String>,
}

/// A failure entry as stored, member by member, each member's value kept
/// byte for byte: what requeueing reads and rewrites.
///
/// Members keep their order (and any the reader does not know, such as a
/// plugin's); setting a member replaces it in place or appends it last.
///
/// ```
/// use resque::payload::RawFailure;
/// let raw = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"A","queue":"q","args":[1.50]},"queue":"q"}"#;
/// let mut entry = RawFailure::parse(raw).unwrap();
/// assert_eq!(entry.payload().map(|p| p.get()), Some(r#"{"class":"A","queue":"q","args":[1.50]}"#));
/// assert_eq!(entry.queue().as_deref(), Some("q"));
/// assert!(!entry.is_retried());
/// entry.set_retried_at("2026/11/24 00:10:00");
/// assert_eq!(
///     entry.to_json(),
///     r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"A","queue":"q","args":[1.50]},"queue":"q","retried_at":"2026/11/24 00:10:00"}"#
/// );
/// ```
#[derive(Debug, Clone)]
pub struct RawFailure {
    members: Vec<(String, Box<RawValue>)>,
}

impl RawFailure {
    /// Parses an entry; anything but a JSON object is an error.
    pub fn parse(raw: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw)
    }

    /// A member's value, as written (the last one, if a name repeats).
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.members.iter().rev().find(|(n, _)| n == name).map(|(_, v)| &**v)
    }

    fn get_str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| serde_json::from_str::<Option<String>>(v.get()).ok().flatten())
    }

    /// The original payload, byte for byte.
    pub fn payload(&self) -> Option<&RawValue> {
        self.get("payload")
    }

    /// The queue the job came from, when it is a string.
    pub fn queue(&self) -> Option<String> {
        self.get_str("queue")
    }

    /// The payload's `class`, when the payload is an object with a string `class`.
    pub fn class(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Class {
            class: Option<String>,
        }
        let payload = self.payload()?;
        serde_json::from_str::<Class>(payload.get()).ok()?.class
    }

    /// Whether the entry has a (non-null) `retried_at`.
    pub fn is_retried(&self) -> bool {
        self.get("retried_at").is_some_and(|v| v.get() != "null")
    }

    /// Sets `retried_at`: in place if the entry has one (as Ruby's hash
    /// assignment does), else as the last member.
    pub fn set_retried_at(&mut self, at: &str) {
        let value = serde_json::value::to_raw_value(at).unwrap_or_else(|_| null_raw());
        match self.members.iter_mut().rev().find(|(n, _)| n == "retried_at") {
            Some((_, v)) => *v = value,
            None => self.members.push(("retried_at".to_string(), value)),
        }
    }

    /// Compact JSON for Redis: members in order, values as they were read.
    pub fn to_json(&self) -> String {
        // Strings and already-valid RawValues cannot fail to serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn null_raw() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

impl<'de> Deserialize<'de> for RawFailure {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = RawFailure;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a failure entry (a JSON object)")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<RawFailure, M::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(member);
                }
                Ok(RawFailure { members })
            }
        }
        deserializer.deserialize_map(Members)
    }
}

impl Serialize for RawFailure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.members.len()))?;
        for (name, value) in &self.members {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Failure {
    /// Parses an entry; one that does not parse comes back with its text as
    /// `payload` and every other member empty, so nothing is hidden.
    ///
    /// ```
    /// let f = resque::payload::Failure::parse_lossy("not json".to_string());
    /// assert_eq!(f.payload, "not json");
    /// ```
    pub fn parse_lossy(raw: String) -> Failure {
        serde_json::from_str(&raw).unwrap_or(Failure {
            failed_at: None,
            payload: Value::String(raw),
            exception: None,
            error: None,
            backtrace: None,
            worker: None,
            queue: None,
            retried_at: None,
        })
    }
}

/// Failure `exception` names readers match on.
pub mod exception {
    /// A child that died of a signal, or a job left on a worker that exited.
    pub const DIRTY_EXIT: &str = "Resque::DirtyExit";
    /// A job found on a pruned dead worker.
    pub const PRUNE_DEAD_WORKER_DIRTY_EXIT: &str = "Resque::PruneDeadWorkerDirtyExit";
    /// No job is registered under the payload's class.
    pub const UNKNOWN_CLASS: &str = "NameError";
    /// The payload's args do not fit the job function.
    pub const BAD_ARGS: &str = "ArgumentError";
    /// The payload is not a JSON object with `class` and an `args` array.
    pub const BAD_PAYLOAD: &str = "JSON::ParserError";
    /// The job panicked.
    pub const PANIC: &str = "Panic";
    /// A hook broke the rules (an `around_perform` that ran the job twice).
    pub const HOOK: &str = "Resque::HookError";
    /// The job ran past its time limit and was stopped.
    pub const JOB_TIMEOUT: &str = "Resque::JobTimeout";
}

/// Ruby Resque's time formats.
pub mod time {
    use super::*;

    /// `failed_at`: local time, `2026/11/23 23:50:00 UTC`.
    pub fn failed_at(now: Timestamp) -> String {
        now.to_zoned_datetime(TimeZone::system()).strftime("%Y/%m/%d %H:%M:%S %Z").to_string()
    }

    /// `retried_at`: local time without the zone, `2026/11/23 23:50:00`, as
    /// Ruby Resque 3.0's `Failure::Redis.requeue` writes it.
    pub fn retried_at(now: Timestamp) -> String {
        now.to_zoned_datetime(TimeZone::system()).strftime("%Y/%m/%d %H:%M:%S").to_string()
    }

    /// `worker:<id>:started`: local time, Ruby `Time#to_s`, `2026-11-23 23:50:00 +0000`.
    pub fn started(now: Timestamp) -> String {
        now.to_zoned_datetime(TimeZone::system()).strftime("%Y-%m-%d %H:%M:%S %z").to_string()
    }

    /// `run_at`: UTC ISO-8601, `2026-11-23T23:50:00Z`.
    pub fn run_at(now: Timestamp) -> String {
        now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// A heartbeat value from Redis `TIME` seconds: `2026-11-23T23:57:52+00:00`.
    pub fn heartbeat(unix_seconds: i64) -> String {
        match Timestamp::from_second(unix_seconds) {
            Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
            Err(_) => String::new(),
        }
    }

    /// Parses a time in any format Resque implementations write: ISO 8601
    /// (`run_at`, heartbeats), `2026/11/23 23:50:00 UTC` (`failed_at`),
    /// `2026/11/23 23:50:00` (`retried_at`, read as UTC), `2026-11-23
    /// 23:50:00 +0000` (`:started`), or unix seconds (node-resque's
    /// `:started`). A zone abbreviation other than an offset says nothing
    /// certain and is read as UTC.
    pub fn parse_any(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        if let Some(ts) = parse_heartbeat(text) {
            return Some(ts);
        }
        for format in ["%Y/%m/%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %z"] {
            if let Ok(ts) = jiff::fmt::strtime::parse(format, text).and_then(|t| t.to_timestamp()) {
                return Some(ts);
            }
        }
        let civil = |text: &str| {
            ["%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"].iter().find_map(|format| {
                jiff::civil::DateTime::strptime(format, text)
                    .and_then(|dt| dt.to_zoned_datetime(TimeZone::UTC))
                    .ok()
                    .map(|z| z.timestamp())
            })
        };
        if let Some(ts) = civil(text) {
            return Some(ts);
        }
        if let Some(ts) = text.rsplit_once(' ').and_then(|(civil_part, _zone)| civil(civil_part)) {
            return Some(ts);
        }
        text.parse::<i64>().ok().and_then(|secs| Timestamp::from_second(secs).ok())
    }

    /// Parses a heartbeat value (ISO-8601 with offset) written by any peer.
    pub fn parse_heartbeat(value: &str) -> Option<Timestamp> {
        if let Ok(ts) = value.parse::<Timestamp>() {
            return Some(ts);
        }
        value.parse::<ZonedDateTime>().ok().map(|z| z.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn formats_match_ruby() {
        let t = ts("2026-11-23T23:50:00Z");
        assert_eq!(time::run_at(t), "2026-11-23T23:50:00Z");
        assert_eq!(time::heartbeat(t.as_second()), "2026-11-23T23:50:00+00:00");
        assert_eq!(time::parse_heartbeat("2026-11-23T23:57:52+00:00"), Some(ts("2026-11-23T23:57:52Z")));
        assert_eq!(time::parse_heartbeat("2026-11-24T00:57:52+01:00"), Some(ts("2026-11-23T23:57:52Z")));
        assert_eq!(time::parse_heartbeat("yesterday"), None);
    }

    #[test]
    fn any_format_a_peer_writes_parses() {
        let expected = ts("2026-11-23T23:50:00Z");
        for text in [
            "2026-11-23T23:50:00Z",
            "2026-11-23T23:50:00+00:00",
            "2026/11/23 23:50:00 UTC",
            "2026/11/23 23:50:00 +0000",
            "2026/11/23 23:50:00",
            "2026-11-23 23:50:00 +0000",
            "2026-11-24 00:50:00 +0100",
            "1795477800",
        ] {
            assert_eq!(time::parse_any(text), Some(expected), "{text}");
        }
        assert_eq!(time::parse_any("yesterday"), None);
        for now in [ts("2026-11-23T23:50:00Z"), ts("2027-02-03T04:05:06Z")] {
            assert_eq!(time::parse_any(&time::started(now)), Some(now));
            assert_eq!(time::parse_any(&time::run_at(now)), Some(now));
            assert_eq!(time::parse_any(&time::heartbeat(now.as_second())), Some(now));
        }
    }

    #[test]
    fn failure_entry_members_in_ruby_order() {
        let raw = RawValue::from_string(r#"{"class":"A","args":[1],"queue":"q"}"#.into()).unwrap();
        let entry = NewFailure {
            failed_at: "2026/11/23 23:50:00 UTC".into(),
            payload: FailedPayload::Json(&raw),
            exception: "E",
            error: "boom",
            backtrace: &[],
            worker: "h:1:q",
            queue: "q",
        };
        assert_eq!(
            entry.to_json(),
            r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"A","args":[1],"queue":"q"},"exception":"E","error":"boom","backtrace":[],"worker":"h:1:q","queue":"q"}"#
        );
    }

    #[test]
    fn unparsable_payload_is_kept_as_text() {
        let entry = NewFailure {
            failed_at: String::new(),
            payload: FailedPayload::Text("{nope"),
            exception: "E",
            error: "e",
            backtrace: &[],
            worker: "w",
            queue: "q",
        };
        let back: Failure = serde_json::from_str(&entry.to_json()).unwrap();
        assert_eq!(back.payload, Value::String("{nope".into()));
    }
}
