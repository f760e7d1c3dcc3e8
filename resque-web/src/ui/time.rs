//! Reading the times Resque writes (each kind in its own format) and
//! saying how long ago they were.

use jiff::Timestamp;

/// A time in any format Resque implementations write: ISO 8601 (`run_at`,
/// heartbeats), `2026/11/23 23:50:00 UTC` (`failed_at`), `2026-11-23
/// 23:50:00 +0000` (`:started`), or unix seconds (node-resque).
pub(crate) fn parse(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    for format in ["%Y/%m/%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %z", "%Y/%m/%d %H:%M:%S %Z"] {
        if let Ok(t) = jiff::fmt::strtime::parse(format, text).and_then(|t| t.to_timestamp()) {
            return Some(t);
        }
    }
    // `%Z` only parses IANA names; Ruby writes `UTC` (or a local
    // abbreviation, which says nothing certain: read as UTC).
    if let Some((civil, _zone)) = text.rsplit_once(' ') {
        for format in ["%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
            if let Ok(t) = jiff::civil::DateTime::strptime(format, civil)
                .and_then(|dt| dt.to_zoned_datetime(jiff::tz::TimeZone::UTC))
                .map(|z| z.timestamp())
            {
                return Some(t);
            }
        }
    }
    text.parse::<i64>().ok().and_then(|secs| Timestamp::from_second(secs).ok())
}

/// How long before `now` (unix seconds) `then` was: `12s ago`, `5m ago`,
/// `3h ago`, `2d ago`; `in 5s` for a time ahead of `now`.
pub(crate) fn ago(now: i64, then: Timestamp) -> String {
    let delta = now - then.as_second();
    let (n, ahead) = if delta < 0 { (-delta, true) } else { (delta, false) };
    let amount = match n {
        0..60 => format!("{n}s"),
        60..3600 => format!("{}m", n / 60),
        3600..86_400 => format!("{}h", n / 3600),
        _ => format!("{}d", n / 86_400),
    };
    if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Seconds since `text` was, when it parses.
pub(crate) fn age(now: i64, text: &str) -> Option<i64> {
    parse(text).map(|t| now - t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_format_resque_writes() {
        let expected = "2026-11-23T23:50:00Z".parse::<Timestamp>().unwrap();
        for text in [
            "2026-11-23T23:50:00Z",
            "2026-11-23T23:50:00+00:00",
            "2026/11/23 23:50:00 UTC",
            "2026/11/23 23:50:00 +0000",
            "2026-11-23 23:50:00 +0000",
            "2026-11-24 00:50:00 +0100",
            "1795477800",
        ] {
            assert_eq!(parse(text), Some(expected), "{text}");
        }
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn says_how_long_ago() {
        let then = "2026-11-23T23:50:00Z".parse::<Timestamp>().unwrap();
        let now = then.as_second();
        assert_eq!(ago(now + 5, then), "5s ago");
        assert_eq!(ago(now + 125, then), "2m ago");
        assert_eq!(ago(now + 7200, then), "2h ago");
        assert_eq!(ago(now + 3 * 86_400, then), "3d ago");
        assert_eq!(ago(now - 4, then), "in 4s");
        assert_eq!(age(now + 9, "2026/11/23 23:50:00 UTC"), Some(9));
    }
}
