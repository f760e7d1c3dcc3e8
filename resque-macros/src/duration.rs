//! Durations in the attribute (`timeout = "..."`, and `delay`, `backoff`
//! and `expire_key_after` in `retry(...)`): a duration such as `"30s"` or
//! `"1h30m"`, read at compile time into milliseconds.

use std::fmt;

/// Valid timeouts, for messages.
pub(crate) const EXAMPLES: &str = "\"500ms\", \"30s\", \"5m\" or \"1h30m\"";

/// The units a timeout may use, with their length in milliseconds.
const UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

/// Why a timeout's text is not a usable duration.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// `""`.
    Empty,
    /// A unit without a number before it: `"s"`, `"h30m"`.
    MissingNumber(String),
    /// A number without a unit after it: `"30"`, `"1m30"`.
    MissingUnit(String),
    /// A unit that is not `ms`, `s`, `m` or `h`: `"30x"`, `"30sec"`.
    UnknownUnit(String),
    /// Anything else: a space, a sign, a decimal point.
    Unexpected(char),
    /// More milliseconds than a `u64` holds.
    Overflow,
    /// A total of zero: `"0s"`, `"0h0m"`.
    Zero,
}

/// Reads `"1h30m"` as 5 400 000 milliseconds: one or more `<integer><unit>`
/// parts, without spaces, with units `ms`, `s`, `m` and `h`, adding up to
/// more than zero.
pub(crate) fn parse_millis(text: &str) -> Result<u64, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (digits, after) = rest.split_at(digits_end);
        let unit_end = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if digits.is_empty() && unit.is_empty() {
            // `rest` is not empty, so it starts with something else.
            return Err(DurationError::Unexpected(rest.chars().next().unwrap_or(' ')));
        }
        if digits.is_empty() {
            return Err(DurationError::MissingNumber(unit.to_owned()));
        }
        if unit.is_empty() {
            return match after.chars().next() {
                Some(c) => Err(DurationError::Unexpected(c)),
                None => Err(DurationError::MissingUnit(digits.to_owned())),
            };
        }
        let Some(&(_, unit_millis)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(DurationError::UnknownUnit(unit.to_owned()));
        };
        // `digits` is all ASCII digits, so parsing fails only on overflow.
        let count: u64 = digits.parse().map_err(|_| DurationError::Overflow)?;
        total = count
            .checked_mul(unit_millis)
            .and_then(|millis| total.checked_add(millis))
            .ok_or(DurationError::Overflow)?;
        rest = after;
    }
    if total == 0 {
        return Err(DurationError::Zero);
    }
    Ok(total)
}

