//! Integers beyond 64 bits in a payload's text, which no job parameter can
//! hold, and whether a float holds a big integer exactly.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// An integer literal in a payload's args that no job parameter can hold:
/// beyond 64 bits (below `i64::MIN` or above `u64::MAX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnheldInteger {
    /// The argument's position, from 0.
    pub index: usize,
    /// The literal, as written.
    pub literal: String,
}

/// The first integer literal beyond 64 bits in a payload's `args`, if any.
///
/// Such a number would reach a job as a float, a different value, so a
/// worker fails the job naming the argument instead.
///
/// ```
/// use resque::payload::unheld_integer;
/// let found = unheld_integer(r#"{"class":"Big","args":[1,"x",[1180591620717411303424]]}"#).unwrap();
/// assert_eq!((found.index, found.literal.as_str()), (2, "1180591620717411303424"));
/// assert_eq!(unheld_integer(r#"{"class":"Big","args":[18446744073709551615,-9223372036854775808]}"#), None);
/// assert_eq!(unheld_integer(r#"{"class":"Big","args":["1180591620717411303424",1.0e+21]}"#), None);
/// ```
pub fn unheld_integer(raw_payload: &str) -> Option<UnheldInteger> {
    // A 20-digit run is the shortest literal beyond 64 bits: most payloads
    // are ruled out without parsing.
    if !has_digit_run(raw_payload, 20) {
        return None;
    }
    #[derive(Deserialize)]
    struct Args<'a> {
        #[serde(borrow)]
        args: Vec<&'a RawValue>,
    }
    let args: Args<'_> = serde_json::from_str(raw_payload).ok()?;
    first_unheld(&args.args)
}

/// [`unheld_integer`] for an args array on its own (`[1180591620717411303424]`).
///
/// ```
/// let found = resque::payload::unheld_integer_in_args("[1, -18446744073709551617]").unwrap();
/// assert_eq!((found.index, found.literal.as_str()), (1, "-18446744073709551617"));
/// ```
pub fn unheld_integer_in_args(raw_args: &str) -> Option<UnheldInteger> {
    if !has_digit_run(raw_args, 20) {
        return None;
    }
    let args: Vec<&RawValue> = serde_json::from_str(raw_args).ok()?;
    first_unheld(&args)
}

fn first_unheld(args: &[&RawValue]) -> Option<UnheldInteger> {
    args.iter().enumerate().find_map(|(index, arg)| {
        unheld_in(arg.get()).map(|literal| UnheldInteger { index, literal: literal.to_string() })
    })
}

/// The first integer literal beyond 64 bits in a JSON text, if any.
fn unheld_in(json: &str) -> Option<&str> {
    integer_literals(json).find(|literal| literal.parse::<i64>().is_err() && literal.parse::<u64>().is_err())
}

fn has_digit_run(text: &str, len: usize) -> bool {
    let mut run = 0;
    text.bytes().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= len
    })
}

/// The integer literals (no `.`, no exponent) of a valid JSON text, outside
/// strings, in order.
fn integer_literals(json: &str) -> impl Iterator<Item = &str> {
    let bytes = json.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    i += 1;
                    while i < bytes.len() {
                        match bytes[i] {
                            b'\\' => i += 2,
                            b'"' => {
                                i += 1;
                                break;
                            }
                            _ => i += 1,
                        }
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let start = i;
                    i += 1;
                    while i < bytes.len()
                        && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                    {
                        i += 1;
                    }
                    let token = json.get(start..i).unwrap_or("");
                    if !token.contains(['.', 'e', 'E']) {
                        return Some(token);
                    }
                }
                _ => i += 1,
            }
        }
        None
    })
}

/// The integers in a decoded argument that a float cannot hold exactly
/// (beyond ±2^53), the ones a float parameter would silently change.
pub(crate) fn integers_beyond_floats(value: &Value, out: &mut Vec<i128>) {
    const EXACT: i128 = 1 << 53;
    match value {
        Value::Number(n) => {
            let int = n.as_u64().map(i128::from).or_else(|| n.as_i64().map(i128::from));
            if let Some(int) = int.filter(|i| i.abs() > EXACT) {
                out.push(int);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| integers_beyond_floats(v, out)),
        Value::Object(members) => members.values().for_each(|v| integers_beyond_floats(v, out)),
        _ => {}
    }
}

/// Whether `value` holds the integer `int` exactly somewhere: as an integer,
/// or as a float whose value it is.
pub(crate) fn holds_exactly(value: &Value, int: i128) -> bool {
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                i128::from(u) == int
            } else if let Some(i) = n.as_i64() {
                i128::from(i) == int
            } else {
                // Every float beyond 2^53 in magnitude is an integer; `as`
                // is exact for those within i128.
                n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 1.0e38 && f as i128 == int)
            }
        }
        Value::Array(items) => items.iter().any(|v| holds_exactly(v, int)),
        Value::Object(members) => members.values().any(|v| holds_exactly(v, int)),
        _ => false,
    }
}
