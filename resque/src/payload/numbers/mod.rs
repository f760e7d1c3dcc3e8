//! Numbers in payloads, as Ruby writes and reads them.
//!
//! Ruby Resque and resque-scheduler find payloads by their exact bytes
//! (`Resque::Job.destroy`, `remove_delayed`), so a float a Rust producer
//! writes is spelled as Ruby's `JSON.generate` spells it (`Float#to_s`):
//! [`ruby_float`]. Ruby integers have no size limit, while a job parameter
//! (`serde_json::Value` included) holds at most 64 bits: an integer beyond
//! that is found in the payload's text ([`unheld_integer`]) so that the job
//! fails naming the argument rather than running with a rounded float.

use std::io;

use serde::ser::{self, Serialize};

use super::EncodeError;

mod big;
mod non_finite;

pub(crate) use big::{holds_exactly, integers_beyond_floats};
pub use big::{unheld_integer, unheld_integer_in_args, UnheldInteger};
use non_finite::first_non_finite;

/// A float as Ruby's `Float#to_s` spells it, which is also how Ruby's
/// `JSON.generate` writes it: the shortest digits that read back as the same
/// float, in fixed notation with at least one decimal when
/// 1e-4 ≤ |x| < 1e15, else as `d.ddde±XX` with at least two exponent digits.
///
/// ```
/// use resque::payload::ruby_float;
/// assert_eq!(ruby_float(100.0), "100.0");
/// assert_eq!(ruby_float(1e20), "1.0e+20");
/// assert_eq!(ruby_float(1e-5), "1.0e-05");
/// assert_eq!(ruby_float(-0.0), "-0.0");
/// assert_eq!(ruby_float(f64::NAN), "NaN"); // Ruby's to_s; JSON cannot carry it
/// ```
pub fn ruby_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let mut buffer = ryu::Buffer::new();
    ruby_layout(buffer.format_finite(value))
}

/// A finite float's shortest digits, from `ryu`'s spelling (`1e20`,
/// `1.5e-7`, `100.0`, `0.0001`), laid out as Ruby does.
fn ruby_layout(shortest: &str) -> String {
    let (negative, body) = match shortest.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, shortest),
    };
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (body, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // The value is 0.<digits> × 10^point.
    let mut digits: String = whole.chars().chain(fraction.chars()).collect();
    let mut point = i32::try_from(whole.len()).unwrap_or(0) + exponent;
    let leading = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..leading);
    point -= i32::try_from(leading).unwrap_or(0);
    digits.truncate(digits.trim_end_matches('0').len());

    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if digits.is_empty() {
        out.push_str("0.0");
        return out;
    }
    let len = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let decimal_exponent = point - 1;
    if (-4..15).contains(&decimal_exponent) {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else if point >= len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (point - len) as usize));
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at(point as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        out.push('.');
        out.push_str(if rest.is_empty() { "0" } else { rest });
        out.push('e');
        out.push(if decimal_exponent < 0 { '-' } else { '+' });
        let magnitude = decimal_exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    }
    out
}

/// serde_json's compact output with floats spelled as Ruby spells them.
struct RubyFloats;

impl serde_json::ser::Formatter for RubyFloats {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        // serde_json hands only finite floats to a formatter (it writes
        // `null` for the others, which `to_ruby_json` refuses first).
        writer.write_all(ruby_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        // An f32's own shortest digits (`0.1`, not `0.10000000149011612`):
        // Ruby reads them as the nearest double and writes them back alike.
        let mut buffer = ryu::Buffer::new();
        writer.write_all(ruby_layout(buffer.format_finite(value)).as_bytes())
    }
}

/// What [`EncodeError::NotFinite`] says.
pub(super) fn not_finite_message(position: usize, value: f64) -> String {
    let at = if position == 0 { String::new() } else { format!("argument {position} is ") };
    format!(
        "{at}{}, which JSON cannot carry (serde_json would write null; Ruby's JSON.generate refuses it too)",
        ruby_float(value)
    )
}

/// Compact JSON with Ruby's float spelling; a NaN or infinite float is an
/// error rather than the `null` serde_json would write.
pub(crate) fn to_ruby_json<T: Serialize + ?Sized>(value: &T) -> Result<String, EncodeError> {
    let mut out = Vec::with_capacity(64);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, RubyFloats))?;
    // serde_json writes a non-finite float as `null`: only output holding a
    // `null` needs the second look that tells the two apart.
    if out.windows(4).any(|w| w == b"null") {
        if let Some((position, value)) = first_non_finite(value) {
            return Err(EncodeError::NotFinite { position, value });
        }
    }
    // serde_json writes only valid UTF-8.
    String::from_utf8(out).map_err(|e| EncodeError::Json(ser::Error::custom(e)))
}

#[cfg(test)]
mod tests;
