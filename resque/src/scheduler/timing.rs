//! When a recurring schedule runs: a cron expression (5 fields, optionally
//! followed by a time zone, as resque-scheduler's `cron: "0 3 * * *
//! Europe/Berlin"`) or `every` an interval (`30s`, `1h`, `1h30m`, `2d`).
//! Cron fields are parsed by `croner` and matched on the zone's civil time;
//! the zone itself (DST gaps and folds) is applied with jiff.

use std::str::FromStr;
use std::time::Duration;

use croner::Cron;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// A cron expression and the zone it is read in.
#[derive(Debug, Clone)]
pub struct CronTiming {
    text: String,
    cron: Cron,
    zone: TimeZone,
}

impl CronTiming {
    /// Parses `"<5 fields> [Time/Zone]"`; the zone defaults to the system's.
    ///
    /// ```
    /// use resque::scheduler::CronTiming;
    /// let berlin = CronTiming::parse("0 3 * * * Europe/Berlin").unwrap();
    /// let next = berlin.next_after("2026-12-01T12:00:00Z".parse().unwrap()).unwrap();
    /// assert_eq!(next.to_string(), "2026-12-02T02:00:00Z"); // 03:00 in Berlin, UTC+1
    /// assert!(CronTiming::parse("61 * * * *").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (fields, zone) = match words.len() {
            5 => (words.join(" "), TimeZone::system()),
            6 => {
                let zone =
                    TimeZone::get(words[5]).map_err(|e| format!("unknown time zone {:?}: {e}", words[5]))?;
                (words[..5].join(" "), zone)
            }
            n => return Err(format!("expected 5 fields and an optional time zone, found {n} words")),
        };
        let cron = Cron::from_str(&fields).map_err(|e| format!("invalid cron expression {fields:?}: {e}"))?;
        Ok(CronTiming { text: text.to_string(), cron, zone })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let mut civil = after.to_zoned_datetime(self.zone.clone()).datetime();
        // A civil time can come twice (a DST fold) or never (a gap): search
        // on until the zone maps one to an instant after `after`.
        for _ in 0..4 {
            let next = self.cron.find_next_occurrence(&to_naive(civil)?, false).ok()?;
            civil = from_naive(next)?;
            let at = self.zone.to_ambiguous_timestamp(civil).compatible().ok()?;
            if at > after {
                return Some(at);
            }
        }
        None
    }

    /// The last run at or before `at`.
    pub fn last_at_or_before(&self, at: Timestamp) -> Option<Timestamp> {
        let civil = at.to_zoned_datetime(self.zone.clone()).datetime();
        let prev = self.cron.find_previous_occurrence(&to_naive(civil)?, true).ok()?;
        let found = self.zone.to_ambiguous_timestamp(from_naive(prev)?).compatible().ok()?;
        (found <= at).then_some(found)
    }
}

fn to_naive(civil: DateTime) -> Option<chrono::NaiveDateTime> {
    let date =
        chrono::NaiveDate::from_ymd_opt(civil.year().into(), civil.month() as u32, civil.day() as u32)?;
    date.and_hms_opt(civil.hour() as u32, civil.minute() as u32, civil.second() as u32)
}

fn from_naive(naive: chrono::NaiveDateTime) -> Option<DateTime> {
    use chrono::{Datelike, Timelike};
    let year = i16::try_from(naive.year()).ok()?;
    DateTime::new(
        year,
        naive.month() as i8,
        naive.day() as i8,
        naive.hour() as i8,
        naive.minute() as i8,
        naive.second() as i8,
        0,
    )
    .ok()
}

