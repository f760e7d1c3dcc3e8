//! Unit tests of the failure entry shapes: members in Ruby's order, ids,
//! and entries read back from bytes.

use serde_json::value::RawValue;
use serde_json::Value;

use super::*;

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
        attempts: None,
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
    let retried = format!(r#"{},"retried_at":"2026/11/24 00:10:00"}}"#, &RUBY_ENTRY[..RUBY_ENTRY.len() - 1]);
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
        attempts: None,
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
        attempts: None,
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
        RawFailure::parse(&entry(r"bad\xff", Some(b"bad\xff"), FailedPayload::Json(&raw)).to_json()).unwrap();
    assert_eq!(back.original_queue().unwrap(), b"bad\xff");
}
