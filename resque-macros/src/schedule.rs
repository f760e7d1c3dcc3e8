//! `cron = "0 3 * * *"` and `args = (...)` in `#[resque::job(...)]`: a
//! recurring schedule declared on the job, its cron fields checked now, at
//! compile time, and its arguments typed as the function's parameters.

use std::str::FromStr as _;

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, LitStr};

use crate::ast::Param;
use crate::valid::Errors;

/// A job's recurring schedule, as the attribute gives it.
#[derive(Default)]
pub(crate) struct JobSchedule {
    /// `cron = "<5 fields> [Time/Zone]"`.
    pub(crate) cron: Option<LitStr>,
    /// `args = (44, "masterbrew")`: the arguments of every run.
    pub(crate) args: Option<(Expr, Vec<Expr>)>,
    /// `args` was given but is no tuple (already reported).
    bad_args: bool,
}

/// A `cron` value: five cron fields, then an optional time zone name (the
/// zone is looked up when the scheduler starts, in its time zone database).
pub(crate) fn cron_value(_: &str, lit: &LitStr) -> Result<LitStr, String> {
    let text = lit.value();
    let words: Vec<&str> = text.split_whitespace().collect();
    let fields = match words.len() {
        5 | 6 => words[..5].join(" "),
        n => {
            return Err(format!(
                "`cron` takes 5 fields (minute hour day-of-month month day-of-week) and an optional time \
                 zone, as in `cron = \"0 3 * * *\"` or `cron = \"0 3 * * * Europe/Berlin\"`; found {n} \
                 word{}",
                if n == 1 { "" } else { "s" }
            ))
        }
    };
    if let Some(zone) = words.get(5) {
        if zone.chars().all(|c| c.is_ascii_digit() || "*/,-?LW#".contains(c)) {
            return Err(format!(
                "the sixth word of `cron` is a time zone (as in \"Europe/Berlin\" or \"UTC\"), not a cron \
                 field: {zone:?} (resque-scheduler's cron has no seconds field)"
            ));
        }
    }
    if let Err(e) = croner::Cron::from_str(&fields) {
        return Err(format!("invalid cron expression {fields:?}: {e}"));
    }
    Ok(lit.clone())
}

impl JobSchedule {
    /// Reads `args = (...)` (a tuple; `(x,)` for one argument).
    pub(crate) fn set_args(&mut self, value: Expr, errors: &mut Errors) {
        if self.args.is_some() {
            errors.spanned(&value, "duplicate key `args`: it is already given");
            return;
        }
        let elems = match &value {
            Expr::Tuple(tuple) => tuple.elems.iter().cloned().collect(),
            Expr::Paren(paren) => vec![(*paren.expr).clone()],
            other => {
                errors.spanned(
                    other,
                    "`args` takes the arguments of each cron run as a tuple, as in \
                     `args = (44, \"masterbrew\")`",
                );
                self.bad_args = true;
                return;
            }
        };
        self.args = Some((value, elems));
    }

    /// Checks that the arguments fit the function: given exactly when there
    /// are parameters to fill, one value a parameter.
    pub(crate) fn check(&self, params: &[Param<'_>], errors: &mut Errors) {
        if self.bad_args {
            return;
        }
        match (&self.cron, &self.args) {
            (None, Some((value, _))) => {
                errors.spanned(value, "`args` goes with `cron`: they are the arguments of each cron run")
            }
            (Some(cron), None) if !params.is_empty() => errors.spanned(
                cron,
                format_args!(
                    "a job with parameters needs `args = (...)` beside `cron`: the arguments each run is \
                     enqueued with ({} value{})",
                    params.len(),
                    if params.len() == 1 { "" } else { "s" }
                ),
            ),
            (Some(_), Some((value, elems))) if elems.len() != params.len() => errors.spanned(
                value,
                format_args!(
                    "`args` has {} value{} but the function takes {} argument{}",
                    elems.len(),
                    if elems.len() == 1 { "" } else { "s" },
                    params.len(),
                    if params.len() == 1 { "" } else { "s" }
                ),
            ),
            _ => {}
        }
    }

    /// The `schedule` field of the job's registration: `None`, or the cron
    /// and a function that encodes the arguments of a run. Each value is
    /// bound to its parameter's type, so that a value of the wrong type is
    /// an error on the value (a `String` parameter takes anything `Into` it).
    pub(crate) fn generate(&self, args_path: &TokenStream, params: &[Param<'_>]) -> TokenStream {
        let Some(cron) = &self.cron else { return quote!(::core::option::Option::None) };
        let exprs = self.args.as_ref().map(|(_, elems)| elems.clone()).unwrap_or_default();
        let bindings = params.iter().zip(&exprs).map(|(param, expr)| {
            let (field, ty) = (param.ident, param.ty);
            if param.is_string() {
                quote!(let #field: ::std::string::String = ::core::convert::Into::into(#expr);)
            } else {
                quote!(let #field: #ty = #expr;)
            }
        });
        let fields = params.iter().map(|param| param.ident);
        quote! {
            ::core::option::Option::Some(::resque::__private::JobSchedule {
                cron: #cron,
                args: {
                    fn __resque_schedule_args() -> ::core::result::Result<
                        ::std::string::String,
                        ::resque::__private::EncodeError,
                    > {
                        #(#bindings)*
                        ::resque::__private::encode_args(&#args_path { #(#fields),* })
                    }
                    __resque_schedule_args
                },
            })
        }
    }
}
