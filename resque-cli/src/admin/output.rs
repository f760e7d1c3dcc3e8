//! How the admin commands print: aligned tables, JSON, counts in English.

use std::io::Write;

use resque::jiff::{self, tz::TimeZone, Timestamp};
use serde::Serialize;

use crate::CliError;

/// Writes to stdout, ignoring a closed pipe (`resque-cli failed list | head`).
pub(super) fn out(text: &str) {
    out_bytes(text.as_bytes());
}

/// [`out`] for bytes (a generated script or page).
pub(super) fn out_bytes(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// Writes `value` as pretty JSON, one newline after it.
pub(super) fn out_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Usage(format!("cannot write JSON output: {e}")))?;
    out(&format!("{text}\n"));
    Ok(())
}

/// Aligned columns, two spaces apart; the last column is not padded.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut text = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One line, at most `max` characters.
pub(super) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// `1 job`, `2 jobs`; `entry` becomes `entries`.
pub(super) fn plural(n: impl std::fmt::Display, noun: &str) -> String {
    let n = n.to_string();
    match (n.as_str(), noun.strip_suffix('y')) {
        ("1", _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// The value, or `-` when it is missing or empty.
pub(super) fn or_dash(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => "-".to_string(),
    }
}

/// How every table and message shows a time: UTC, to the second, the zone
/// written out (`2026-12-02 07:10:03 UTC`), whatever format the peer that
/// stored it used. `--json` keeps each time as stored.
pub(super) fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A Unix second, as [`time`] shows it (`-` out of range).
pub(super) fn time_of_second(at: i64) -> String {
    Timestamp::from_second(at).map_or_else(|_| "-".to_string(), time)
}

/// A time as stored by any peer (`failed_at`, `retried_at`, `started`,
/// heartbeats, `run_at`, unix seconds), as [`time`] shows it; `-` when
/// missing; the text itself when it names no certain moment (not a time,
/// or a zone abbreviation other than UTC and this machine's).
pub(super) fn stored_time(stored: Option<&str>) -> String {
    match stored.map(str::trim) {
        None | Some("") => "-".to_string(),
        Some(text) => read_time(text).map_or_else(|| text.to_string(), time),
    }
}

/// Reads a stored time. Ruby writes `failed_at` and `retried_at` in the
/// writer's local time, the latter with no zone at all: a time without a
/// zone is read in this machine's, the nearest guess; one with a zone
/// abbreviation only when it is UTC, GMT or this machine's own.
fn read_time(text: &str) -> Option<Timestamp> {
    const CIVIL: [&str; 2] = ["%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"];
    let local = |civil: &str| {
        CIVIL.iter().find_map(|format| {
            jiff::civil::DateTime::strptime(format, civil).ok()?.to_zoned_datetime(TimeZone::system()).ok()
        })
    };
    if let Some(zoned) = local(text) {
        return Some(zoned.timestamp());
    }
    match text.rsplit_once(' ') {
        Some((civil, zone)) if zone.chars().all(|c| c.is_ascii_alphabetic()) => match zone {
            "UTC" | "GMT" | "Z" => resque::payload::time::parse_any(&format!("{civil} +0000")),
            _ => local(civil).filter(|z| z.strftime("%Z").to_string() == zone).map(|z| z.timestamp()),
        },
        _ => resque::payload::time::parse_any(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_time_format_shows_as_one() {
        let shown = "2026-11-23 23:50:00 UTC";
        for stored in [
            "2026-11-23T23:50:00Z",
            "2026-11-23T23:50:00+00:00",
            "2026-11-24T00:50:00+01:00",
            "2026/11/23 23:50:00 UTC",
            "2026/11/23 23:50:00 GMT",
            "2026-11-23 23:50:00 +0000",
            "2026-11-23 18:50:00 -0500",
            "1795477800",
        ] {
            assert_eq!(stored_time(Some(stored)), shown, "{stored}");
        }
        assert_eq!(time_of_second(1_795_477_800), shown);
        assert_eq!(stored_time(None), "-");
        assert_eq!(stored_time(Some(" ")), "-");
        assert_eq!(stored_time(Some("yesterday")), "yesterday");
        // An abbreviation that is neither UTC nor this machine's names no
        // certain moment: shown as stored.
        assert_eq!(stored_time(Some("2026/11/23 23:50:00 XYZT")), "2026/11/23 23:50:00 XYZT");
        // Without a zone: this machine's local time.
        let local = jiff::civil::date(2026, 11, 23).at(23, 50, 0, 0).to_zoned_datetime(TimeZone::system());
        if let Ok(local) = local {
            assert_eq!(stored_time(Some("2026/11/23 23:50:00")), time(local.timestamp()));
        }
    }

    #[test]
    fn tables_align_and_leave_the_last_column_unpadded() {
        let rows = vec![vec!["critical".to_string(), "3".to_string()], vec!["a".into(), "12".into()]];
        assert_eq!(table(&["queue", "size"], &rows), "QUEUE     SIZE\ncritical  3\na         12\n");
    }

    #[test]
    fn long_errors_are_cut_to_one_line() {
        assert_eq!(one_line("a\n  b", 10), "a b");
        assert_eq!(one_line("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(plural(1usize, "job"), "1 job");
        assert_eq!(plural(0u64, "job"), "0 jobs");
        assert_eq!(plural(2u64, "entry"), "2 entries");
    }
}