/// Parses an interval as resque-scheduler (rufus) writes them: a number
/// and a unit, repeated (`30s`, `5m`, `1h30m`, `2d`, `1w`, `500ms`); a bare
/// number is seconds.
///
/// ```
/// use std::time::Duration;
/// use resque::scheduler::parse_interval;
/// assert_eq!(parse_interval("30s").unwrap(), Duration::from_secs(30));
/// assert_eq!(parse_interval("1h30m").unwrap(), Duration::from_secs(5400));
/// assert!(parse_interval("0s").is_err());
/// ```
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid interval {text:?}: expected such as 30s, 5m, 1h, 1d");
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok().filter(|d| !d.is_zero()).ok_or_else(bad);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 7.0 * 86400.0,
            _ => return Err(bad()),
        };
        total += Duration::try_from_secs_f64(number * seconds).map_err(|_| bad())?;
        rest = tail.trim_start();
    }
    if total.is_zero() {
        return Err(bad());
    }
    Ok(total)
}

/// An interval as resque-scheduler writes one: `30s`, `5m`, `1h30m`,
/// `2d`, `500ms` (the largest units first).
///
/// ```
/// use std::time::Duration;
/// use resque::scheduler::format_interval;
/// assert_eq!(format_interval(Duration::from_secs(5400)), "1h30m");
/// assert_eq!(format_interval(Duration::from_millis(1500)), "1s500ms");
/// ```
pub fn format_interval(interval: Duration) -> String {
    let mut out = String::new();
    let mut secs = interval.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    let ms = interval.subsec_millis();
    if ms > 0 || out.is_empty() {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

/// When a schedule runs.
#[derive(Debug, Clone)]
pub enum Timing {
    /// At each time a cron expression matches.
    Cron(Box<CronTiming>),
    /// Every `interval`, the first run `first_in` after the scheduler
    /// starts (default: one interval), then on the grid of the last run.
    Every {
        /// Between runs.
        interval: Duration,
        /// Before the first run, when nothing ran yet.
        first_in: Option<Duration>,
    },
}

impl std::fmt::Display for Timing {
    /// `cron 0 3 * * * Europe/Berlin`, `every 30s`, `every 30s (first in 5s)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Timing::Cron(cron) => write!(f, "cron {}", cron.as_str()),
            Timing::Every { interval, first_in: None } => write!(f, "every {}", format_interval(*interval)),
            Timing::Every { interval, first_in: Some(first) } => {
                write!(f, "every {} (first in {})", format_interval(*interval), format_interval(*first))
            }
        }
    }
}

impl Timing {
    /// The first slot strictly after `now`, on the grid of `last` for
    /// `every` (so that every scheduler, and the next leader, agree).
    pub fn next_after(&self, now: Timestamp, last: Option<Timestamp>) -> Option<Timestamp> {
        match self {
            Timing::Cron(cron) => cron.next_after(now),
            Timing::Every { interval, first_in } => {
                let step = SignedDuration::try_from(*interval).ok()?;
                match last {
                    Some(last) if last <= now => {
                        let since = now.duration_since(last).as_nanos();
                        let k = since / step.as_nanos() + 1;
                        last.checked_add(step.checked_mul(i32::try_from(k).ok()?)?).ok()
                    }
                    Some(last) => Some(last),
                    None => {
                        let first = SignedDuration::try_from(first_in.unwrap_or(*interval)).ok()?;
                        // On a whole second, as Ruby records runs.
                        let at = now.checked_add(first).ok()?;
                        let whole = Timestamp::from_second(at.as_second()).ok()?;
                        Some(if whole < at {
                            whole.checked_add(SignedDuration::from_secs(1)).ok()?
                        } else {
                            whole
                        })
                    }
                }
            }
        }
    }

    /// The latest slot at or before `now` that is after `last`: a run
    /// missed while no scheduler led (`None` when there is none, or when
    /// nothing ever ran and so nothing is known to be missed).
    pub fn missed(&self, now: Timestamp, last: Option<Timestamp>) -> Option<Timestamp> {
        let last = last?;
        let slot = match self {
            Timing::Cron(cron) => cron.last_at_or_before(now)?,
            Timing::Every { interval, .. } => {
                let step = SignedDuration::try_from(*interval).ok()?;
                if now < last {
                    return None;
                }
                let k = now.duration_since(last).as_nanos() / step.as_nanos();
                last.checked_add(step.checked_mul(i32::try_from(k).ok()?)?).ok()?
            }
        };
        (slot > last).then_some(slot)
    }
}

#[cfg(test)]
mod tests;
