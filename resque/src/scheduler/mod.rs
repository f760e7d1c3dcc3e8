//! The scheduler: delayed and recurring jobs on resque-scheduler 5.0's keys,
//! so a Ruby app's delayed jobs and schedules are run by resque-rs and the
//! reverse (see `docs/PROTOCOL.md`).
//!
//! One scheduler leads at a time (`lock.rs`: resque-scheduler's master
//! lock, with a short TTL renewed often); only the leader promotes due
//! delayed items (`promote.rs`) and fires recurring schedules (`plan.rs`,
//! `fire.rs`, `entry.rs`, `timing.rs`), each write fenced by the lock in the
//! script that does it. The loop (`run.rs`) sleeps until the earliest due
//! second, wakes when `delayed_wake` announces an earlier one, and looks
//! again at least every `check_interval`.
//!
//! ```no_run
//! use resque::scheduler::{Scheduler, SchedulerOptions, ScheduleEntry};
//!
//! fn main() -> Result<(), resque::Error> {
//!     let mut options = SchedulerOptions::from_env();
//!     options.schedules = ScheduleEntry::load_file("config/schedule.yml".as_ref())?;
//!     let mut scheduler = Scheduler::new(resque::Client::from_env()?, options)?;
//!     scheduler.run() // until QUIT, TERM or INT; the lock is released
//! }
//! ```

mod dynamic;
mod entry;
mod fire;
mod lock;
mod plan;
mod promote;
mod run;
mod timing;

use std::time::Duration;

use jiff::Timestamp;

pub use entry::ScheduleEntry;
pub use lock::leader;
pub use run::Tick;
pub use timing::{format_interval, parse_interval, CronTiming, Timing};

use crate::client::Client;
use crate::error::Result;
use crate::registry::Registry;
use crate::wake::Wake;
use lock::MasterLock;
use plan::Plan;

/// How a scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// `RESQUE_SCHEDULER_MASTER_LOCK_PREFIX`: placed in the lock's name, to
    /// run several independent schedulers on one namespace.
    pub lock_prefix: Option<String>,
    /// The lock's TTL, renewed every `check_interval` (at most a third of
    /// it) while this scheduler leads: how soon another takes over after
    /// this one is killed.
    pub lock_ttl: Duration,
    /// The longest sleep: how often the lock is renewed (or, by a follower,
    /// tried) and delayed items added without a publish (by Ruby or
    /// node-resque) are looked for.
    pub check_interval: Duration,
    /// Static schedules (the schedule file).
    pub schedules: Vec<ScheduleEntry>,
    /// Whether to run the dynamic schedules of `persistent_schedules`.
    pub dynamic: bool,
}

impl Default for SchedulerOptions {
    /// A 3 s lock renewed every 0.5 s; no static schedule; dynamic ones on.
    fn default() -> Self {
        SchedulerOptions {
            lock_prefix: None,
            lock_ttl: Duration::from_secs(3),
            check_interval: Duration::from_millis(500),
            schedules: Vec::new(),
            dynamic: true,
        }
    }
}

impl SchedulerOptions {
    /// The defaults, with `RESQUE_SCHEDULER_MASTER_LOCK_PREFIX` read.
    pub fn from_env() -> Self {
        let lock_prefix = std::env::var("RESQUE_SCHEDULER_MASTER_LOCK_PREFIX").ok().filter(|p| !p.is_empty());
        SchedulerOptions { lock_prefix, ..SchedulerOptions::default() }
    }
}

/// A recurring schedule as listed: its config, where it comes from, and
/// its runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The schedule.
    pub entry: ScheduleEntry,
    /// From `persistent_schedules` (else the schedule file).
    pub dynamic: bool,
    /// Its next slot.
    pub next_run: Option<Timestamp>,
    /// Its last run, as `delayed:last_enqueued_at` records it.
    pub last_run: Option<String>,
}

impl Schedule {
    /// The queue its job goes to: its own, else that of its job when the
    /// job is linked into this program.
    pub fn queue(&self) -> Option<String> {
        self.entry
            .queue
            .clone()
            .or_else(|| crate::registry::linked(&self.entry.class).map(|j| j.queue.to_string()))
    }
}

/// As `resque-cli schedule list --json` and `/api/schedules` show it:
/// `name`, `class`, `queue` (its job's when it names none and the job is
/// linked here), `args`, `cron` or `every` (the other `null`), `first_in`,
/// `description`, `catch_up`, `dynamic`, `next_run` (Ruby's `Time#to_s`)
/// and `next_run_at` (its Unix second), `last_run` (as recorded).
impl serde::Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let e = &self.entry;
        let (cron, every, first_in) = match &e.timing {
            Timing::Cron(cron) => (Some(cron.as_str().to_string()), None, None),
            Timing::Every { interval, first_in } => {
                (None, Some(format_interval(*interval)), first_in.map(format_interval))
            }
        };
        let mut s = serializer.serialize_struct("Schedule", 13)?;
        s.serialize_field("name", &e.name)?;
        s.serialize_field("class", &e.class)?;
        s.serialize_field("queue", &self.queue())?;
        s.serialize_field("args", &e.args)?;
        s.serialize_field("cron", &cron)?;
        s.serialize_field("every", &every)?;
        s.serialize_field("first_in", &first_in)?;
        s.serialize_field("description", &e.description)?;
        s.serialize_field("catch_up", &e.catch_up)?;
        s.serialize_field("dynamic", &self.dynamic)?;
        s.serialize_field("next_run", &self.next_run.map(crate::payload::time::started))?;
        s.serialize_field("next_run_at", &self.next_run.map(|t| t.as_second()))?;
        s.serialize_field("last_run", &self.last_run)?;
        s.end()
    }
}

