//! Failure `exception` names readers match on.

/// A child that died of a signal, or a job left on a worker that exited.
pub const DIRTY_EXIT: &str = "Resque::DirtyExit";
/// A job found on a pruned dead worker.
pub const PRUNE_DEAD_WORKER_DIRTY_EXIT: &str = "Resque::PruneDeadWorkerDirtyExit";
/// No job is registered under the payload's class.
pub const UNKNOWN_CLASS: &str = "NameError";
/// The payload's args do not fit the job function.
pub const BAD_ARGS: &str = "ArgumentError";
/// The payload is not a JSON object with `class` and an `args` array.
pub const BAD_PAYLOAD: &str = "JSON::ParserError";
/// The job panicked.
pub const PANIC: &str = "Panic";
/// A hook broke the rules (an `around_perform` that ran the job twice).
pub const HOOK: &str = "Resque::HookError";
/// The job ran past its time limit and was stopped.
pub const JOB_TIMEOUT: &str = "Resque::JobTimeout";
/// An admin cancelled a waiting retry whose kept failure had expired.
pub const RETRY_CANCELLED: &str = "Resque::RetryCancelled";
