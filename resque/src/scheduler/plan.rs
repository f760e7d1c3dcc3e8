//! The leader's plan of recurring schedules: static ones from the schedule
//! file and dynamic ones from `persistent_schedules` (reloaded when
//! `schedules_changed` names them), each with its next slot. On becoming
//! leader the plan starts from `delayed:last_enqueued_at`, so the slots of
//! an `every` schedule stay on the previous leader's grid; a slot missed
//! during a leader change (within `grace`) runs once, and after downtime
//! the latest missed slot runs once when the schedule asks `catch_up`.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::entry::ScheduleEntry;
use super::fire::{fire, Fired};
use super::lock::MasterLock;
use crate::client::Client;
use crate::error::Result;
use crate::registry::Registry;

/// One schedule in the plan.
#[derive(Debug)]
struct Planned {
    entry: ScheduleEntry,
    dynamic: bool,
    /// The queue and payload it enqueues; `None` when it cannot run.
    job: Option<(String, String)>,
    next: Option<Timestamp>,
}

/// Every schedule this scheduler runs while it leads.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    schedules: BTreeMap<String, Planned>,
}

/// What firing due slots did.
#[derive(Debug, Default)]
pub(crate) struct FiredCount {
    pub(crate) enqueued: usize,
    pub(crate) deposed: bool,
}

/// The runs recorded in `delayed:last_enqueued_at`, as text.
pub(crate) fn last_runs(client: &Client) -> Result<BTreeMap<String, String>> {
    let key = client.keys().last_enqueued_at();
    client.with_conn(|conn| redis::cmd("HGETALL").arg(&key).query(conn))
}

/// The dynamic schedules in `persistent_schedules`; a config that cannot
/// be read is logged and left out.
pub(crate) fn dynamic_schedules(client: &Client) -> Result<Vec<ScheduleEntry>> {
    let key = client.keys().persistent_schedules();
    let all: BTreeMap<String, String> =
        client.with_conn(|conn| redis::cmd("HGETALL").arg(&key).query(conn))?;
    Ok(all.iter().filter_map(|(name, json)| read_dynamic(name, json)).collect())
}

fn read_dynamic(name: &str, json: &str) -> Option<ScheduleEntry> {
    let parsed = serde_json::from_str(json)
        .map_err(|e| e.to_string())
        .and_then(|config| ScheduleEntry::from_config(name, &config).map_err(|e| e.to_string()));
    match parsed {
        Ok(entry) => Some(entry),
        Err(e) => {
            tracing::error!(
                schedule = name,
                config = json,
                "a dynamic schedule cannot be read, not run: {e}"
            );
            None
        }
    }
}

/// The static schedules and the dynamic ones (flagged `true`), a dynamic
/// one replacing a static one of its name.
pub(crate) fn merged(statics: &[ScheduleEntry], dynamic: Vec<ScheduleEntry>) -> Vec<(ScheduleEntry, bool)> {
    let mut all: Vec<(ScheduleEntry, bool)> = statics
        .iter()
        .filter(|e| !dynamic.iter().any(|d| d.name == e.name))
        .map(|e| (e.clone(), false))
        .collect();
    all.extend(dynamic.into_iter().map(|e| (e, true)));
    all
}

/// The queue and payload `entry` enqueues.
fn job_of(entry: &ScheduleEntry, registry: Option<&Registry>) -> Option<(String, String)> {
    let Some(queue) = entry.queue_in(registry) else {
        tracing::error!(
            schedule = entry.name,
            class = entry.class,
            "a schedule names no queue and this program registers no job {} to take it from: not run",
            entry.class
        );
        return None;
    };
    match crate::payload::encode_job(&entry.class, &entry.args) {
        Ok(payload) => Some((queue, payload)),
        Err(e) => {
            tracing::error!(schedule = entry.name, "a schedule's args cannot be encoded, not run: {e}");
            None
        }
    }
}

