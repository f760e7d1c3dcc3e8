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

/// Bytes read from Redis as text for people to read: valid UTF-8 as it is,
/// each byte of a sequence that is not UTF-8 as `\xNN`. What every reader
/// (CLI, web app, logs) shows of a value that is not UTF-8.
///
/// ```
/// assert_eq!(resque::payload::escape_bytes(b"caf\xe9 ok"), r"caf\xe9 ok");
/// assert_eq!(resque::payload::escape_bytes("naïve".as_bytes()), "naïve");
/// ```
pub fn escape_bytes(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.into();
    }
    escaped(bytes, "\\").into()
}

/// `bytes` as text, each byte of a sequence that is not UTF-8 written as
/// `backslash` then `xNN`.
fn escaped(bytes: &[u8], backslash: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            // Writing to a String cannot fail.
            let _ = write!(out, "{backslash}x{b:02x}");
        }
    }
    out
}

/// Parses JSON read from Redis that may hold bytes that are not UTF-8
/// inside its strings: each such byte reads as the four characters `\xNN`
/// (as [`escape_bytes`] shows it), so such a value can still be shown.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Job { args: Vec<String> }
/// let job: Job = resque::payload::from_json_bytes(b"{\"args\":[\"caf\xe9\"]}").unwrap();
/// assert_eq!(job.args, [r"caf\xe9"]);
/// ```
pub fn from_json_bytes<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, serde_json::Error> {
    if std::str::from_utf8(raw).is_ok() {
        return serde_json::from_slice(raw);
    }
    // `\\xNN` in JSON: a backslash, then `xNN`.
    serde_json::from_str(&escaped(raw, "\\\\"))
}

/// [`escape_bytes`] of an owned value, without a copy when it is UTF-8.
pub fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| escape_bytes(e.as_bytes()).into_owned())
}

/// The payload stored in a failure entry, chosen by [`FailedPayload::of`]
/// so that the entry is valid JSON every reader can show and a retry can
/// push back the original bytes.
#[derive(Debug, Clone, Copy)]
pub enum FailedPayload<'a> {
    /// A payload that is a JSON object, kept byte for byte.
    Json(&'a RawValue),
    /// Any other payload that is UTF-8 (not JSON, or JSON but not an
    /// object such as `[1,2]` or `"hello"`), kept as a JSON string of its
    /// text.
    Text(&'a str),
    /// A payload that is not UTF-8: `payload` is a JSON string of its text
    /// as [`escape_bytes`] shows it, and the entry also carries the exact
    /// bytes, base64-encoded, as `payload_base64`.
    Bytes(&'a [u8]),
}

impl<'a> FailedPayload<'a> {
    /// How `raw`, a payload as it was in its queue, is stored in a failure
    /// entry.
    ///
    /// ```
    /// use resque::payload::FailedPayload;
    /// assert!(matches!(FailedPayload::of(br#"{"class":"A","args":[]}"#), FailedPayload::Json(_)));
    /// assert!(matches!(FailedPayload::of(b"[1,2,3]"), FailedPayload::Text("[1,2,3]")));
    /// assert!(matches!(FailedPayload::of(b"{\"args\":[\"caf\xe9\"]}"), FailedPayload::Bytes(_)));
    /// ```
    pub fn of(raw: &'a [u8]) -> Self {
        let Ok(text) = std::str::from_utf8(raw) else { return FailedPayload::Bytes(raw) };
        match serde_json::from_str::<&RawValue>(text) {
            // Whitespace around the object would be lost in the entry: kept as text.
            Ok(json) if json.get().len() == text.len() && json.get().starts_with('{') => {
                FailedPayload::Json(json)
            }
            _ => FailedPayload::Text(text),
        }
    }
}

impl FailedPayload<'_> {
    /// The payload as text for people to read (see [`escape_bytes`]).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            FailedPayload::Json(raw) => raw.get().into(),
            FailedPayload::Text(text) => (*text).into(),
            FailedPayload::Bytes(bytes) => escape_bytes(bytes),
        }
    }
}

impl Serialize for FailedPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FailedPayload::Json(raw) => raw.serialize(serializer),
            FailedPayload::Text(text) => serializer.serialize_str(text),
            FailedPayload::Bytes(_) => serializer.serialize_str(&self.text()),
        }
    }
}

