//! A failure entry as written: its payload, chosen so every reader can
//! show it and a retry can push back the original bytes, and its members
//! in Ruby's order.

use serde::Serialize;
use serde_json::value::RawValue;

use super::escape_bytes;

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
    /// How many times the job ran, when a retry policy gave up on it
    /// (written as `attempts`, added by resque-rs; readers that do not know
    /// it ignore it).
    pub attempts: Option<u32>,
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
        let mut map = serializer.serialize_map(Some(
            7 + usize::from(bytes.is_some())
                + usize::from(raw_queue.is_some())
                + usize::from(self.attempts.is_some()),
        ))?;
        map.serialize_entry("failed_at", &self.failed_at)?;
        map.serialize_entry("payload", &self.payload)?;
        map.serialize_entry("exception", self.exception)?;
        map.serialize_entry("error", self.error)?;
        map.serialize_entry("backtrace", self.backtrace)?;
        map.serialize_entry("worker", self.worker)?;
        map.serialize_entry("queue", self.queue)?;
        if let Some(attempts) = self.attempts {
            map.serialize_entry("attempts", &attempts)?;
        }
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
