//! The attribute's arguments: `queue = "..."` (required), `class = "..."`,
//! `timeout = "..."`, a recurring schedule (`cron`, `args`: read by
//! `schedule.rs`), a retry policy (`retry(...)`: read by `retry.rs`), and
//! the hooks and plugins (read by `job_hooks.rs`).

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::duration;
use crate::job_hooks::{self, JobHooks, Kind};
use crate::retry::RetryArgs;
use crate::schedule::{self, JobSchedule};
use crate::valid::Errors;

/// The keys `#[resque::job(...)]` accepts besides the hooks, for messages.
const ACCEPTED: &str = "accepted keys: `queue`, `class`, `timeout`, `cron`, `args`, `retry`";

/// `#[resque::job(queue = "file_serve", class = "Archive", timeout = "5m")]`.
pub(crate) struct JobArgs {
    /// The queue `enqueue` pushes to.
    pub(crate) queue: LitStr,
    /// The class name, when not derived from the function's name.
    pub(crate) class: Option<LitStr>,
    /// The job's own time limit, when given.
    pub(crate) timeout: Option<Timeout>,
    /// The hooks and plugins.
    pub(crate) hooks: JobHooks,
    /// A recurring schedule, when `cron` is given.
    pub(crate) schedule: JobSchedule,
    /// The job's own retry policy, when `retry` is given.
    pub(crate) retry: Option<RetryArgs>,
}

/// A `timeout = "1m30s"`, read at compile time.
pub(crate) struct Timeout {
    /// The literal as written.
    pub(crate) lit: LitStr,
    /// Its length in milliseconds; more than zero.
    pub(crate) millis: u64,
}

impl JobArgs {
    /// Parses the attribute's tokens, recording every problem in `errors`.
    /// `None` when there is no usable `queue`.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Option<JobArgs> {
        let metas = errors.take(Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens))?;
        let mut queue = Key::new("queue", "as in `queue = \"file_serve\"`", non_empty);
        let mut class = Key::new("class", "as in `class = \"Archive\"`", non_empty);
        let mut timeout =
            Key::new("timeout", "as in `timeout = \"30s\"` (or \"500ms\", \"5m\", \"1h30m\")", timeout_value);
        let mut cron = Key::new(
            "cron",
            "as in `cron = \"0 3 * * *\"` (five fields and an optional time zone)",
            schedule::cron_value,
        );
        let mut schedule = JobSchedule::default();
        let mut hooks = JobHooks::default();
        let mut retry = None;
        for meta in metas {
            let Some(meta) = hooks.set(meta, errors) else { continue };
            let path = meta.path();
            if path.is_ident("queue") {
                queue.set(meta, errors);
            } else if path.is_ident("class") {
                class.set(meta, errors);
            } else if path.is_ident("timeout") {
                timeout.set(meta, errors);
            } else if path.is_ident("retry") {
                if retry.is_some() {
                    errors.spanned(path, "duplicate key `retry`: it is already given");
                } else {
                    retry = Some(RetryArgs::parse(meta, errors));
                }
            } else if path.is_ident("cron") {
                cron.set(meta, errors);
            } else if path.is_ident("args") {
                match meta {
                    Meta::NameValue(name_value) => schedule.set_args(name_value.value, errors),
                    other => {
                        errors.spanned(other, "expected `args = (...)`, as in `args = (44, \"masterbrew\")`")
                    }
                }
            } else {
                let name = quote::ToTokens::to_token_stream(path).to_string().replace(' ', "");
                let keys = ["queue", "class", "timeout", "cron", "args", "retry", "plugins"]
                    .into_iter()
                    .chain(Kind::ALL.map(Kind::name));
                let hint = job_hooks::did_you_mean(&name, keys)
                    .map(|key| format!("did you mean `{key}`? "))
                    .unwrap_or_default();
                errors.spanned(
                    path,
                    format_args!("unknown key `{name}`; {hint}{ACCEPTED}, {}", job_hooks::ACCEPTED),
                );
            }
        }
        if !queue.seen {
            errors.at(
                Span::call_site(),
                "missing `queue`: name the queue the job goes to, as in \
                 #[resque::job(queue = \"file_serve\")]",
            );
        }
        schedule.cron = cron.value;
        Some(JobArgs {
            queue: queue.value?,
            class: class.value,
            timeout: timeout.value,
            hooks,
            schedule,
            retry,
        })
    }
}

/// A `queue` or `class`: any string but a blank one.
fn non_empty(name: &str, lit: &LitStr) -> Result<LitStr, String> {
    if lit.value().trim().is_empty() {
        Err(format!("`{name}` cannot be empty"))
    } else {
        Ok(lit.clone())
    }
}

/// A `timeout`: a duration such as `"30s"`.
fn timeout_value(_: &str, lit: &LitStr) -> Result<Timeout, String> {
    let text = lit.value();
    match duration::parse_millis(&text) {
        Ok(millis) => Ok(Timeout { lit: lit.clone(), millis }),
        Err(error) => Err(duration::Message { what: "timeout", text: &text, error: &error }.to_string()),
    }
}

