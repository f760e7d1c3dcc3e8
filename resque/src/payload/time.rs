//! Ruby Resque's time formats: how each time member is written, and any
//! of them read back.

use jiff::{tz::TimeZone, Timestamp, ZonedDateTime};

/// `failed_at`: local time, `2026/11/23 23:50:00 UTC`.
pub fn failed_at(now: Timestamp) -> String {
    now.to_zoned_datetime(TimeZone::system()).strftime("%Y/%m/%d %H:%M:%S %Z").to_string()
}

/// `retried_at`: local time without the zone, `2026/11/23 23:50:00`, as
/// Ruby Resque 3.0's `Failure::Redis.requeue` writes it.
pub fn retried_at(now: Timestamp) -> String {
    now.to_zoned_datetime(TimeZone::system()).strftime("%Y/%m/%d %H:%M:%S").to_string()
}

/// `worker:<id>:started`: local time, Ruby `Time#to_s`, `2026-11-23 23:50:00 +0000`.
pub fn started(now: Timestamp) -> String {
    now.to_zoned_datetime(TimeZone::system()).strftime("%Y-%m-%d %H:%M:%S %z").to_string()
}

/// `run_at`: UTC ISO-8601, `2026-11-23T23:50:00Z`.
pub fn run_at(now: Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A heartbeat value from Redis `TIME` seconds: `2026-11-23T23:57:52+00:00`.
pub fn heartbeat(unix_seconds: i64) -> String {
    match Timestamp::from_second(unix_seconds) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        Err(_) => String::new(),
    }
}

/// Parses a time in any format Resque implementations write: ISO 8601
/// (`run_at`, heartbeats), `2026/11/23 23:50:00 UTC` (`failed_at`),
/// `2026/11/23 23:50:00` (`retried_at`, read as UTC), `2026-11-23
/// 23:50:00 +0000` (`:started`), or unix seconds (node-resque's
/// `:started`). A zone abbreviation other than an offset says nothing
/// certain and is read as UTC.
pub fn parse_any(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Some(ts) = parse_heartbeat(text) {
        return Some(ts);
    }
    for format in ["%Y/%m/%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %z"] {
        if let Ok(ts) = jiff::fmt::strtime::parse(format, text).and_then(|t| t.to_timestamp()) {
            return Some(ts);
        }
    }
    let civil = |text: &str| {
        ["%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"].iter().find_map(|format| {
            jiff::civil::DateTime::strptime(format, text)
                .and_then(|dt| dt.to_zoned_datetime(TimeZone::UTC))
                .ok()
                .map(|z| z.timestamp())
        })
    };
    if let Some(ts) = civil(text) {
        return Some(ts);
    }
    if let Some(ts) = text.rsplit_once(' ').and_then(|(civil_part, _zone)| civil(civil_part)) {
        return Some(ts);
    }
    text.parse::<i64>().ok().and_then(|secs| Timestamp::from_second(secs).ok())
}

/// Parses a heartbeat value (ISO-8601 with offset) written by any peer.
pub fn parse_heartbeat(value: &str) -> Option<Timestamp> {
    if let Ok(ts) = value.parse::<Timestamp>() {
        return Some(ts);
    }
    value.parse::<ZonedDateTime>().ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn formats_match_ruby() {
        let t = ts("2026-11-23T23:50:00Z");
        assert_eq!(run_at(t), "2026-11-23T23:50:00Z");
        assert_eq!(heartbeat(t.as_second()), "2026-11-23T23:50:00+00:00");
        assert_eq!(parse_heartbeat("2026-11-23T23:57:52+00:00"), Some(ts("2026-11-23T23:57:52Z")));
        assert_eq!(parse_heartbeat("2026-11-24T00:57:52+01:00"), Some(ts("2026-11-23T23:57:52Z")));
        assert_eq!(parse_heartbeat("yesterday"), None);
    }

    #[test]
    fn any_format_a_peer_writes_parses() {
        let expected = ts("2026-11-23T23:50:00Z");
        for text in [
            "2026-11-23T23:50:00Z",
            "2026-11-23T23:50:00+00:00",
            "2026/11/23 23:50:00 UTC",
            "2026/11/23 23:50:00 +0000",
            "2026/11/23 23:50:00",
            "2026-11-23 23:50:00 +0000",
            "2026-11-24 00:50:00 +0100",
            "1795477800",
        ] {
            assert_eq!(parse_any(text), Some(expected), "{text}");
        }
        assert_eq!(parse_any("yesterday"), None);
        for now in [ts("2026-11-23T23:50:00Z"), ts("2027-02-03T04:05:06Z")] {
            assert_eq!(parse_any(&started(now)), Some(now));
            assert_eq!(parse_any(&run_at(now)), Some(now));
            assert_eq!(parse_any(&heartbeat(now.as_second())), Some(now));
        }
    }
}
