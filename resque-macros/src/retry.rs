//! `retry(...)` in `#[resque::job(...)]`: the keys of a retry policy, read
//! and checked at compile time (`retry_gen.rs` turns them into a
//! `RetryPolicy` built in a `const`).

use proc_macro2::Span;
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprPath, Lit, LitStr, Meta, Path, Token};

use crate::duration::{self, DurationError};
use crate::job_hooks;
use crate::valid::Errors;

/// The keys `retry(...)` accepts, in the order the docs list them.
const KEYS: [&str; 11] = [
    "limit",
    "forever",
    "delay",
    "backoff",
    "exponential",
    "jitter",
    "on",
    "never_on",
    "retry_with",
    "expire_key_after",
    "identifier",
];

/// Keys that cannot be given together: (first, second, why).
const CONFLICTS: &[(&str, &str, &str)] = &[
    ("limit", "forever", "`forever` means no limit"),
    (
        "delay",
        "backoff",
        "`delay` waits the same time before every retry, `backoff` lists one delay per retry",
    ),
    ("delay", "exponential", "`exponential` computes every delay"),
    ("backoff", "exponential", "`exponential` computes every delay"),
    (
        "on",
        "never_on",
        "like resque-retry, a policy lists either the exceptions to retry or the ones never to retry",
    ),
];

/// The keys that a `retry_with` function makes pointless.
const UNUSED_WITH_CUSTOM: [&str; 8] =
    ["limit", "forever", "delay", "backoff", "exponential", "jitter", "on", "never_on"];

/// A `retry(...)`, read: every key that was usable.
#[derive(Default)]
pub(crate) struct RetryArgs {
    /// Each key given (even with a bad value), with where, in order.
    keys: Vec<(&'static str, Span)>,
    pub(crate) limit: Option<u32>,
    pub(crate) forever: bool,
    /// Milliseconds; zero allowed.
    pub(crate) delay: Option<u64>,
    /// Milliseconds each, at least one.
    pub(crate) backoff: Option<Vec<u64>>,
    pub(crate) exponential: bool,
    /// From 0 to 1.
    pub(crate) jitter: Option<f64>,
    pub(crate) on: Vec<Exception>,
    pub(crate) never_on: Vec<Exception>,
    pub(crate) retry_with: Option<Path>,
    /// Milliseconds; zero allowed.
    pub(crate) expire_key_after: Option<u64>,
    pub(crate) identifier: Option<Path>,
    /// The attribute as written, for the docs of the generated `RETRY`.
    pub(crate) text: String,
}

/// One element of `on = [...]` or `never_on = [...]`.
pub(crate) enum Exception {
    /// `"Net::ReadTimeout"`.
    Name(LitStr),
    /// `std::io::Error`.
    Type(Path),
}

impl RetryArgs {
    /// Reads `retry`, `retry()` (resque-retry's defaults) or `retry(...)`,
    /// recording every problem in `errors`.
    pub(crate) fn parse(meta: Meta, errors: &mut Errors) -> RetryArgs {
        let mut args =
            RetryArgs { text: quote::ToTokens::to_token_stream(&meta).to_string(), ..RetryArgs::default() };
        let list = match meta {
            Meta::Path(_) => return args,
            Meta::List(list) => list,
            Meta::NameValue(name_value) => {
                errors.spanned(
                    name_value,
                    "`retry` takes its keys in parentheses, as in `retry(limit = 5, delay = \"30s\")`",
                );
                return args;
            }
        };
        let Some(metas) = errors.take(Punctuated::<Meta, Token![,]>::parse_terminated.parse2(list.tokens))
        else {
            return args;
        };
        for meta in metas {
            args.set(meta, errors);
        }
        args.check_conflicts(errors);
        args
    }

