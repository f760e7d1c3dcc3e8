//! How long ago the times Resque writes were, and which heartbeats are stale.

use std::time::Duration;

use jiff::Timestamp;

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

/// A span of seconds, short: `0.4 s`, `12 s`, `5 m 3 s`, `3 h 12 m`,
/// `2 d 4 h`.
pub(crate) fn span(seconds: f64) -> String {
    if !seconds.is_finite() || seconds <= 0.0 {
        return "0 s".into();
    }
    if seconds < 10.0 {
        return format!("{:.1} s", (seconds * 10.0).floor() / 10.0).replace(".0 s", " s");
    }
    let n = seconds as u64;
    match n {
        0..60 => format!("{n} s"),
        60..3600 => format!("{} m {} s", n / 60, n % 60),
        3600..86_400 => format!("{} h {} m", n / 3600, n % 3600 / 60),
        _ => format!("{} d {} h", n / 86_400, n % 86_400 / 3600),
    }
}

/// Seconds since `text` was, when it parses.
#[cfg(test)]
pub(crate) fn age(now: i64, text: &str) -> Option<i64> {
    resque::payload::time::parse_any(text).map(|t| now - t.as_second())
}

/// Whether a worker with this heartbeat is stale: it beat, longer than
/// `after` before `now`, by pruning's own test. A worker that never beat is
/// not (as in pruning).
pub(crate) fn is_stale(now: i64, heartbeat: Option<&str>, after: Duration) -> bool {
    heartbeat.is_some_and(|beat| resque::worker::heartbeat_expired(now, beat, after))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn spans_are_short() {
        assert_eq!(span(0.0), "0 s");
        assert_eq!(span(-3.0), "0 s");
        assert_eq!(span(0.45), "0.4 s");
        assert_eq!(span(2.0), "2 s");
        assert_eq!(span(42.7), "42 s");
        assert_eq!(span(303.0), "5 m 3 s");
        assert_eq!(span(3.0 * 3600.0 + 720.0), "3 h 12 m");
        assert_eq!(span(2.0 * 86_400.0 + 4.0 * 3600.0), "2 d 4 h");
    }

    #[test]
    fn stale_means_an_old_heartbeat() {
        let beat = "2026-11-23T23:50:00+00:00";
        let then = "2026-11-23T23:50:00Z".parse::<Timestamp>().unwrap().as_second();
        let after = Duration::from_secs(300);
        assert!(!is_stale(then + 300, Some(beat), after));
        assert!(is_stale(then + 301, Some(beat), after));
        assert!(!is_stale(then + 9999, None, after));
        assert!(!is_stale(then + 9999, Some("not a time"), after));
    }
}
