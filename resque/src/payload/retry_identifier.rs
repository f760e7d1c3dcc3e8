//! resque-retry's retry identifier: the SHA-1 of a job's args as Ruby's
//! `Array#join('-')` spells them, which names the job's attempt counter
//! (`resque-retry:<class>:<identifier>`, see `keys/retry.rs`).
//!
//! Ruby's rules, applied to the args as Ruby's JSON decodes them:
//! strings as they are, integers in decimal, floats as `Float#to_s`
//! (`1.0`, `1.0e+20`), `true`/`false`, `nil` as the empty string, nested
//! arrays flattened into the same join, and a hash as `Hash#inspect`. The
//! hash spelling changed in Ruby 3.4 (`{"a" => 1}`, before it `{"a"=>1}`):
//! resque-rs writes Ruby 3.4's, the spelling of every Ruby released since;
//! a job whose args hold hashes and shares counters with workers on an
//! older Ruby names its own identifier (`retry(identifier = ...)`), as a
//! Ruby job overrides `retry_identifier`.

use serde_json::Value;

use super::ruby_float;

/// The args joined as Ruby's `args.join('-')` joins them.
///
/// ```
/// use serde_json::json;
/// use resque::payload::ruby_join;
/// assert_eq!(ruby_join(&[json!(44), json!("masterbrew")]), "44-masterbrew");
/// assert_eq!(ruby_join(&[json!(1.0), json!(null), json!([2, [3]])]), "1.0--2-3");
/// assert_eq!(ruby_join(&[json!({"a": 1})]), r#"{"a" => 1}"#);
/// ```
pub fn ruby_join(args: &[Value]) -> String {
    let mut out = String::new();
    join_into(args, &mut out);
    out
}

fn join_into(items: &[Value], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        match item {
            Value::Array(inner) => join_into(inner, out),
            other => to_s(other, out),
        }
    }
}

/// `Object#to_s` of a decoded JSON value that is not an array.
fn to_s(value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        other => inspect(other, out),
    }
}

/// `Object#inspect`: how a value is spelled inside a hash or an array that
/// is inspected.
fn inspect(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (None, None, Some(f)) => out.push_str(&ruby_float(f)),
            (None, None, None) => out.push_str(&n.to_string()),
        },
        Value::String(s) => inspect_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inspect(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inspect_str(name, out);
                out.push_str(" => ");
                inspect(item, out);
            }
            out.push('}');
        }
    }
}

/// `String#inspect` of a UTF-8 string: quoted, with Ruby's escapes.
fn inspect_str(s: &str, out: &mut String) {
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            '\u{08}' => out.push_str("\\b"),
            '\u{07}' => out.push_str("\\a"),
            '\u{1b}' => out.push_str("\\e"),
            '#' if matches!(chars.peek(), Some('{' | '$' | '@')) => out.push_str("\\#"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// resque-retry's default `retry_identifier`: the SHA-1 (hex) of the args
/// joined as Ruby joins them, or `None` when that is empty (no args, or
/// only empty strings and `nil`), in which case the counter key has no
/// identifier part.
///
/// ```
/// use serde_json::json;
/// let id = resque::payload::retry_identifier(&[json!(44), json!("masterbrew")]);
/// assert_eq!(id.as_deref(), Some("1315dd4143fb7d7abe77328729da673b8bfa3313"));
/// assert_eq!(resque::payload::retry_identifier(&[]), None);
/// ```
pub fn retry_identifier(args: &[Value]) -> Option<String> {
    let joined = ruby_join(args);
    if joined.is_empty() {
        None
    } else {
        Some(sha1_smol::Sha1::from(joined.as_bytes()).digest().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// SHA-1 of a string, for the expected keys below.
    fn sha(s: &str) -> Option<String> {
        Some(sha1_smol::Sha1::from(s.as_bytes()).digest().to_string())
    }

    #[test]
    fn args_join_as_ruby_joins_them() {
        // Each row: the args, and `args.join('-')` as Ruby 3.4 prints it.
        let table: &[(Value, &str)] = &[
            // strings as they are, integers in decimal
            (json!([44, "masterbrew"]), "44-masterbrew"),
            // Float#to_s: at least one decimal, exponent with a sign and two digits
            (json!([1.0, 2.5, 1e20, 1.5e-5]), "1.0-2.5-1.0e+20-1.5e-05"),
            // nil.to_s is ""; the separators stay
            (json!([null, 1, null]), "-1-"),
            // true/false
            (json!([true, false]), "true-false"),
            // nested arrays are flattened into the same join; [] joins to ""
            (json!([1, [2, [3, "x"]], [], 4]), "1-2-3-x--4"),
            // a hash is Hash#inspect (Ruby 3.4: " => "), strings inside inspected
            (json!([{"a": 1, "b": [null, "x\n"]}]), "{\"a\" => 1, \"b\" => [nil, \"x\\n\"]}"),
            (json!([{}]), "{}"),
            // String#inspect escapes quotes, backslashes and "#{"
            (json!([{"q": "say \"hi\" \\ #{x} #y"}]), "{\"q\" => \"say \\\"hi\\\" \\\\ \\#{x} #y\"}"),
            // control characters inside an inspected string; non-ASCII as is
            (json!([{"c": "\u{1b}\u{1}é"}]), "{\"c\" => \"\\e\\u0001é\"}"),
            // a string outside a hash is never inspected
            (json!(["a\"b", "é"]), "a\"b-é"),
            // large integers in decimal, negative too
            (
                json!([18446744073709551615u64, -9223372036854775808i64]),
                "18446744073709551615--9223372036854775808",
            ),
        ];
        for (args, joined) in table {
            let args = args.as_array().cloned().unwrap_or_default();
            assert_eq!(ruby_join(&args), *joined, "{args:?}");
        }
    }

    #[test]
    fn identifiers_are_the_sha1_of_the_join() {
        // Digest::SHA1.hexdigest([44, "masterbrew"].join('-')), from resque-retry's README example.
        assert_eq!(
            retry_identifier(&[json!(44), json!("masterbrew")]).as_deref(),
            Some("1315dd4143fb7d7abe77328729da673b8bfa3313")
        );
        // SHA-1("7") and SHA-1("1.0--2"), written out.
        assert_eq!(
            retry_identifier(&[json!(7)]).as_deref(),
            Some("902ba3cda1883801594b6e1b452790cc53948fda")
        );
        assert_eq!(retry_identifier(&[json!(1.0), json!(null), json!(2)]), sha("1.0--2"));
        // args.join('-').empty? => nil: no identifier
        assert_eq!(retry_identifier(&[]), None);
        assert_eq!(retry_identifier(&[json!(""), json!([])]), sha("-"));
        assert_eq!(retry_identifier(&[json!("")]), None);
        assert_eq!(retry_identifier(&[json!(null)]), None);
    }
}
