//! The failure list's pure parts (filters, retry preparation), and its
//! scripts against a real Redis: `requeue.lua` and `remove.lua`.

mod remove;
mod requeue;

use super::*;
use crate::test_redis::TestRedis;

#[test]
fn failure_filter_matches_class_and_queue() {
    let f = Failure::parse_lossy(
        serde_json::json!({"payload": {"class": "Archive", "args": []}, "queue": "file_serve"}).to_string(),
    );
    assert!(matches(&f, None, None));
    assert!(matches(&f, Some("Archive"), Some("file_serve")));
    assert!(!matches(&f, Some("Other"), None));
    assert!(!matches(&f, None, Some("mail")));
}

#[test]
fn retry_keeps_payload_bytes_and_appends_retried_at() {
    let raw = r#"{"failed_at":"2026/11/23 23:50:00 UTC","payload":{"class":"A","queue":"q","args":[1.50,"\u00e9"]},"exception":"E","error":"e","backtrace":[],"worker":"w","queue":"q"}"#;
    let retry = prepare_retry(3, raw).unwrap();
    assert_eq!(retry.queue, b"q");
    assert_eq!(retry.payload, br#"{"class":"A","queue":"q","args":[1.50,"\u00e9"]}"#);
    let prefix = &raw[..raw.len() - 1];
    assert!(retry.entry.starts_with(prefix), "{}", retry.entry);
    assert!(retry.entry.contains(r#","retried_at":""#), "{}", retry.entry);
}

#[test]
fn retry_goes_to_the_queue_named_by_queue_base64() {
    // `queue` is the name as text (the byte 0xff as `\xff`), and
    // `queue_base64` the exact name: base64 of b"bad\xff" is "YmFk/w==".
    let raw = r#"{"payload":{"class":"A","args":[]},"queue":"bad\\xff","queue_base64":"YmFk/w=="}"#;
    assert_eq!(prepare_retry(0, raw).unwrap().queue, b"bad\xff");
}

#[test]
fn text_payload_is_pushed_as_its_text() {
    let raw = r#"{"payload":"{nope","queue":"q"}"#;
    assert_eq!(prepare_retry(0, raw).unwrap().payload, b"{nope");
}

#[test]
fn unusable_entries_say_why() {
    for (raw, why) in [
        ("nope", "not a JSON object"),
        (r#"{"payload":{"class":"A","args":[]}}"#, "no queue"),
        (r#"{"queue":"q"}"#, "no payload"),
        (r#"{"queue":"q","payload":[1]}"#, "not a job"),
    ] {
        let err = prepare_retry(7, raw).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(why) && err.contains("index 7"), "{raw}: {err}");
    }
}

/// A job of the class `Archive`, as Ruby enqueues it.
fn job(arg: u32) -> String {
    format!(r#"{{"class":"Archive","args":[{arg},"masterbrew"]}}"#)
}

/// A failure entry as Ruby's `Failure::Redis` writes it, of [`job`] `arg`
/// from `queue`.
fn entry_from(queue: &str, arg: u32) -> String {
    format!(
        r#"{{"failed_at":"2026/11/23 23:50:00 UTC","payload":{},"exception":"Errno::ENOENT","error":"No such file or directory","backtrace":["..."],"worker":"web1:4211:{queue}","queue":"{queue}"}}"#,
        job(arg)
    )
}

/// [`entry_from`] the queue `file_serve`.
fn entry(arg: u32) -> String {
    entry_from("file_serve", arg)
}

/// The keys of the queue `file_serve` and of the multi-queue backend's lists.
const FILE_SERVE: &str = "resque:queue:file_serve";
const FAILED_QUEUES: &str = "resque:failed_queues";
const FILE_SERVE_FAILED: &str = "resque:file_serve_failed";
const MAIL_FAILED: &str = "resque:mail_failed";

/// A server and a client, `key` holding `entries`.
fn holding(key: &str, entries: &[&str]) -> (TestRedis, Client) {
    let (mut r, client) = TestRedis::start_with_client();
    let mut words = vec!["RPUSH", key];
    words.extend(entries);
    r.exec(&words);
    (r, client)
}

/// Two lists of the multi-queue backend: `file_serve_failed` with one
/// entry, `mail_failed` with two (overall indexes 1 and 2).
fn two_failed_lists(r: &mut TestRedis) -> [String; 3] {
    let entries = [entry(0), entry_from("mail", 1), entry_from("mail", 2)];
    r.exec(&["SADD", FAILED_QUEUES, "file_serve_failed", "mail_failed"]);
    r.exec(&["RPUSH", FILE_SERVE_FAILED, &entries[0]]);
    r.exec(&["RPUSH", MAIL_FAILED, &entries[1], &entries[2]]);
    entries
}
