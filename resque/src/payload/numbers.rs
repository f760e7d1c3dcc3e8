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
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::EncodeError;

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
        let mut finder = NonFinite::default();
        if value.serialize(&mut finder).is_err() {
            if let Some((position, value)) = finder.found {
                return Err(EncodeError::NotFinite { position, value });
            }
        }
    }
    // serde_json writes only valid UTF-8.
    String::from_utf8(out).map_err(|e| EncodeError::Json(ser::Error::custom(e)))
}

/// A serializer that writes nothing and stops at the first NaN or infinite
/// float, remembering where it was among the top-level elements.
#[derive(Default)]
struct NonFinite {
    depth: usize,
    position: usize,
    found: Option<(usize, f64)>,
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a float JSON cannot carry")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl NonFinite {
    fn float(&mut self, value: f64) -> Result<(), Stop> {
        if value.is_finite() {
            Ok(())
        } else {
            self.found = Some((self.position, value));
            Err(Stop)
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        if self.depth == 1 {
            self.position += 1;
        }
        value.serialize(self)
    }

    fn open(&mut self) -> Result<&mut Self, Stop> {
        self.depth += 1;
        Ok(self)
    }

    fn close(&mut self) -> Result<(), Stop> {
        self.depth -= 1;
        Ok(())
    }
}

impl ser::Serializer for &mut NonFinite {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_f32(self, value: f32) -> Result<(), Stop> {
        self.float(f64::from(value))
    }
    fn serialize_f64(self, value: f64) -> Result<(), Stop> {
        self.float(value)
    }
    fn serialize_char(self, _: char) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.depth += 1;
        value.serialize(&mut *self)?;
        self.close()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Stop> {
        self.open()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Stop> {
        self.open()
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Stop> {
        self.open()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Stop> {
        self.open()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Stop> {
        self.open()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Stop> {
        self.open()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Stop> {
        self.open()
    }
}

/// The compound serializers whose elements are each one value: every
/// element is looked at, none is written.
macro_rules! elements {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl ser::$trait for &mut NonFinite {
            type Ok = ();
            type Error = Stop;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
                self.element(value)
            }
            fn end(self) -> Result<(), Stop> {
                self.close()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for &mut NonFinite {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        self.close()
    }
}

/// The compound serializers whose elements are named fields.
macro_rules! fields {
    ($($trait:ident),* $(,)?) => {$(
        impl ser::$trait for &mut NonFinite {
            type Ok = ();
            type Error = Stop;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, value: &T) -> Result<(), Stop> {
                self.element(value)
            }
            fn end(self) -> Result<(), Stop> {
                self.close()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Ruby 3.x, `Float#to_s` (= `JSON.generate([x])` without the brackets):
    /// shortest round-trip digits; fixed with at least one decimal when
    /// 1e-4 <= |x| < 1e15; else `d.ddde±XX`, at least two exponent digits.
    #[test]
    fn floats_are_spelled_as_ruby_spells_them() {
        let table: &[(f64, &str)] = &[
            (1e20, "1.0e+20"),
            (1e-5, "1.0e-05"),
            (100.0, "100.0"),
            (2.5, "2.5"),
            (1e14, "100000000000000.0"),
            (0.0001, "0.0001"),
            (-3.0e-7, "-3.0e-07"),
            (1e15, "1.0e+15"),
            (999999999999999.0, "999999999999999.0"),
            (9.999e-5, "9.999e-05"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5.0e-324"),
            (123456789.123, "123456789.123"),
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (1e16, "1.0e+16"),
            (1.5e300, "1.5e+300"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (123456789012345.6, "123456789012345.6"),
            (0.00012345, "0.00012345"),
            (1.2345e-5, "1.2345e-05"),
            (1e100, "1.0e+100"),
            (1e-100, "1.0e-100"),
            (12.0, "12.0"),
        ];
        for &(value, ruby) in table {
            assert_eq!(ruby_float(value), ruby, "{value:e}");
            assert_eq!(ruby.parse::<f64>().unwrap().to_bits(), value.to_bits(), "{ruby} reads back");
        }
    }

    #[test]
    fn f32_keeps_its_own_shortest_digits() {
        let json = to_ruby_json(&(0.1f32, 1e20f32, 100.0f32)).unwrap();
        assert_eq!(json, "[0.1,1.0e+20,100.0]");
    }

    #[test]
    fn json_uses_ruby_floats_everywhere() {
        let json = to_ruby_json(&(1e20, vec![1e-5], serde_json::json!({"a": 100.0}), 7, "1e20")).unwrap();
        assert_eq!(json, r#"[1.0e+20,[1.0e-05],{"a":100.0},7,"1e20"]"#);
    }

    #[test]
    fn non_finite_floats_are_refused_naming_the_argument() {
        let err = to_ruby_json(&(1.0, None::<u8>, f64::NAN)).unwrap_err().to_string();
        assert!(err.starts_with("argument 3 is NaN, which JSON cannot carry"), "{err}");
        let err = to_ruby_json(&(vec![f64::NEG_INFINITY],)).unwrap_err().to_string();
        assert!(err.starts_with("argument 1 is -Infinity"), "{err}");
        let err = to_ruby_json(&f32::INFINITY).unwrap_err().to_string();
        assert!(err.starts_with("Infinity"), "{err}");
        // A plain null is no float.
        assert_eq!(to_ruby_json(&(None::<f64>, ())).unwrap(), "[null,null]");
    }

    #[test]
    fn integers_beyond_64_bits_are_found_in_the_text() {
        let payload = |args: &str| format!(r#"{{"class":"Big","args":{args}}}"#);
        let found = |args: &str| unheld_integer(&payload(args)).map(|u| (u.index, u.literal));
        assert_eq!(found("[1180591620717411303424]"), Some((0, "1180591620717411303424".into())));
        assert_eq!(found("[1, -18446744073709551617]"), Some((1, "-18446744073709551617".into())));
        assert_eq!(
            found(r#"[{"n":{"deep":[18446744073709551616]}}]"#),
            Some((0, "18446744073709551616".into()))
        );
        // The 64-bit limits themselves are held.
        assert_eq!(found("[18446744073709551615, -9223372036854775808, 9223372036854775807]"), None);
        // Digits in strings, floats and exponents are not integers.
        assert_eq!(found(r#"["1180591620717411303424", "a\"1180591620717411303424"]"#), None);
        assert_eq!(found("[11805916207174113034240.0, 1180591620717411303424e0, 1.0e+21]"), None);
        assert_eq!(found("[]"), None);
    }

    #[test]
    fn exactness_of_big_integers() {
        let mut ints = Vec::new();
        integers_beyond_floats(
            &serde_json::json!([9007199254740993u64, 12, [-9007199254740993i64]]),
            &mut ints,
        );
        assert_eq!(ints, vec![9007199254740993, -9007199254740993]);
        assert!(holds_exactly(&serde_json::json!(9007199254740993u64), 9007199254740993));
        assert!(!holds_exactly(&serde_json::json!(9007199254740992.0), 9007199254740993));
        assert!(holds_exactly(&serde_json::json!([1152921504606846976.0]), 1 << 60));
    }
}
