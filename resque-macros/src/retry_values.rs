//! The values of the keys in `retry(...)`, each read from its expression
//! or reported on it: `limit = 5`, `jitter = 0.2`, durations, lists of
//! exceptions, function names.

use syn::{Expr, ExprLit, ExprPath, Lit, Path};

use crate::duration::{self, DurationError};
use crate::retry::Exception;
use crate::valid::Errors;

/// How to write `key`, for messages.
pub(crate) fn as_in(key: &str) -> &'static str {
    match key {
        "limit" => "as in `limit = 5`",
        "delay" => "as in `delay = \"30s\"` (or \"0s\", \"500ms\", \"5m\", \"1h30m\")",
        "expire_key_after" => "as in `expire_key_after = \"1h\"`",
        "backoff" => "as in `backoff = [\"0s\", \"1m\", \"10m\", \"1h\"]`",
        "jitter" => "as in `jitter = 0.2`",
        "on" => "as in `on = [\"Net::ReadTimeout\", std::io::Error]`",
        "never_on" => "as in `never_on = [\"ArgumentError\", serde_json::Error]`",
        "retry_with" => {
            "as in `retry_with = my_policy`, with \
             `fn my_policy(failure: &JobFailure, attempt: u32) -> RetryDecision`"
        }
        _ => "as in `identifier = by_user`, with `fn by_user(args: &[Value]) -> Option<String>`",
    }
}

/// `limit = 5`.
pub(crate) fn limit(value: Expr, errors: &mut Errors) -> Option<u32> {
    match value {
        // A negative literal is `-` and a literal, except when tokens are
        // built from text (as in this crate's tests).
        Expr::Lit(ExprLit { lit: Lit::Int(int), .. })
            if matches!(int.suffix(), "" | "u32") && !int.base10_digits().starts_with('-') =>
        {
            match int.base10_parse::<u32>() {
                Ok(limit) => Some(limit),
                Err(_) => {
                    errors.spanned(
                        &int,
                        format_args!(
                            "retry limit {} is too large: it must fit in a u32; write `forever` for no limit",
                            int.base10_digits()
                        ),
                    );
                    None
                }
            }
        }
        other => {
            errors.spanned(
                other,
                "retry limit must be a non-negative integer, as in `limit = 5`; write `forever` for no limit",
            );
            None
        }
    }
}

/// `jitter = 0.2`.
pub(crate) fn jitter(value: Expr, errors: &mut Errors) -> Option<f64> {
    let number = match &value {
        Expr::Lit(ExprLit { lit: Lit::Float(float), .. }) if matches!(float.suffix(), "" | "f64") => {
            float.base10_parse::<f64>().ok()
        }
        Expr::Lit(ExprLit { lit: Lit::Int(int), .. }) if int.suffix().is_empty() => {
            int.base10_parse::<f64>().ok()
        }
        _ => None,
    };
    match number {
        Some(jitter) if (0.0..=1.0).contains(&jitter) => Some(jitter),
        _ => {
            errors.spanned(
                value,
                "retry jitter must be a number from 0 to 1, as in `jitter = 0.2` (each delay is \
                 multiplied by a random factor in 1 ± jitter)",
            );
            None
        }
    }
}

/// `delay = "30s"`, `expire_key_after = "1h"` or an element of `backoff`.
pub(crate) fn duration_value(key: &str, what: &str, value: Expr, errors: &mut Errors) -> Option<u64> {
    let Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) = value else {
        errors.spanned(value, format_args!("`{key}` takes a duration in quotes, {}", as_in(key)));
        return None;
    };
    let text = lit.value();
    match duration::parse_millis(&text) {
        Ok(millis) => Some(millis),
        Err(DurationError::Zero) => Some(0),
        Err(DurationError::Empty) => {
            errors.spanned(
                lit,
                format_args!(
                    "{what} cannot be empty: give a duration such as {}, or \"0s\" for none",
                    duration::EXAMPLES
                ),
            );
            None
        }
        Err(error) => {
            errors.spanned(lit, duration::Message { what, text: &text, error: &error });
            None
        }
    }
}

/// `backoff = ["0s", "1m", "10m"]`.
pub(crate) fn backoff(value: Expr, errors: &mut Errors) -> Option<Vec<u64>> {
    let Expr::Array(array) = value else {
        errors.spanned(value, format_args!("`backoff` takes a list of durations, {}", as_in("backoff")));
        return None;
    };
    if array.elems.is_empty() {
        errors.spanned(
            &array,
            format_args!("`backoff = []` is empty: list the delay before each retry, {}", as_in("backoff")),
        );
        return None;
    }
    let delays: Vec<Option<u64>> = array
        .elems
        .into_iter()
        .map(|elem| duration_value("backoff", "backoff delay", elem, errors))
        .collect();
    delays.into_iter().collect()
}

/// `on = [...]` or `never_on = [...]`: names in quotes or error types.
pub(crate) fn exceptions(key: &str, value: Expr, errors: &mut Errors) -> Vec<Exception> {
    let Expr::Array(array) = value else {
        errors.spanned(value, format_args!("`{key}` takes a list of exceptions in brackets, {}", as_in(key)));
        return Vec::new();
    };
    if array.elems.is_empty() {
        errors.spanned(
            &array,
            format_args!("`{key} = []` is empty: list exception names or error types, {}", as_in(key)),
        );
    }
    let mut list = Vec::new();
    for elem in array.elems {
        match elem {
            Expr::Lit(ExprLit { lit: Lit::Str(name), .. }) if !name.value().trim().is_empty() => {
                list.push(Exception::Name(name));
            }
            Expr::Path(ExprPath { attrs, qself: None, path }) if attrs.is_empty() => {
                list.push(Exception::Type(path));
            }
            other => errors.spanned(
                other,
                format_args!(
                    "each element of `{key}` is an exception name in quotes, as in \
                     \"Net::ReadTimeout\", or an error type, as in `std::io::Error`"
                ),
            ),
        }
    }
    list
}

/// `retry_with = my_policy` or `identifier = by_user`.
pub(crate) fn function(key: &str, value: Expr, errors: &mut Errors) -> Option<Path> {
    match value {
        Expr::Path(ExprPath { attrs, qself: None, path }) if attrs.is_empty() => Some(path),
        other => {
            errors.spanned(other, format_args!("`{key}` takes a function name, {}", as_in(key)));
            None
        }
    }
}