/// The compile error for a duration's `text`, which failed with `error`.
/// `Empty` and `Zero` are worded for `timeout`, the one key that refuses
/// them; the other keys word their own.
pub(crate) struct Message<'a> {
    /// What the duration is, as in "invalid {what} \"30x\"": `timeout`.
    pub(crate) what: &'a str,
    pub(crate) text: &'a str,
    pub(crate) error: &'a DurationError,
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, text) = (self.what, self.text.escape_default());
        match self.error {
            DurationError::Zero => {
                return f.write_str(
                    "a timeout of zero would kill every job at once; leave `timeout` out for no limit",
                );
            }
            DurationError::Empty => {
                return write!(
                    f,
                    "`timeout` cannot be empty: give a duration such as {EXAMPLES}, or leave \
                     `timeout` out for no limit"
                );
            }
            DurationError::MissingNumber(unit) => {
                write!(f, "invalid {what} \"{text}\": `{unit}` needs a number before it")?;
            }
            DurationError::MissingUnit(number) => write!(
                f,
                "invalid {what} \"{text}\": `{number}` needs a unit after it (`ms`, `s`, `m` or `h`)"
            )?,
            DurationError::UnknownUnit(unit) => write!(
                f,
                "invalid {what} \"{text}\": unknown unit `{unit}` (the units are `ms`, `s`, `m` and `h`)"
            )?,
            DurationError::Unexpected(c) if c.is_whitespace() => {
                write!(f, "invalid {what} \"{text}\": write it without spaces")?;
            }
            DurationError::Unexpected(c) => write!(
                f,
                "invalid {what} \"{text}\": unexpected `{}`; write whole numbers, as in \"1500ms\"",
                c.escape_default()
            )?,
            DurationError::Overflow => write!(f, "invalid {what} \"{text}\": too large")?,
        }
        write!(f, "; expected a duration such as {EXAMPLES}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, millis) in [
            ("500ms", 500),
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("1h30m", 5_400_000),
            ("1m30s", 90_000),
            ("1s500ms", 1_500),
            ("0h1ms", 1),
            ("90s", 90_000),
            ("007s", 7_000),
            ("1m1m", 120_000),
            ("18446744073709551615ms", u64::MAX),
        ] {
            assert_eq!(parse_millis(text), Ok(millis), "{text}");
        }
    }

    #[test]
    fn errors() {
        use DurationError::*;
        for (text, error) in [
            ("", Empty),
            ("0s", Zero),
            ("0ms", Zero),
            ("0h0m0s", Zero),
            ("s", MissingNumber("s".into())),
            ("h30m", MissingNumber("h".into())),
            ("1hm", UnknownUnit("hm".into())),
            ("30", MissingUnit("30".into())),
            ("1m30", MissingUnit("30".into())),
            ("30x", UnknownUnit("x".into())),
            ("30sec", UnknownUnit("sec".into())),
            ("30S", UnknownUnit("S".into())),
            ("1.5s", Unexpected('.')),
            ("-1s", Unexpected('-')),
            (" 30s", Unexpected(' ')),
            ("30 s", Unexpected(' ')),
            ("1h 30m", Unexpected(' ')),
            ("30s ", Unexpected(' ')),
            ("30é", Unexpected('é')),
            ("18446744073709551616ms", Overflow),
            ("18446744073709551615s", Overflow),
            ("5124095576030432h", Overflow),
            ("18446744073709551615ms1ms", Overflow),
        ] {
            assert_eq!(parse_millis(text), Err(error), "{text:?}");
        }
    }

    fn message(text: &str) -> String {
        Message { what: "timeout", text, error: &parse_millis(text).unwrap_err() }.to_string()
    }

    #[test]
    fn messages() {
        let expected = "expected a duration such as \"500ms\", \"30s\", \"5m\" or \"1h30m\"";
        assert_eq!(
            message("30x"),
            format!(
                "invalid timeout \"30x\": unknown unit `x` (the units are `ms`, `s`, `m` and `h`); {expected}"
            )
        );
        assert_eq!(
            message("0s"),
            "a timeout of zero would kill every job at once; leave `timeout` out for no limit"
        );
        assert_eq!(
            message(""),
            "`timeout` cannot be empty: give a duration such as \"500ms\", \"30s\", \"5m\" or \"1h30m\", \
             or leave `timeout` out for no limit"
        );
        assert_eq!(message("s"), format!("invalid timeout \"s\": `s` needs a number before it; {expected}"));
        assert_eq!(
            message("30"),
            format!("invalid timeout \"30\": `30` needs a unit after it (`ms`, `s`, `m` or `h`); {expected}")
        );
        assert_eq!(
            message("1h 30m"),
            format!("invalid timeout \"1h 30m\": write it without spaces; {expected}")
        );
        assert_eq!(
            message("1.5s"),
            format!(
                "invalid timeout \"1.5s\": unexpected `.`; write whole numbers, as in \"1500ms\"; {expected}"
            )
        );
        assert_eq!(
            message("99999999999999999999s"),
            format!("invalid timeout \"99999999999999999999s\": too large; {expected}")
        );
        assert_eq!(
            message("\"\ts"),
            format!("invalid timeout \"\\\"\\ts\": unexpected `\\\"`; write whole numbers, as in \"1500ms\"; {expected}")
        );
    }
}
