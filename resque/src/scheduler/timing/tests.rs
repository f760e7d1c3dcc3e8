//! Cron in a time zone, across DST, and `every` on the grid of the last run.

use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn a_cron_with_a_time_zone_runs_at_that_zone_s_wall_time() {
    let berlin = CronTiming::parse("0 3 * * * Europe/Berlin").unwrap();
    // Winter: UTC+1.
    assert_eq!(berlin.next_after(ts("2026-12-01T12:00:00Z")), Some(ts("2026-12-02T02:00:00Z")));
    // Summer: UTC+2.
    assert_eq!(berlin.next_after(ts("2026-07-01T12:00:00Z")), Some(ts("2026-07-02T01:00:00Z")));
    // Exactly on a run: the next one.
    assert_eq!(berlin.next_after(ts("2026-12-02T02:00:00Z")), Some(ts("2026-12-03T02:00:00Z")));
    assert_eq!(berlin.last_at_or_before(ts("2026-12-02T02:00:00Z")), Some(ts("2026-12-02T02:00:00Z")));
    assert_eq!(berlin.last_at_or_before(ts("2026-12-02T01:59:59Z")), Some(ts("2026-12-01T02:00:00Z")));
    let utc = CronTiming::parse("*/15 * * * * UTC").unwrap();
    assert_eq!(utc.next_after(ts("2026-12-01T10:07:30Z")), Some(ts("2026-12-01T10:15:00Z")));
    assert_eq!(utc.as_str(), "*/15 * * * * UTC");
}

#[test]
fn a_cron_in_a_dst_gap_runs_once_after_it() {
    // 2026-03-29 02:30 does not exist in Berlin: run at 03:30 CEST (01:30Z).
    let gap = CronTiming::parse("30 2 * * * Europe/Berlin").unwrap();
    assert_eq!(gap.next_after(ts("2026-03-28T12:00:00Z")), Some(ts("2026-03-29T01:30:00Z")));
    assert_eq!(gap.next_after(ts("2026-03-29T01:30:00Z")), Some(ts("2026-03-30T00:30:00Z")));
}

#[test]
fn bad_cron_expressions_are_refused() {
    for bad in ["61 * * * *", "* * * *", "0 3 * * * Mars/Olympus", "a b c d e"] {
        assert!(CronTiming::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn intervals_are_read_as_rufus_writes_them() {
    assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_interval("2d"), Ok(Duration::from_secs(172800)));
    assert_eq!(parse_interval("1w"), Ok(Duration::from_secs(604800)));
    assert_eq!(parse_interval("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_interval("90"), Ok(Duration::from_secs(90)));
    for bad in ["", "0s", "s", "1x", "-1s"] {
        assert!(parse_interval(bad).is_err(), "{bad}");
    }
}

#[test]
fn every_runs_on_the_grid_of_its_last_run() {
    let every = Timing::Every { interval: Duration::from_secs(10), first_in: None };
    let last = Some(ts("2026-12-01T10:00:00Z"));
    assert_eq!(every.next_after(ts("2026-12-01T10:00:03Z"), last), Some(ts("2026-12-01T10:00:10Z")));
    assert_eq!(every.next_after(ts("2026-12-01T10:00:10Z"), last), Some(ts("2026-12-01T10:00:20Z")));
    assert_eq!(every.next_after(ts("2026-12-01T10:05:01Z"), last), Some(ts("2026-12-01T10:05:10Z")));
    // Nothing ran yet: one interval (or first_in) from now, on a whole second.
    assert_eq!(every.next_after(ts("2026-12-01T10:00:00.3Z"), None), Some(ts("2026-12-01T10:00:11Z")));
    let first = Timing::Every { interval: Duration::from_secs(10), first_in: Some(Duration::from_secs(2)) };
    assert_eq!(first.next_after(ts("2026-12-01T10:00:00Z"), None), Some(ts("2026-12-01T10:00:02Z")));
}

#[test]
fn a_missed_slot_is_the_latest_one_after_the_last_run() {
    let every = Timing::Every { interval: Duration::from_secs(10), first_in: None };
    let last = Some(ts("2026-12-01T10:00:00Z"));
    assert_eq!(every.missed(ts("2026-12-01T10:00:09Z"), last), None);
    assert_eq!(every.missed(ts("2026-12-01T10:00:35Z"), last), Some(ts("2026-12-01T10:00:30Z")));
    assert_eq!(every.missed(ts("2026-12-01T10:00:35Z"), None), None);
    let daily = Timing::Cron(Box::new(CronTiming::parse("0 3 * * * UTC").unwrap()));
    let ran = Some(ts("2026-12-01T03:00:00Z"));
    assert_eq!(daily.missed(ts("2026-12-02T02:59:00Z"), ran), None);
    assert_eq!(daily.missed(ts("2026-12-04T09:00:00Z"), ran), Some(ts("2026-12-04T03:00:00Z")));
}