/// A failure entry as written to the `failed` list, members in Ruby's order;
/// `payload_base64` follows, only for a payload that is not UTF-8 (see
/// [`FailedPayload::Bytes`]).
#[derive(Debug)]
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
    /// The queue the job came from, as text (see [`escape_bytes`]).
    pub queue: &'a str,
    /// The queue's exact name when it may not be UTF-8; when it is not,
    /// the entry also carries it, base64-encoded, as `queue_base64`, so
    /// that a retry pushes the job back to that queue. `None`: `queue` is
    /// the name.
    pub raw_queue: Option<&'a [u8]>,
}

/// The failure entry member that holds a payload that is not UTF-8.
pub const PAYLOAD_BASE64: &str = "payload_base64";

/// The failure entry member that holds a queue name that is not UTF-8.
pub const QUEUE_BASE64: &str = "queue_base64";

impl NewFailure<'_> {
    /// The queue's name as bytes: its exact name.
    pub fn queue_bytes(&self) -> &[u8] {
        self.raw_queue.unwrap_or(self.queue.as_bytes())
    }

    /// The queue's exact name, when it is not UTF-8.
    fn queue_not_utf8(&self) -> Option<&[u8]> {
        self.raw_queue.filter(|raw| std::str::from_utf8(raw).is_err())
    }
}

impl Serialize for NewFailure<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let bytes = match self.payload {
            FailedPayload::Bytes(bytes) => Some(bytes),
            _ => None,
        };
        let raw_queue = self.queue_not_utf8();
        let mut map = serializer
            .serialize_map(Some(7 + usize::from(bytes.is_some()) + usize::from(raw_queue.is_some())))?;
        map.serialize_entry("failed_at", &self.failed_at)?;
        map.serialize_entry("payload", &self.payload)?;
        map.serialize_entry("exception", self.exception)?;
        map.serialize_entry("error", self.error)?;
        map.serialize_entry("backtrace", self.backtrace)?;
        map.serialize_entry("worker", self.worker)?;
        map.serialize_entry("queue", self.queue)?;
        if let Some(bytes) = bytes {
            use base64::Engine;
            map.serialize_entry(PAYLOAD_BASE64, &base64::engine::general_purpose::STANDARD.encode(bytes))?;
        }
        if let Some(raw) = raw_queue {
            use base64::Engine;
            map.serialize_entry(QUEUE_BASE64, &base64::engine::general_purpose::STANDARD.encode(raw))?;
        }
        map.end()
    }
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
    /// The entry's identity, derived from the bytes it was read from (see
    /// [`FailureId`]). Set by [`Failure::from_bytes`] and
    /// [`Failure::parse_lossy`], which every reader in this crate uses; a
    /// `Failure` deserialized some other way has the id of an empty entry.
    #[serde(skip_deserializing)]
    pub id: FailureId,
}

/// The identity of a failure entry, derived from the entry itself, so that
/// anyone can compute it and no key stores it: the first 12 hex digits
/// (lowercase) of the SHA-1 of the entry's bytes, its `retried_at` member
/// left out.
///
/// Leaving `retried_at` out means an entry keeps its id when it is retried:
/// when the bytes end with `,"retried_at":"` + any bytes but `"` and `\` +
/// `"}` (where Ruby Resque and resque-rs put the member), that ending
/// counts as `}`. Any other bytes, JSON or not, UTF-8 or not, are hashed as
/// they are. Identical entries share an id.
///
/// As text an id is exactly 12 hex digits; a failure index is a decimal
/// number of at most 10 digits (a Redis list holds fewer than 2³² entries),
/// so [`FailureId::parse`] and an index never read the same text.
///
/// ```
/// use resque::payload::FailureId;
/// let entry = br#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Archive","args":[44,"masterbrew"]},"exception":"Errno::ENOENT","error":"No such file or directory","backtrace":["..."],"worker":"web1:4211:file_serve","queue":"file_serve"}"#;
/// // printf '%s' '<entry>' | sha1sum  →  3db87e6340c9d084716466b6c61f6393c6be9d7a
/// assert_eq!(FailureId::of(entry).to_string(), "3db87e6340c9");
/// let mut retried = entry[..entry.len() - 1].to_vec();
/// retried.extend_from_slice(br#","retried_at":"2026/11/24 00:10:00"}"#);
/// assert_eq!(FailureId::of(&retried), FailureId::of(entry));
/// assert_eq!(FailureId::parse("3DB87E6340C9"), Some(FailureId::of(entry)));
/// assert_eq!(FailureId::parse("17"), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FailureId([u8; 6]);

