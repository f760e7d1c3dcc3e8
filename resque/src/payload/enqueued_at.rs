//! When a job was enqueued, when its payload says: Resque's own payload
//! (`{"class", "args"}`) carries no such time, but two producers add one.

use jiff::Timestamp;
use serde_json::Value;

/// The enqueue time a payload carries, if any: a top-level `enqueued_at`
/// (Sidekiq's style: Unix seconds as a float, or an ISO-8601 string), else
/// ActiveJob's `args[0]["enqueued_at"]` (an ISO-8601 string, as Rails'
/// Resque adapter writes it). `None` for a payload with neither, or with
/// one that is not a time.
///
/// ```
/// use serde_json::json;
/// use resque::payload::enqueued_at;
///
/// let sidekiq = json!({"class": "Archive", "args": [], "enqueued_at": 1764633600.5});
/// assert_eq!(enqueued_at(&sidekiq).unwrap().as_millisecond(), 1_764_633_600_500);
/// let rails = json!({"class": "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper",
///     "args": [{"job_class": "MailJob", "enqueued_at": "2025-12-02T00:00:00.123456789Z"}]});
/// assert_eq!(enqueued_at(&rails).unwrap().as_second(), 1_764_633_600);
/// assert_eq!(enqueued_at(&json!({"class": "Archive", "args": [44]})), None);
/// ```
pub fn enqueued_at(payload: &Value) -> Option<Timestamp> {
    if let Some(at) = payload.get("enqueued_at") {
        return time_of(at);
    }
    let job = payload.get("args")?.as_array()?.first()?.as_object()?;
    job.get("enqueued_at").and_then(time_of)
}

/// A time written as Unix seconds (integer or float) or as text.
fn time_of(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => {
            let seconds = n.as_f64().filter(|s| s.is_finite())?;
            // To the microsecond (what a float of seconds since 1970 holds
            // exactly); a time jiff cannot hold is no time.
            Timestamp::from_microsecond((seconds * 1e6).round() as i64).ok()
        }
        Value::String(text) => super::time::parse_any(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_each_producers_time() {
        let at = |v: Value| enqueued_at(&v).map(|t| t.as_second());
        assert_eq!(at(json!({"enqueued_at": 1764633600})), Some(1_764_633_600));
        assert_eq!(at(json!({"enqueued_at": "2025-12-02T00:00:00Z"})), Some(1_764_633_600));
        assert_eq!(at(json!({"args": [{"enqueued_at": "2025-12-02T01:00:00+01:00"}]})), Some(1_764_633_600));
        // The top level wins; a bad one is no time, not the args' time.
        assert_eq!(at(json!({"enqueued_at": "soon", "args": [{"enqueued_at": 5}]})), None);
        for none in [
            json!({"class": "A", "args": []}),
            json!({"args": [1, {"enqueued_at": "2025-12-02T00:00:00Z"}]}),
            json!({"args": {"enqueued_at": "2025-12-02T00:00:00Z"}}),
            json!({"enqueued_at": null}),
            json!({"enqueued_at": 1e300}),
            json!("not a job"),
        ] {
            assert_eq!(at(none.clone()), None, "{none}");
        }
    }
}
