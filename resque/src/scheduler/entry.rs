//! A recurring schedule as resque-scheduler configures one: from the
//! schedule YAML (`--schedule FILE`, name → config) or from a dynamic
//! schedule's JSON in `persistent_schedules`. Keys: `cron` or `every`,
//! `class` (default: the name), `queue` (default: the job's own queue when
//! this program registers the class), `args` (a hash is wrapped in an
//! array, a scalar too, as Ruby does), `description`, and resque-rs's
//! opt-in `catch_up`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::timing::{parse_interval, CronTiming, Timing};
use crate::error::{Error, Result};
use crate::registry::Registry;

/// One recurring schedule.
#[derive(Debug, Clone)]
pub struct ScheduleEntry {
    /// Its name (the key in the YAML or in `persistent_schedules`).
    pub name: String,
    /// When it runs.
    pub timing: Timing,
    /// The job class enqueued.
    pub class: String,
    /// The queue, when the config names one.
    pub queue: Option<String>,
    /// The job's arguments (a JSON array).
    pub args: Vec<Value>,
    /// What it is for, as written.
    pub description: Option<String>,
    /// After downtime, run the latest missed slot once (resque-rs's own).
    pub catch_up: bool,
}

impl ScheduleEntry {
    /// Reads one schedule's config (a YAML or JSON object).
    ///
    /// ```
    /// use resque::scheduler::ScheduleEntry;
    /// let config = serde_json::json!({"every": ["30s", {"first_in": "5s"}], "class": "Archive",
    ///     "queue": "file_serve", "args": {"repo": 44}});
    /// let entry = ScheduleEntry::from_config("archive", &config).unwrap();
    /// assert_eq!(entry.args, [serde_json::json!({"repo": 44})]); // wrapped, as Ruby does
    /// ```
    pub fn from_config(name: &str, config: &Value) -> Result<Self> {
        let bad = |reason: String| Error::Schedule { name: name.to_string(), reason };
        let object = config
            .as_object()
            .ok_or_else(|| bad("expected a mapping of cron/every, class, queue, args".into()))?;
        let text = |key: &str| -> Result<Option<String>> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(bad(format!("{key} should be a string, not {other}"))),
            }
        };
        let timing = match (text("cron")?, object.get("every")) {
            (Some(cron), None) => Timing::Cron(Box::new(CronTiming::parse(&cron).map_err(bad)?)),
            (None, Some(every)) => every_timing(every).map_err(bad)?,
            (Some(_), Some(_)) => return Err(bad("give cron or every, not both".into())),
            (None, None) => return Err(bad("no cron or every: this schedule would never run".into())),
        };
        let args = match object.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(args)) => args.clone(),
            Some(other) => vec![other.clone()],
        };
        let catch_up = match object.get("catch_up") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(bad(format!("catch_up should be true or false, not {other}"))),
        };
        Ok(ScheduleEntry {
            name: name.to_string(),
            timing,
            class: text("class")?.unwrap_or_else(|| name.to_string()),
            queue: text("queue")?,
            args,
            description: text("description")?,
            catch_up,
        })
    }

    /// Reads a schedule YAML: a mapping of name → config.
    pub fn parse_file_text(text: &str) -> Result<Vec<Self>, String> {
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let map = match doc {
            Value::Null => return Ok(Vec::new()),
            Value::Object(map) => map,
            _ => return Err("expected a mapping of schedule name to its config".into()),
        };
        map.iter()
            .map(|(name, config)| ScheduleEntry::from_config(name, config).map_err(|e| e.to_string()))
            .collect()
    }

    /// The schedules jobs declare with `#[resque::job(cron = "...")]`, each
    /// named after its class, on the job's queue.
    pub fn declared(registry: &Registry) -> Result<Vec<Self>> {
        let mut entries = Vec::new();
        for class in registry.classes() {
            let Some(job) = registry.get(class) else { continue };
            let Some(schedule) = job.schedule else { continue };
            let bad = |reason: String| Error::Schedule { name: class.to_string(), reason };
            let cron = CronTiming::parse(schedule.cron).map_err(bad)?;
            let args = (schedule.args)().map_err(|e| bad(e.to_string()))?;
            let args: Vec<Value> = serde_json::from_str(&args).map_err(|e| bad(e.to_string()))?;
            entries.push(ScheduleEntry {
                name: class.to_string(),
                timing: Timing::Cron(Box::new(cron)),
                class: class.to_string(),
                queue: Some(job.queue.to_string()),
                args,
                description: Some(format!("declared on {}", job.location())),
                catch_up: false,
            });
        }
        Ok(entries)
    }

    /// The queue this schedule enqueues to: its own, else that of its job
    /// when `registry` links the class.
    pub fn queue_in(&self, registry: Option<&Registry>) -> Option<String> {
        self.queue.clone().or_else(|| registry?.get(&self.class).map(|j| j.queue.to_string()))
    }

    /// Enqueues this schedule's job once, now (Ruby's
    /// `Resque::Scheduler.enqueue_from_config`, as resque-web's "Queue
    /// now"): `delayed:last_enqueued_at` is left alone, so the next run
    /// stays when it was. Returns the queue. A schedule naming no queue
    /// takes its job's, when the job is linked into this program.
    pub fn enqueue_now(&self, client: &crate::client::Client) -> Result<String> {
        let registry = Registry::linked().ok();
        let queue = self.queue_in(registry.as_ref()).ok_or_else(|| Error::Schedule {
            name: self.name.clone(),
            reason: format!(
                "it names no queue, and this program links no job {} to take one from",
                self.class
            ),
        })?;
        client.enqueue_class(&queue, &self.class, &self.args)?;
        Ok(queue)
    }

    /// Reads the schedule YAML at `path` (`--schedule FILE`).
    pub fn load_file(path: &Path) -> Result<Vec<Self>> {
        let config = |reason: String| Error::Config { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| config(e.to_string()))?;
        ScheduleEntry::parse_file_text(&text).map_err(config)
    }
}

