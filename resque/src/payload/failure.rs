//! A failure entry as read from a failed list, written by resque-rs or by
//! Ruby, with the id of the bytes it was read from.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{escape_bytes, from_json_bytes, FailureId};

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
    /// How many times the job ran before a retry policy gave up on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u64>,
    /// The entry's identity, derived from the bytes it was read from (see
    /// [`FailureId`]). Set by [`Failure::from_bytes`] and
    /// [`Failure::parse_lossy`], which every reader in this crate uses; a
    /// `Failure` deserialized some other way has the id of an empty entry.
    #[serde(skip_deserializing)]
    pub id: FailureId,
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
            attempts: None,
            id,
        }
    }
}
