//! Unit tests of payload numbers: Ruby's float spelling, refused
//! non-finite floats, and integers beyond 64 bits.

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
    assert_eq!(found(r#"[{"n":{"deep":[18446744073709551616]}}]"#), Some((0, "18446744073709551616".into())));
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
    integers_beyond_floats(&serde_json::json!([9007199254740993u64, 12, [-9007199254740993i64]]), &mut ints);
    assert_eq!(ints, vec![9007199254740993, -9007199254740993]);
    assert!(holds_exactly(&serde_json::json!(9007199254740993u64), 9007199254740993));
    assert!(!holds_exactly(&serde_json::json!(9007199254740992.0), 9007199254740993));
    assert!(holds_exactly(&serde_json::json!([1152921504606846976.0]), 1 << 60));
}