/// `every: "30s"` or `every: ["30s", {first_in: "5s"}]`.
fn every_timing(every: &Value) -> Result<Timing, String> {
    let (interval, options) = match every {
        Value::String(s) => (s.as_str(), None),
        Value::Number(n) => {
            return seconds(n.as_f64()).map(|interval| Timing::Every { interval, first_in: None })
        }
        Value::Array(parts) => match (parts.first(), parts.get(1)) {
            (Some(Value::String(s)), options) => (s.as_str(), options),
            _ => return Err(format!("every {every} should be an interval such as \"30s\"")),
        },
        other => return Err(format!("every {other} should be an interval such as \"30s\"")),
    };
    let interval = parse_interval(interval)?;
    let first_in = match options.and_then(|o| o.get("first_in")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_interval(s)?),
        Some(Value::Number(n)) => Some(seconds(n.as_f64())?),
        Some(other) => return Err(format!("first_in {other} should be an interval such as \"5s\"")),
    };
    Ok(Timing::Every { interval, first_in })
}

fn seconds(n: Option<f64>) -> Result<Duration, String> {
    n.and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| "an interval must be a positive number of seconds".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_yaml_as_resque_scheduler_reads_it() {
        let entries = ScheduleEntry::parse_file_text(
            r#"
nightly:
  cron: "0 3 * * * Europe/Berlin"
  class: "Reports::Nightly"
  queue: reports
  args:
    kind: full
  description: "the nightly report"
tick:
  every: ["30s", {first_in: "5s"}]
  queue: ticks
  args: [1, "x"]
  catch_up: true
bare:
  every: 1h
"#,
        )
        .unwrap();
        assert_eq!(entries.len(), 3);
        let nightly = entries.iter().find(|e| e.name == "nightly").unwrap();
        assert!(matches!(&nightly.timing, Timing::Cron(c) if c.as_str() == "0 3 * * * Europe/Berlin"));
        assert_eq!(nightly.class, "Reports::Nightly");
        assert_eq!(nightly.queue.as_deref(), Some("reports"));
        assert_eq!(nightly.args, [serde_json::json!({"kind": "full"})]);
        assert_eq!(nightly.description.as_deref(), Some("the nightly report"));
        assert!(!nightly.catch_up);
        let tick = entries.iter().find(|e| e.name == "tick").unwrap();
        assert!(matches!(tick.timing, Timing::Every { interval, first_in: Some(f) }
            if interval == Duration::from_secs(30) && f == Duration::from_secs(5)));
        assert_eq!(tick.class, "tick");
        assert_eq!(tick.args, [serde_json::json!(1), serde_json::json!("x")]);
        assert!(tick.catch_up);
        let bare = entries.iter().find(|e| e.name == "bare").unwrap();
        assert!(bare.args.is_empty() && bare.queue.is_none());
    }

    #[test]
    fn a_dynamic_schedule_s_json_as_ruby_persists_it() {
        let config: Value =
            serde_json::from_str(r#"{"every":["3s",{"first_in":"1s"}],"class":"Archive","args":[2]}"#)
                .unwrap();
        let entry = ScheduleEntry::from_config("dyn", &config).unwrap();
        assert!(matches!(entry.timing, Timing::Every { first_in: Some(_), .. }));
        assert_eq!(entry.args, [serde_json::json!(2)]);
        let scalar: Value = serde_json::from_str(r#"{"cron":"* * * * *","args":"one"}"#).unwrap();
        assert_eq!(ScheduleEntry::from_config("s", &scalar).unwrap().args, [serde_json::json!("one")]);
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (config, says) in [
            (r#"{"class":"A"}"#, "no cron or every"),
            (r#"{"cron":"61 * * * *"}"#, "invalid cron"),
            (r#"{"every":"soon"}"#, "invalid interval"),
            (r#"{"cron":"* * * * *","every":"1s"}"#, "not both"),
            (r#"{"every":"1s","catch_up":"yes"}"#, "catch_up"),
            ("[1]", "mapping"),
        ] {
            let config: Value = serde_json::from_str(config).unwrap();
            let e = ScheduleEntry::from_config("x", &config).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("x"), "{e}");
        }
        assert!(ScheduleEntry::parse_file_text("- a\n- b\n").is_err());
        assert!(ScheduleEntry::parse_file_text("").unwrap().is_empty());
    }
}
