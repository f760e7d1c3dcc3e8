//! Bytes from Redis as text: what every reader shows of a value that is
//! not UTF-8 (`\xNN` for each such byte), and JSON parsed from such bytes.

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