    /// Reads one key.
    fn set(&mut self, meta: Meta, errors: &mut Errors) {
        let path = meta.path();
        let Some(&name) = KEYS.iter().find(|key| path.is_ident(key)) else {
            let written = quote::ToTokens::to_token_stream(path).to_string().replace(' ', "");
            let hint = job_hooks::did_you_mean(&written, KEYS)
                .map(|key| format!("did you mean `{key}`? "))
                .unwrap_or_default();
            let keys = KEYS.map(|key| format!("`{key}`")).join(", ");
            errors.spanned(
                path,
                format_args!("unknown key `{written}` in `retry(...)`; {hint}accepted keys: {keys}"),
            );
            return;
        };
        if self.keys.iter().any(|(seen, _)| *seen == name) {
            errors.spanned(path, format_args!("duplicate key `{name}` in `retry(...)`: it is already given"));
            return;
        }
        self.keys.push((name, path.span()));
        if name == "forever" || name == "exponential" {
            match meta {
                Meta::Path(_) => {
                    *(if name == "forever" { &mut self.forever } else { &mut self.exponential }) = true;
                }
                other => errors.spanned(
                    other,
                    format_args!("`{name}` is a flag: write it alone, as in `retry({name})`"),
                ),
            }
            return;
        }
        let value = match meta {
            Meta::NameValue(name_value) => name_value.value,
            other => {
                errors.spanned(other, format_args!("expected `{name} = ...`, {}", as_in(name)));
                return;
            }
        };
        match name {
            "limit" => self.limit = limit(value, errors),
            "delay" => self.delay = duration_value(name, "retry delay", value, errors),
            "expire_key_after" => self.expire_key_after = duration_value(name, name, value, errors),
            "backoff" => self.backoff = backoff(value, errors),
            "jitter" => self.jitter = jitter(value, errors),
            "on" => self.on = exceptions(name, value, errors),
            "never_on" => self.never_on = exceptions(name, value, errors),
            "retry_with" => self.retry_with = function(name, value, errors),
            _ => self.identifier = function(name, value, errors),
        }
    }

    /// Where `key` was given, if it was.
    fn span_of(&self, key: &str) -> Option<(usize, Span)> {
        self.keys.iter().position(|(seen, _)| *seen == key).map(|index| (index, self.keys[index].1))
    }

    /// Reports keys given together that cannot be, on the later one.
    fn check_conflicts(&self, errors: &mut Errors) {
        for (a, b, why) in CONFLICTS {
            if let (Some((index_a, span_a)), Some((index_b, span_b))) = (self.span_of(a), self.span_of(b)) {
                let (earlier, later, span) = if index_a < index_b { (a, b, span_b) } else { (b, a, span_a) };
                errors.at(
                    span,
                    format_args!(
                        "`{later}` cannot be used with `{earlier}` in `retry(...)`: {why}; keep one"
                    ),
                );
            }
        }
        if self.span_of("retry_with").is_some() {
            for key in UNUSED_WITH_CUSTOM {
                if let Some((_, span)) = self.span_of(key) {
                    errors.at(
                        span,
                        format_args!(
                            "`{key}` cannot be used with `retry_with`: the `retry_with` function alone \
                             decides whether and when to retry; remove `{key}` or `retry_with`"
                        ),
                    );
                }
            }
        }
    }
}

/// How to write `key`, for messages.
fn as_in(key: &str) -> &'static str {
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
fn limit(value: Expr, errors: &mut Errors) -> Option<u32> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Int(int), .. }) if matches!(int.suffix(), "" | "u32") => {
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
fn jitter(value: Expr, errors: &mut Errors) -> Option<f64> {
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
fn duration_value(key: &str, what: &str, value: Expr, errors: &mut Errors) -> Option<u64> {
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
fn backoff(value: Expr, errors: &mut Errors) -> Option<Vec<u64>> {
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
fn exceptions(key: &str, value: Expr, errors: &mut Errors) -> Vec<Exception> {
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
fn function(key: &str, value: Expr, errors: &mut Errors) -> Option<Path> {
    match value {
        Expr::Path(ExprPath { attrs, qself: None, path }) if attrs.is_empty() => Some(path),
        other => {
            errors.spanned(other, format_args!("`{key}` takes a function name, {}", as_in(key)));
            None
        }
    }
}
