//! The identity of a failure entry ([`FailureId`]), derived from its bytes
//! so that anyone can compute it and no key stores it.

use serde::Serialize;

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