impl FailureId {
    /// The id of the entry `entry` (its bytes as stored).
    pub fn of(entry: &[u8]) -> FailureId {
        let digest = sha1_smol::Sha1::from(identity_bytes(entry)).digest().bytes();
        let mut id = [0; 6];
        id.copy_from_slice(&digest[..6]);
        FailureId(id)
    }

    /// An id written as text: exactly 12 hex digits, either case.
    pub fn parse(text: &str) -> Option<FailureId> {
        let text = text.as_bytes();
        if text.len() != 12 {
            return None;
        }
        let mut id = [0; 6];
        for (byte, pair) in id.iter_mut().zip(text.chunks(2)) {
            let hex = std::str::from_utf8(pair).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            *byte = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(FailureId(id))
    }
}

/// The bytes a [`FailureId`] is the hash of: `entry` without a trailing
/// `retried_at` member. Two entries with the same identity bytes are the
/// same failure, retried or not.
pub(crate) fn identity_bytes(entry: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match retried_at_start(entry) {
        Some(at) => {
            let mut bytes = entry[..at].to_vec();
            bytes.push(b'}');
            bytes.into()
        }
        None => entry.into(),
    }
}

/// Where a trailing `,"retried_at":"..."}` starts in `entry`, if it has one
/// (a value without `"` or `\`, as every Resque writes it).
fn retried_at_start(entry: &[u8]) -> Option<usize> {
    const MEMBER: &[u8] = br#","retried_at":""#;
    let body = entry.strip_suffix(br#""}"#)?;
    let value_start = body.iter().rposition(|&b| b == b'"')? + 1;
    let at = value_start.checked_sub(MEMBER.len())?;
    let value = &body[value_start..];
    (&body[at..value_start] == MEMBER && !value.contains(&b'\\')).then_some(at)
}

impl Default for FailureId {
    /// The id of an empty entry.
    fn default() -> Self {
        FailureId::of(b"")
    }
}

impl std::fmt::Display for FailureId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for FailureId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailureId({self})")
    }
}

