//! `retry(...)` in `#[resque::job(...)]`: the keys of a retry policy, read
//! and checked at compile time (`retry_gen.rs` turns them into a
//! `RetryPolicy` built in a `const`).

use proc_macro2::Span;
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{LitStr, Meta, Path, Token};

use crate::job_hooks;
use crate::retry_values::{as_in, backoff, duration_value, exceptions, function, jitter, limit};
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    /// `retry(...)` read, or every error.
    pub(crate) fn parse(tokens: TokenStream) -> Result<RetryArgs, Vec<String>> {
        let meta: Meta = syn::parse2(tokens).unwrap_or_else(|e| panic!("not a meta: {e}"));
        let mut errors = Errors::default();
        let args = RetryArgs::parse(meta, &mut errors);
        match errors.finish() {
            Ok(()) => Ok(args),
            Err(error) => Err(error.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn errors(tokens: TokenStream) -> Vec<String> {
        parse(tokens).err().unwrap_or_else(|| panic!("no error"))
    }

    #[test]
    fn every_form() {
        let args = parse(quote!(retry(limit = 5, delay = "1m30s", jitter = 0.25, expire_key_after = "0s")))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (args.limit, args.delay, args.jitter, args.expire_key_after),
            (Some(5), Some(90_000), Some(0.25), Some(0))
        );
        let args = parse(quote!(retry(
            backoff = ["0s", "1m"],
            never_on = ["ArgumentError", std::io::Error],
            forever
        )))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(args.backoff, Some(vec![0, 60_000]));
        assert!(args.forever && args.limit.is_none());
        assert!(
            matches!(&args.never_on[..], [Exception::Name(name), Exception::Type(_)] if name.value() == "ArgumentError")
        );
        let args = parse(quote!(retry(exponential, jitter = 1, on = [Timeout], identifier = by_user)))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(args.exponential && args.identifier.is_some() && args.on.len() == 1);
        assert_eq!(args.jitter, Some(1.0));
        let args = parse(quote!(retry(retry_with = policies::later))).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(args.retry_with.is_some());
        // resque-retry's defaults.
        assert!(parse(quote!(retry)).is_ok_and(|args| args.keys.is_empty()));
        assert!(parse(quote!(retry())).is_ok_and(|args| args.keys.is_empty()));
    }

    #[test]
    fn bad_values() {
        let limit =
            "retry limit must be a non-negative integer, as in `limit = 5`; write `forever` for no limit";
        for bad in [quote!(limit = "x"), quote!(limit = -1), quote!(limit = 1.5), quote!(limit = 5i64)] {
            assert_eq!(errors(quote!(retry(#bad))), [limit], "{bad}");
        }
        assert_eq!(
            errors(quote!(retry(limit = 4294967296))),
            ["retry limit 4294967296 is too large: it must fit in a u32; write `forever` for no limit"]
        );
        let jitter = "retry jitter must be a number from 0 to 1, as in `jitter = 0.2` (each delay is \
                      multiplied by a random factor in 1 ± jitter)";
        for bad in [quote!(jitter = 2.0), quote!(jitter = -0.1), quote!(jitter = "0.2"), quote!(jitter = 2)] {
            assert_eq!(errors(quote!(retry(#bad))), [jitter], "{bad}");
        }
        assert_eq!(
            errors(quote!(retry(delay = "30x", backoff = [], expire_key_after = 5))),
            [
                "invalid retry delay \"30x\": unknown unit `x` (the units are `ms`, `s`, `m` and `h`); \
                 expected a duration such as \"500ms\", \"30s\", \"5m\" or \"1h30m\"",
                "`backoff = []` is empty: list the delay before each retry, as in \
                 `backoff = [\"0s\", \"1m\", \"10m\", \"1h\"]`",
                "`expire_key_after` takes a duration in quotes, as in `expire_key_after = \"1h\"`",
                "`backoff` cannot be used with `delay` in `retry(...)`: `delay` waits the same time \
                 before every retry, `backoff` lists one delay per retry; keep one",
            ]
        );
        assert_eq!(
            errors(quote!(retry(
                backoff = ["1s", ""],
                on = [],
                never_on = [3],
                retry_with = "f",
                forever = true
            ))),
            [
                "backoff delay cannot be empty: give a duration such as \"500ms\", \"30s\", \"5m\" or \
                 \"1h30m\", or \"0s\" for none",
                "`on = []` is empty: list exception names or error types, as in \
                 `on = [\"Net::ReadTimeout\", std::io::Error]`",
                "each element of `never_on` is an exception name in quotes, as in \"Net::ReadTimeout\", \
                 or an error type, as in `std::io::Error`",
                "`retry_with` takes a function name, as in `retry_with = my_policy`, with \
                 `fn my_policy(failure: &JobFailure, attempt: u32) -> RetryDecision`",
                "`forever` is a flag: write it alone, as in `retry(forever)`",
                "`never_on` cannot be used with `on` in `retry(...)`: like resque-retry, a policy lists \
                 either the exceptions to retry or the ones never to retry; keep one",
                "`forever` cannot be used with `retry_with`: the `retry_with` function alone decides \
                 whether and when to retry; remove `forever` or `retry_with`",
                "`backoff` cannot be used with `retry_with`: the `retry_with` function alone decides \
                 whether and when to retry; remove `backoff` or `retry_with`",
                "`on` cannot be used with `retry_with`: the `retry_with` function alone decides \
                 whether and when to retry; remove `on` or `retry_with`",
                "`never_on` cannot be used with `retry_with`: the `retry_with` function alone decides \
                 whether and when to retry; remove `never_on` or `retry_with`",
            ]
        );
    }

    #[test]
    fn keys() {
        let accepted = "accepted keys: `limit`, `forever`, `delay`, `backoff`, `exponential`, `jitter`, \
                        `on`, `never_on`, `retry_with`, `expire_key_after`, `identifier`";
        assert_eq!(
            errors(quote!(retry(limits = 3, colour = "red", limit = 1, limit = 2, delay))),
            [
                format!("unknown key `limits` in `retry(...)`; did you mean `limit`? {accepted}"),
                format!("unknown key `colour` in `retry(...)`; {accepted}"),
                "duplicate key `limit` in `retry(...)`: it is already given".to_owned(),
                "expected `delay = ...`, as in `delay = \"30s\"` (or \"0s\", \"500ms\", \"5m\", \"1h30m\")"
                    .to_owned(),
            ]
        );
        assert_eq!(
            errors(quote!(retry = 3)),
            ["`retry` takes its keys in parentheses, as in `retry(limit = 5, delay = \"30s\")`"]
        );
        assert_eq!(
            errors(quote!(retry(exponential, forever, limit = 2, delay = "1s"))),
            [
                "`limit` cannot be used with `forever` in `retry(...)`: `forever` means no limit; keep one",
                "`delay` cannot be used with `exponential` in `retry(...)`: `exponential` computes every \
                 delay; keep one",
            ]
        );
    }
}
