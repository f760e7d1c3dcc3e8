//! How the admin commands print: aligned tables, JSON, counts in English.

use std::io::Write;

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

#[cfg(test)]
mod tests {
    use super::*;

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