/// One key while parsing: whether it was given, and its value if usable.
struct Key<T> {
    name: &'static str,
    /// How to write it, for messages: "as in `queue = \"file_serve\"`".
    as_in: &'static str,
    /// Checks the string literal given, or says what is wrong with it.
    read: fn(&str, &LitStr) -> Result<T, String>,
    seen: bool,
    value: Option<T>,
}

impl<T> Key<T> {
    fn new(name: &'static str, as_in: &'static str, read: fn(&str, &LitStr) -> Result<T, String>) -> Self {
        Key { name, as_in, read, seen: false, value: None }
    }

    fn set(&mut self, meta: Meta, errors: &mut Errors) {
        let (name, as_in) = (self.name, self.as_in);
        if self.seen {
            errors.spanned(meta.path(), format_args!("duplicate key `{name}`: it is already given"));
            return;
        }
        self.seen = true;
        let value = match meta {
            Meta::NameValue(name_value) => name_value.value,
            other => {
                errors.spanned(other, format_args!("expected `{name} = \"...\"`, {as_in}"));
                return;
            }
        };
        match value {
            Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => match (self.read)(name, &lit) {
                Ok(value) => self.value = Some(value),
                Err(message) => errors.spanned(lit, message),
            },
            other => errors.spanned(other, format_args!("`{name}` takes a string literal, {as_in}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// The queue, the class and the timeout in milliseconds, or every error.
    type Parsed = (String, Option<String>, Option<u64>);

    fn parse(tokens: TokenStream) -> Result<Parsed, Vec<String>> {
        let mut errors = Errors::default();
        let args = JobArgs::parse(tokens, &mut errors);
        match (errors.finish(), args) {
            (Ok(()), Some(args)) => {
                Ok((args.queue.value(), args.class.map(|c| c.value()), args.timeout.map(|t| t.millis)))
            }
            (Err(error), _) => Err(error.into_iter().map(|e| e.to_string()).collect()),
            (Ok(()), None) => panic!("no args and no error"),
        }
    }

    #[test]
    fn queue_and_class() {
        assert_eq!(parse(quote!(queue = "file_serve")), Ok(("file_serve".into(), None, None)));
        assert_eq!(
            parse(quote!(class = "Admin::Archive", queue = "q",)),
            Ok(("q".into(), Some("Admin::Archive".into()), None))
        );
    }

    #[test]
    fn timeout() {
        assert_eq!(parse(quote!(queue = "q", timeout = "1m30s")), Ok(("q".into(), None, Some(90_000))));
        assert_eq!(
            parse(quote!(timeout = "500ms", queue = "q", class = "C")),
            Ok(("q".into(), Some("C".into()), Some(500)))
        );
        let examples = "\"500ms\", \"30s\", \"5m\" or \"1h30m\"";
        assert_eq!(
            parse(quote!(queue = "q", timeout = "30x", timeout = "1s")).unwrap_err(),
            [
                format!(
                    "invalid timeout \"30x\": unknown unit `x` (the units are `ms`, `s`, `m` and `h`); \
                     expected a duration such as {examples}"
                ),
                "duplicate key `timeout`: it is already given".to_owned(),
            ]
        );
        assert_eq!(
            parse(quote!(queue = "q", timeout = "0s")).unwrap_err(),
            ["a timeout of zero would kill every job at once; leave `timeout` out for no limit"]
        );
        assert_eq!(
            parse(quote!(queue = "q", timeout = 30)).unwrap_err(),
            ["`timeout` takes a string literal, as in `timeout = \"30s\"` (or \"500ms\", \"5m\", \"1h30m\")"]
        );
        assert_eq!(
            parse(quote!(queue = "q", timeout)).unwrap_err(),
            ["expected `timeout = \"...\"`, as in `timeout = \"30s\"` (or \"500ms\", \"5m\", \"1h30m\")"]
        );
    }

    #[test]
    fn every_error_is_reported() {
        let errors = parse(quote!(queue = 3, queue = "x", colour = "red", class = "", class)).unwrap_err();
        assert_eq!(
            errors,
            [
                "`queue` takes a string literal, as in `queue = \"file_serve\"`",
                "duplicate key `queue`: it is already given",
                "unknown key `colour`; accepted keys: `queue`, `class`, `timeout`, `cron`, `args`, `retry`, `before_enqueue`, \
                 `after_enqueue`, `before_dequeue`, `after_dequeue`, `before_perform`, `after_perform`, \
                 `around_perform`, `on_failure`, `plugins`",
                "`class` cannot be empty",
                "duplicate key `class`: it is already given",
            ]
        );
        assert_eq!(
            parse(quote!()).unwrap_err(),
            ["missing `queue`: name the queue the job goes to, as in #[resque::job(queue = \"file_serve\")]"]
        );
        assert_eq!(
            parse(quote!(queue)).unwrap_err(),
            ["expected `queue = \"...\"`, as in `queue = \"file_serve\"`"]
        );
    }
}