impl Serialize for FailureId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
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

    /// The payload's original bytes, as a retry pushes them back: the
    /// `payload_base64` bytes when the entry has them, the text of a string
    /// payload (a payload that was not a JSON object), or an object payload
    /// as written. `None` when the entry holds no payload a retry could
    /// push (none, or `null`, a number, an array).
    ///
    /// ```
    /// use resque::payload::RawFailure;
    /// let bytes = |raw: &str| RawFailure::parse(raw).unwrap().original_payload();
    /// assert_eq!(bytes(r#"{"payload":{"class":"A","args":[1.50]}}"#).unwrap(), br#"{"class":"A","args":[1.50]}"#);
    /// assert_eq!(bytes(r#"{"payload":"\"hello\""}"#).unwrap(), br#""hello""#);
    /// assert_eq!(bytes(r#"{"payload":"caf\\xe9","payload_base64":"Y2Fm6Q=="}"#).unwrap(), b"caf\xe9");
    /// assert_eq!(bytes(r#"{"payload":[1,2]}"#), None);
    /// ```
    pub fn original_payload(&self) -> Option<Vec<u8>> {
        if let Some(encoded) = self.get_str(PAYLOAD_BASE64) {
            use base64::Engine;
            return base64::engine::general_purpose::STANDARD.decode(encoded).ok();
        }
        let payload = self.payload()?;
        match serde_json::from_str::<Value>(payload.get()).ok()? {
            Value::Object(_) => Some(payload.get().as_bytes().to_vec()),
            Value::String(text) => Some(text.into_bytes()),
            _ => None,
        }
    }

    /// The queue the job came from, when it is a string.
    pub fn queue(&self) -> Option<String> {
        self.get_str("queue")
    }

    /// The queue's exact name, as a retry pushes the job back to it: the
    /// `queue_base64` bytes when the entry has them (a name that is not
    /// UTF-8), else the text of `queue`. `None` when the entry names no
    /// queue (or `queue_base64` is not base64).
    ///
    /// ```
    /// use resque::payload::RawFailure;
    /// let queue = |raw: &str| RawFailure::parse(raw).unwrap().original_queue();
    /// assert_eq!(queue(r#"{"queue":"mail"}"#).unwrap(), b"mail");
    /// assert_eq!(queue(r#"{"queue":"bad\\xff","queue_base64":"YmFk/w=="}"#).unwrap(), b"bad\xff");
    /// assert_eq!(queue(r#"{"payload":{}}"#), None);
    /// ```
    pub fn original_queue(&self) -> Option<Vec<u8>> {
        if let Some(encoded) = self.get_str(QUEUE_BASE64) {
            use base64::Engine;
            return base64::engine::general_purpose::STANDARD.decode(encoded).ok();
        }
        self.queue().map(String::into_bytes)
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
        Failure::from_bytes(raw.as_bytes())
    }

    /// [`Failure::parse_lossy`] of an entry's bytes, which need not be
    /// UTF-8: a JSON entry with such bytes inside its strings reads each as
    /// `\xNN` (see [`from_json_bytes`]); one that does not parse comes back
    /// with its text (see [`escape_bytes`]) as `payload`. The id is of the
    /// bytes as given.
    ///
    /// ```
    /// let f = resque::payload::Failure::from_bytes(b"{\"payload\":{\"class\":\"A\",\"args\":[\"\xff\"]}}");
    /// assert_eq!(f.payload["args"][0], r"\xff");
    /// let f = resque::payload::Failure::from_bytes(b"caf\xe9");
    /// assert_eq!(f.payload, r"caf\xe9");
    /// assert_eq!(f.id, resque::payload::FailureId::of(b"caf\xe9"));
    /// ```
    pub fn from_bytes(raw: &[u8]) -> Failure {
        let id = FailureId::of(raw);
        match from_json_bytes::<Failure>(raw) {
            Ok(failure) => Failure { id, ..failure },
            Err(_) => Failure::unparsed(id, escape_bytes(raw).into_owned()),
        }
    }

    fn unparsed(id: FailureId, text: String) -> Failure {
        Failure {
            failed_at: None,
            payload: Value::String(text),
            exception: None,
            error: None,
            backtrace: None,
            worker: None,
            queue: None,
            retried_at: None,
            id,
        }
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
            raw_queue: None,
        };
        assert_eq!(
            entry.to_json(),
            r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"A","args":[1],"queue":"q"},"exception":"E","error":"boom","backtrace":[],"worker":"h:1:q","queue":"q"}"#
        );
    }

    /// PROTOCOL.md's Ruby entry; `printf '%s' '<entry>' | sha1sum` gives
    /// 3db87e6340c9d084716466b6c61f6393c6be9d7a.
    const RUBY_ENTRY: &str = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"Archive","args":[44,"masterbrew"]},"exception":"Errno::ENOENT","error":"No such file or directory","backtrace":["..."],"worker":"web1:4211:file_serve","queue":"file_serve"}"#;

    #[test]
    fn failure_id_is_the_sha1_of_the_entry_without_retried_at() {
        let id = FailureId::of(RUBY_ENTRY.as_bytes());
        assert_eq!(id.to_string(), "3db87e6340c9");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""3db87e6340c9""#);
        // Retried (by Ruby or by us, `retried_at` appended last): the same id.
        let retried =
            format!(r#"{},"retried_at":"2026/11/24 00:10:00"}}"#, &RUBY_ENTRY[..RUBY_ENTRY.len() - 1]);
        assert_eq!(FailureId::of(retried.as_bytes()), id);
        // Bytes that are not JSON, or not UTF-8, are hashed as they are:
        // `printf 'not json' | sha1sum` gives ed0d1292643d9ed818d9a191829b0f419867f874.
        assert_eq!(FailureId::of(b"not json").to_string(), "ed0d1292643d");
        assert_ne!(FailureId::of(b"caf\xe9"), FailureId::of("café".as_bytes()));
        // Only a trailing, escape-free `retried_at` string is left out.
        for other in [
            format!(r#"{},"retried_at":"a\"b"}}"#, &RUBY_ENTRY[..RUBY_ENTRY.len() - 1]),
            format!(r#"{},"retried_at":null}}"#, &RUBY_ENTRY[..RUBY_ENTRY.len() - 1]),
            format!(r#"{{"retried_at":"2026/11/24 00:10:00",{}"#, &RUBY_ENTRY[1..]),
            format!(r#"{},"retried_at":"2026/11/24 00:10:00" }}"#, &RUBY_ENTRY[..RUBY_ENTRY.len() - 1]),
        ] {
            assert_ne!(FailureId::of(other.as_bytes()), id, "{other}");
        }
        assert_eq!(identity_bytes(retried.as_bytes()), RUBY_ENTRY.as_bytes());
    }

    #[test]
    fn failure_ids_parse_from_12_hex_digits_only() {
        let id = FailureId::of(RUBY_ENTRY.as_bytes());
        assert_eq!(FailureId::parse("3db87e6340c9"), Some(id));
        assert_eq!(FailureId::parse("3DB87E6340C9"), Some(id));
        for bad in ["", "3db87e6340c", "3db87e6340c9a", "3db87e6340cg", "+db87e6340c9", "3db87e6340é"] {
            assert_eq!(FailureId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn failures_read_from_bytes_carry_their_id() {
        let f = Failure::from_bytes(RUBY_ENTRY.as_bytes());
        assert_eq!(f.id.to_string(), "3db87e6340c9");
        assert_eq!(f.queue.as_deref(), Some("file_serve"));
        assert_eq!(Failure::parse_lossy(RUBY_ENTRY.to_string()), f);
        // An entry with a byte that is not UTF-8 still parses, the byte shown as \xe9.
        let bad = Failure::from_bytes(b"{\"payload\":\"caf\xe9\"}");
        assert_eq!(bad.payload, Value::String(r"caf\xe9".into()));
        assert_eq!(bad.id, FailureId::of(b"{\"payload\":\"caf\xe9\"}"));
        let text = Failure::from_bytes(b"not json \xe9");
        assert_eq!(text.payload, Value::String(r"not json \xe9".into()));
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
            raw_queue: None,
        };
        let back: Failure = serde_json::from_str(&entry.to_json()).unwrap();
        assert_eq!(back.payload, Value::String("{nope".into()));
    }

    #[test]
    fn a_queue_name_that_is_not_utf8_is_written_as_text_and_base64_last() {
        let raw = RawValue::from_string(r#"{"class":"A","args":[]}"#.to_string()).unwrap();
        let entry = |queue: &'static str, raw_queue: Option<&'static [u8]>, payload| NewFailure {
            failed_at: "2026/11/23 23:50:00 UTC".into(),
            payload,
            exception: "E",
            error: "boom",
            backtrace: &[],
            worker: "h:1:*",
            queue,
            raw_queue,
        };
        // base64 of b"bad\xff" is "YmFk/w=="; of b"\xe9" "6Q==".
        assert_eq!(
            entry(r"bad\xff", Some(b"bad\xff"), FailedPayload::Json(&raw)).to_json(),
            r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"A","args":[]},"exception":"E","error":"boom","backtrace":[],"worker":"h:1:*","queue":"bad\\xff","queue_base64":"YmFk/w=="}"#
        );
        assert_eq!(
            entry(r"bad\xff", Some(b"bad\xff"), FailedPayload::Bytes(b"\xe9")).to_json(),
            r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":"\\xe9","exception":"E","error":"boom","backtrace":[],"worker":"h:1:*","queue":"bad\\xff","payload_base64":"6Q==","queue_base64":"YmFk/w=="}"#
        );
        // A UTF-8 name gains nothing.
        let plain = entry("q", Some(b"q"), FailedPayload::Json(&raw)).to_json();
        assert!(plain.ends_with(r#""queue":"q"}"#), "{plain}");
        let back =
            RawFailure::parse(&entry(r"bad\xff", Some(b"bad\xff"), FailedPayload::Json(&raw)).to_json())
                .unwrap();
        assert_eq!(back.original_queue().unwrap(), b"bad\xff");
    }
}
