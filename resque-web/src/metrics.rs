//! `/metrics` in the Prometheus text exposition format (0.0.4).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use resque::keys::stat;
use resque::Client;

use crate::api::ApiError;
use crate::read::blocking;

/// The content type of the Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `/metrics` reports, read in one go.
struct Snapshot {
    processed: u64,
    failed: u64,
    /// Failed runs retried rather than recorded as failed (`stat:retried`).
    retried: u64,
    queues: Vec<(String, u64)>,
    workers: usize,
    working: usize,
    failed_jobs: u64,
    paused: bool,
    delayed_jobs: u64,
    /// The scheduler master lock's value, when a scheduler holds it.
    leader: Option<String>,
}

impl Snapshot {
    fn read(c: &Client) -> Result<Self, ApiError> {
        let queues = c.queue_sizes()?;
        let (workers, working) = c.workers_and_working()?;
        Ok(Snapshot {
            processed: c.stat(stat::PROCESSED)?,
            failed: c.stat(stat::FAILED)?,
            retried: c.stat(stat::RETRIED)?,
            queues,
            working: working.len(),
            workers: workers.len(),
            failed_jobs: c.failed_count()?,
            paused: c.all_workers_paused()?,
            delayed_jobs: c.delayed_count()?,
            leader: crate::read::scheduler_leader(c)?,
        })
    }

    fn render(&self) -> String {
        let mut out = String::new();
        metric(
            &mut out,
            "resque_jobs_processed_total",
            "counter",
            "Jobs processed, failed ones included.",
            &[(None, self.processed)],
        );
        metric(&mut out, "resque_jobs_failed_total", "counter", "Jobs that failed.", &[(None, self.failed)]);
        metric(
            &mut out,
            "resque_jobs_retried_total",
            "counter",
            "Failed runs a retry policy retried rather than recorded as failed.",
            &[(None, self.retried)],
        );
        let lengths: Vec<(Option<&str>, u64)> =
            self.queues.iter().map(|(q, n)| (Some(q.as_str()), *n)).collect();
        metric(&mut out, "resque_queue_length", "gauge", "Jobs waiting in a queue.", &lengths);
        metric(&mut out, "resque_workers", "gauge", "Registered workers.", &[(None, self.workers as u64)]);
        metric(
            &mut out,
            "resque_workers_working",
            "gauge",
            "Workers processing a job now.",
            &[(None, self.working as u64)],
        );
        metric(
            &mut out,
            "resque_failed_jobs",
            "gauge",
            "Entries in the failed list.",
            &[(None, self.failed_jobs)],
        );
        metric(
            &mut out,
            "resque_workers_paused",
            "gauge",
            "1 when all workers are paused (pause-all-workers), else 0.",
            &[(None, u64::from(self.paused))],
        );
        metric(
            &mut out,
            "resque_delayed_jobs",
            "gauge",
            "Delayed jobs waiting for their second (resque-scheduler's delayed queue).",
            &[(None, self.delayed_jobs)],
        );
        metric_labelled(
            &mut out,
            "resque_scheduler_leader",
            "gauge",
            "1 when a scheduler holds the master lock (label leader: its host:pid), else 0.",
            "leader",
            &[(self.leader.as_deref(), u64::from(self.leader.is_some()))],
        );
        out
    }
}

/// Appends one metric family; a sample with `Some(queue)` carries the
/// `queue` label.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(Option<&str>, u64)]) {
    metric_labelled(out, name, kind, help, "queue", samples);
}

/// Appends one metric family; a sample with `Some(value)` carries the label `label`.
fn metric_labelled(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    label: &str,
    samples: &[(Option<&str>, u64)],
) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labelled, value) in samples {
        match labelled {
            Some(l) => {
                let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {value}", escape_label(l));
            }
            None => {
                let _ = writeln!(out, "{name} {value}");
            }
        }
    }
}

/// A label value escaped as the text format wants: `\\`, `\"` and `\n`.
pub(crate) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) async fn metrics(State(client): State<Client>) -> Result<impl IntoResponse, ApiError> {
    let snapshot = blocking(client, Snapshot::read).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], snapshot.render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("a\nb"), "a\\nb");
        assert_eq!(escape_label("file_serve"), "file_serve");
    }

    #[test]
    fn renders_every_family() {
        let s = Snapshot {
            processed: 3,
            failed: 1,
            retried: 5,
            queues: vec![("a\"q".into(), 2)],
            workers: 1,
            working: 0,
            failed_jobs: 1,
            paused: true,
            delayed_jobs: 4,
            leader: Some("web1:42".into()),
        };
        let text = s.render();
        assert!(text.contains("# TYPE resque_jobs_processed_total counter\nresque_jobs_processed_total 3\n"));
        assert!(text.contains("resque_queue_length{queue=\"a\\\"q\"} 2\n"));
        assert!(text.contains("resque_workers_paused 1\n"));
        assert!(text.contains("# TYPE resque_jobs_retried_total counter\nresque_jobs_retried_total 5\n"));
        assert!(text.contains("# TYPE resque_delayed_jobs gauge\nresque_delayed_jobs 4\n"));
        assert!(text.contains(
            "# TYPE resque_scheduler_leader gauge\nresque_scheduler_leader{leader=\"web1:42\"} 1\n"
        ));
        let none = Snapshot { leader: None, ..s }.render();
        assert!(none.contains("\nresque_scheduler_leader 0\n"), "{none}");
    }
}
