//! A failure entry as stored, member by member, each value kept byte for
//! byte: what requeueing reads and rewrites.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::{PAYLOAD_BASE64, QUEUE_BASE64};

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
