//! How a worker runs (its options, Ruby's defaults) and why it stopped.

use std::time::Duration;

use crate::failure::FailureDestination;
use crate::queues::QueueList;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The queues to take jobs from, in priority order.
    pub queues: QueueList,
    /// How long to sleep when every queue is empty. Zero means: work until
    /// the queues are empty, then stop (Ruby's `work(0)`).
    pub interval: Duration,
    /// Run each job in a forked child (the default), or in this process.
    pub fork_per_job: bool,
    /// How often the worker writes its heartbeat (Ruby: 60 s).
    pub heartbeat_interval: Duration,
    /// Hard time limit for jobs that set none of their own.
    pub job_timeout: Option<Duration>,
    /// Stop a child with TERM (then KILL after `term_timeout`) instead of KILL.
    pub term_child: bool,
    /// With `term_child`: how long a child may go on before it is sent TERM.
    pub pre_shutdown_timeout: Duration,
    /// How long a child has between TERM and KILL (Ruby: 4 s).
    pub term_timeout: Duration,
    /// TERM behaves as QUIT.
    pub graceful_term: bool,
    /// Text put before `resque-<version>` in process titles.
    pub procline_prefix: Option<String>,
    /// Where failures are recorded (Ruby's failure backends; several at once
    /// is Ruby's `Multiple`). Default: the `failed` list.
    pub failure_backends: Vec<FailureDestination>,
    /// Record the failure of every run of a job with a retry policy in the
    /// failed lists, retried or not (Ruby's default without
    /// `MultipleWithRetrySuppression`). Default: only the run it gives up
    /// on; a retried run's failure is kept at its `failure-resque-retry:`
    /// key while the retry waits.
    pub record_retried_failures: bool,
    /// Keep at most this many entries in each failed list the worker
    /// writes, the oldest trimmed (as Sidekiq caps its dead set). Default:
    /// no cap.
    pub failed_max: Option<u64>,
}

impl WorkerOptions {
    /// Ruby's defaults for a queue list: poll every 5 s, fork per job.
    ///
    /// ```
    /// let list = resque::queues::QueueList::parse("critical,*").unwrap();
    /// let options = resque::WorkerOptions::new(list);
    /// assert!(options.fork_per_job);
    /// assert_eq!(options.interval.as_secs(), 5);
    /// ```
    pub fn new(queues: QueueList) -> Self {
        WorkerOptions {
            queues,
            interval: Duration::from_secs(5),
            fork_per_job: true,
            heartbeat_interval: Duration::from_secs(60),
            job_timeout: None,
            term_child: false,
            pre_shutdown_timeout: Duration::ZERO,
            term_timeout: Duration::from_secs(4),
            graceful_term: false,
            procline_prefix: None,
            failure_backends: vec![FailureDestination::Redis],
            record_retried_failures: false,
            failed_max: None,
        }
    }
}

/// Why [`Worker::work`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Interval zero, and every queue was empty.
    Drained,
    /// QUIT: the current job finished, then the worker stopped.
    Quit,
    /// TERM or INT: the current job was stopped.
    Terminated,
}
