//! Delayed items: a job waiting in `delayed:<unix s>` with its queue, as
//! resque-scheduler writes it (`class`, `args`, `queue`) or node-resque
//! (`class`, `queue`, `args`), and the payload it becomes when it is due.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;

use super::job::{encode_job, EncodeError};

/// Encodes a delayed item as resque-scheduler does: compact JSON, members
/// `class`, `args`, `queue` in that order, floats as Ruby spells them, so
/// that Ruby's `remove_delayed` (which matches by bytes) finds it.
///
/// ```
/// let item = resque::payload::encode_delayed("Archive", &(44, "masterbrew"), "file_serve").unwrap();
/// assert_eq!(item, r#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#);
/// ```
pub fn encode_delayed<A: Serialize + ?Sized>(
    class: &str,
    args: &A,
    queue: &str,
) -> Result<String, EncodeError> {
    let mut json = encode_job(class, args)?;
    json.pop(); // the closing brace
    json.push_str(",\"queue\":");
    json.push_str(&serde_json::to_string(queue)?);
    json.push('}');
    Ok(json)
}

/// A delayed item taken apart: the queue it goes to and the payload pushed
/// there, which is the item without its `queue` member, every other member
/// kept byte for byte in its order (resque-scheduler decodes the item and
/// pushes it again without `queue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueJob {
    /// The queue, as the item names it.
    pub queue: String,
    /// The payload for `queue:<queue>`.
    pub payload: String,
}

impl DueJob {
    /// Reads an item; `None` when it is not a JSON object with a string
    /// `queue` (such an item cannot be enqueued anywhere).
    ///
    /// ```
    /// use resque::payload::DueJob;
    /// let ruby = DueJob::from_item(br#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#).unwrap();
    /// let node = DueJob::from_item(br#"{"class":"Archive","queue":"file_serve","args":[44,"masterbrew"]}"#).unwrap();
    /// assert_eq!(ruby, node);
    /// assert_eq!(ruby.queue, "file_serve");
    /// assert_eq!(ruby.payload, r#"{"class":"Archive","args":[44,"masterbrew"]}"#);
    /// ```
    pub fn from_item(item: &[u8]) -> Option<DueJob> {
        let members = Members::parse(item)?;
        let mut queue = None;
        let mut payload = String::from("{");
        for (name, value) in &members.0 {
            if name == "queue" && queue.is_none() {
                queue = Some(serde_json::from_str::<String>(value.get()).ok()?);
                continue;
            }
            if payload.len() > 1 {
                payload.push(',');
            }
            payload.push_str(&serde_json::to_string(name).ok()?);
            payload.push(':');
            payload.push_str(value.get());
        }
        payload.push('}');
        Some(DueJob { queue: queue?, payload })
    }
}

/// An object's members in their order, each value as its exact text.
struct Members(Vec<(String, Box<RawValue>)>);

impl Members {
    fn parse(item: &[u8]) -> Option<Members> {
        let mut de = serde_json::Deserializer::from_slice(item);
        let members = de.deserialize_map(MembersVisitor).ok()?;
        de.end().ok()?;
        Some(members)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members, M::Error> {
        let mut members = Vec::new();
        while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
            members.push(entry);
        }
        Ok(Members(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_encoded_as_resque_scheduler_writes_them() {
        // Ruby: encode(job_to_hash_with_queue(queue, klass, args)): class, args, queue.
        assert_eq!(
            encode_delayed("Archive", &(44, "masterbrew"), "file_serve").unwrap(),
            r#"{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}"#
        );
        assert_eq!(
            encode_delayed("Fl", &(1e20, "é/"), "q\"").unwrap(),
            r#"{"class":"Fl","args":[1.0e+20,"é/"],"queue":"q\""}"#
        );
        assert!(encode_delayed("Archive", &44, "q").is_err());
    }

    #[test]
    fn a_due_item_keeps_every_member_but_its_queue_byte_for_byte() {
        let due =
            DueJob::from_item(br#"{"class":"Fl","args":[1.0e+20, 2.50],"queue":"q","id":"x"}"#).unwrap();
        assert_eq!(due.queue, "q");
        assert_eq!(due.payload, r#"{"class":"Fl","args":[1.0e+20, 2.50],"id":"x"}"#);
        let escaped = DueJob::from_item(br#"{"queue":"q\u00e9","class":"A","args":[]}"#).unwrap();
        assert_eq!((escaped.queue.as_str(), escaped.payload.as_str()), ("qé", r#"{"class":"A","args":[]}"#));
    }

    #[test]
    fn items_without_a_queue_are_not_jobs() {
        for bad in
            [&br#"{"class":"A","args":[]}"#[..], b"[1]", b"nope", br#"{"queue":1}"#, br#"{"queue":"q"} x"#]
        {
            assert_eq!(DueJob::from_item(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