impl Plan {
    /// Starts the plan as a new leader: every schedule's next slot from its
    /// last recorded run; a slot missed within `grace` (a leader change), or
    /// any missed slot for `catch_up`, is fired once now.
    pub(crate) fn start(
        client: &Client,
        lock: &MasterLock,
        schedules: impl IntoIterator<Item = (ScheduleEntry, bool)>,
        registry: Option<&Registry>,
        grace: Duration,
    ) -> Result<(Plan, FiredCount)> {
        let last = last_runs(client)?;
        let mut plan = Plan::default();
        let mut count = FiredCount::default();
        let now = Timestamp::now();
        for (entry, dynamic) in schedules {
            let planned = plan.insert(entry, dynamic, registry);
            let last = last.get(&planned.entry.name).and_then(|t| crate::payload::time::parse_any(t));
            let mut from = last;
            if let (Some(slot), Some(_)) = (planned.entry.timing.missed(now, last), &planned.job) {
                let recent = now.duration_since(slot) <= SignedDuration::try_from(grace).unwrap_or_default();
                if planned.entry.catch_up || recent {
                    tracing::info!(schedule = planned.entry.name, %slot, "running a missed slot once");
                    Self::fire_one(client, lock, planned, slot, &mut count)?;
                    from = Some(slot);
                }
            }
            planned.next = planned.entry.timing.next_after(now, from);
            if count.deposed {
                break;
            }
        }
        Ok((plan, count))
    }

    fn insert(&mut self, entry: ScheduleEntry, dynamic: bool, registry: Option<&Registry>) -> &mut Planned {
        let job = job_of(&entry, registry);
        let planned = Planned { entry, dynamic, job, next: None };
        match self.schedules.entry(planned.entry.name.clone()) {
            Entry::Occupied(mut there) => {
                there.insert(planned);
                there.into_mut()
            }
            Entry::Vacant(free) => free.insert(planned),
        }
    }

    fn fire_one(
        client: &Client,
        lock: &MasterLock,
        planned: &Planned,
        slot: Timestamp,
        count: &mut FiredCount,
    ) -> Result<()> {
        let Some((queue, payload)) = &planned.job else { return Ok(()) };
        match fire(client, lock, &planned.entry.name, slot, queue, payload)? {
            Fired::Enqueued => {
                tracing::info!(schedule = planned.entry.name, queue = queue.as_str(), %slot, "enqueued");
                count.enqueued += 1;
            }
            Fired::Already => tracing::debug!(schedule = planned.entry.name, %slot, "already enqueued"),
            Fired::Deposed => count.deposed = true,
        }
        Ok(())
    }

    /// Fires every slot due at `now`, once each; moves each schedule on to
    /// its first slot after `now`.
    pub(crate) fn fire_due(
        &mut self,
        client: &Client,
        lock: &MasterLock,
        now: Timestamp,
    ) -> Result<FiredCount> {
        let mut count = FiredCount::default();
        for planned in self.schedules.values_mut() {
            let Some(slot) = planned.next.filter(|next| *next <= now) else { continue };
            Self::fire_one(client, lock, planned, slot, &mut count)?;
            if count.deposed {
                return Ok(count);
            }
            planned.next = planned.entry.timing.next_after(now, Some(slot));
        }
        Ok(count)
    }

    /// Applies the dynamic schedules named in `schedules_changed` (SPOP, as
    /// Ruby's scheduler drains it): changed ones replanned, removed ones gone.
    pub(crate) fn reload_changed(&mut self, client: &Client, registry: Option<&Registry>) -> Result<usize> {
        let keys = client.keys();
        let (changed_key, persistent) = (keys.schedules_changed(), keys.persistent_schedules());
        let names: Vec<String> =
            client.with_conn(|conn| redis::cmd("SPOP").arg(&changed_key).arg(100).query(conn))?;
        if names.is_empty() {
            return Ok(0);
        }
        let last = last_runs(client)?;
        let now = Timestamp::now();
        for name in &names {
            let json: Option<String> =
                client.with_conn(|conn| redis::cmd("HGET").arg(&persistent).arg(name).query(conn))?;
            if self.schedules.get(name).is_some_and(|p| p.dynamic) {
                self.schedules.remove(name);
            }
            match json.as_deref().and_then(|json| read_dynamic(name, json)) {
                Some(entry) => {
                    tracing::info!(schedule = name, "dynamic schedule loaded");
                    let planned = self.insert(entry, true, registry);
                    let last = last.get(name).and_then(|t| crate::payload::time::parse_any(t));
                    planned.next = planned.entry.timing.next_after(now, last);
                }
                None => tracing::info!(schedule = name, "dynamic schedule removed"),
            }
        }
        Ok(names.len())
    }

    /// The earliest next slot.
    pub(crate) fn next(&self) -> Option<Timestamp> {
        self.schedules.values().filter_map(|p| p.next).min()
    }

    /// A schedule's planned next slot.
    pub(crate) fn next_of(&self, name: &str) -> Option<Timestamp> {
        self.schedules.get(name).and_then(|p| p.next)
    }
}