/// A scheduler: see the module docs.
pub struct Scheduler {
    client: Client,
    options: SchedulerOptions,
    lock: MasterLock,
    leading: bool,
    plan: Plan,
    registry: Option<Registry>,
    wake: Option<Wake>,
}

impl Scheduler {
    /// A scheduler on `client`'s namespace; it leads once [`Scheduler::run`]
    /// or [`Scheduler::run_once`] takes the lock.
    pub fn new(client: Client, mut options: SchedulerOptions) -> Result<Self> {
        // Renewed at least three times per TTL, so one slow look does not lose it.
        if options.check_interval.is_zero() || options.check_interval * 3 > options.lock_ttl {
            let check = (options.lock_ttl / 3).max(Duration::from_millis(10));
            tracing::warn!(?check, "check_interval must be under a third of lock_ttl: using {check:?}");
            options.check_interval = check;
        }
        let lock = MasterLock::new(&client, options.lock_prefix.as_deref(), options.lock_ttl)?;
        // The queue of a schedule that names none: its job's, when linked here.
        let registry = Registry::linked().ok();
        options.schedules = with_declared(std::mem::take(&mut options.schedules), registry.as_ref())?;
        Ok(Scheduler { client, options, lock, leading: false, plan: Plan::default(), registry, wake: None })
    }

    /// Whether this scheduler led at its last look.
    pub fn is_leader(&self) -> bool {
        self.leading
    }

    /// The master lock's key and this scheduler's value in it.
    pub fn lock(&self) -> (&str, &str) {
        (&self.lock.key, &self.lock.value)
    }

    /// Promotes every delayed item due now, if this scheduler leads (it
    /// takes the lock when free): how many were moved.
    pub fn promote_due(&mut self) -> Result<usize> {
        self.leading = self.lock.hold(&self.client)?;
        if !self.leading {
            return Ok(0);
        }
        let done = promote::promote_due(&self.client, &self.lock, Timestamp::now().as_second())?;
        self.leading = !done.deposed;
        Ok(done.moved)
    }

    /// Every schedule, static and dynamic, with its next and last run.
    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        listed(&self.client, &self.options.schedules, self.options.dynamic, |name| self.plan.next_of(name))
    }
}

/// The static schedules a program knows: `file`'s (the schedule YAML) and
/// those declared on the jobs linked into it (`#[resque::job(cron = ...)]`),
/// unless the file names them too.
pub fn static_schedules(file: Vec<ScheduleEntry>) -> Result<Vec<ScheduleEntry>> {
    with_declared(file, Registry::linked().ok().as_ref())
}

fn with_declared(mut file: Vec<ScheduleEntry>, registry: Option<&Registry>) -> Result<Vec<ScheduleEntry>> {
    if let Some(registry) = registry {
        for declared in ScheduleEntry::declared(registry)? {
            if !file.iter().any(|e| e.name == declared.name) {
                file.push(declared);
            }
        }
    }
    Ok(file)
}

/// Every schedule, the static ones given and the dynamic ones in
/// `persistent_schedules` (replacing a static one of their name), with
/// their next run (from `now` and the last run: what a leader plans) and
/// last run, as resque-web's Schedule tab and `resque-cli schedule list`
/// show them, without a scheduler running here.
pub fn schedules(client: &Client, statics: &[ScheduleEntry]) -> Result<Vec<Schedule>> {
    listed(client, statics, true, |_| None)
}

/// Every schedule and who leads, as `resque-cli schedule list --json` and
/// `/api/schedules` show them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScheduleListing {
    /// The master lock's value (`<host>:<pid>`), `None` when no scheduler leads.
    pub leader: Option<String>,
    /// Every schedule ([`schedules`]).
    pub schedules: Vec<Schedule>,
}

/// [`schedules`] and the leader under this environment's lock prefix
/// (`RESQUE_SCHEDULER_MASTER_LOCK_PREFIX`).
pub fn listing(client: &Client, statics: &[ScheduleEntry]) -> Result<ScheduleListing> {
    let leader = leader(client, SchedulerOptions::from_env().lock_prefix.as_deref())?;
    Ok(ScheduleListing { leader, schedules: schedules(client, statics)? })
}

fn listed(
    client: &Client,
    statics: &[ScheduleEntry],
    dynamic: bool,
    planned: impl Fn(&str) -> Option<Timestamp>,
) -> Result<Vec<Schedule>> {
    let last = plan::last_runs(client)?;
    let dynamic = if dynamic { plan::dynamic_schedules(client)? } else { Vec::new() };
    let now = Timestamp::now();
    Ok(plan::merged(statics, dynamic)
        .into_iter()
        .map(|(entry, dynamic)| {
            let last_run = last.get(&entry.name).cloned();
            let last_at = last_run.as_deref().and_then(crate::payload::time::parse_any);
            let next_run = planned(&entry.name).or_else(|| entry.timing.next_after(now, last_at));
            Schedule { entry, dynamic, next_run, last_run }
        })
        .collect())
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").field("lock", &self.lock).field("leading", &self.leading).finish()
    }
}

#[cfg(test)]
mod tests;
