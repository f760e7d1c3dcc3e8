//! The attribute's arguments: `queue = "..."` (required) and `class = "..."`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::valid::Errors;

/// The keys `#[resque::job(...)]` accepts, for messages.
const ACCEPTED: &str = "accepted keys: `queue`, `class`";

/// `#[resque::job(queue = "file_serve", class = "Archive")]`.
pub(crate) struct JobArgs {
    /// The queue `enqueue` pushes to.
    pub(crate) queue: LitStr,
    /// The class name, when not derived from the function's name.
    pub(crate) class: Option<LitStr>,
}

impl JobArgs {
    /// Parses the attribute's tokens, recording every problem in `errors`.
    /// `None` when there is no usable `queue`.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Option<JobArgs> {
        let metas = errors.take(Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens))?;
        let mut queue = Key::new("queue", "file_serve");
        let mut class = Key::new("class", "Archive");
        for meta in metas {
            let path = meta.path();
            let key = if path.is_ident("queue") {
                &mut queue
            } else if path.is_ident("class") {
                &mut class
            } else {
                let name = quote::ToTokens::to_token_stream(path).to_string().replace(' ', "");
                errors.spanned(path, format_args!("unknown key `{name}`; {ACCEPTED}"));
                continue;
            };
            key.set(meta, errors);
        }
        if !queue.seen {
            errors.at(
                Span::call_site(),
                "missing `queue`: name the queue the job goes to, as in \
                 #[resque::job(queue = \"file_serve\")]",
            );
        }
        Some(JobArgs { queue: queue.value?, class: class.value })
    }
}

/// One key while parsing: whether it was given, and its value if usable.
struct Key {
    name: &'static str,
    example: &'static str,
    seen: bool,
    value: Option<LitStr>,
}

impl Key {
    fn new(name: &'static str, example: &'static str) -> Self {
        Key { name, example, seen: false, value: None }
    }

    fn set(&mut self, meta: Meta, errors: &mut Errors) {
        let (name, example) = (self.name, self.example);
        if self.seen {
            errors.spanned(meta.path(), format_args!("duplicate key `{name}`: it is already given"));
            return;
        }
        self.seen = true;
        let value = match meta {
            Meta::NameValue(name_value) => name_value.value,
            other => {
                errors.spanned(
                    other,
                    format_args!("expected `{name} = \"...\"`, as in `{name} = \"{example}\"`"),
                );
                return;
            }
        };
        match value {
            Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) if lit.value().trim().is_empty() => {
                errors.spanned(lit, format_args!("`{name}` cannot be empty"));
            }
            Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => self.value = Some(lit),
            other => errors.spanned(
                other,
                format_args!("`{name}` takes a string literal, as in `{name} = \"{example}\"`"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> Result<(String, Option<String>), Vec<String>> {
        let mut errors = Errors::default();
        let args = JobArgs::parse(tokens, &mut errors);
        match (errors.finish(), args) {
            (Ok(()), Some(args)) => Ok((args.queue.value(), args.class.map(|c| c.value()))),
            (Err(error), _) => Err(error.into_iter().map(|e| e.to_string()).collect()),
            (Ok(()), None) => panic!("no args and no error"),
        }
    }

    #[test]
    fn queue_and_class() {
        assert_eq!(parse(quote!(queue = "file_serve")), Ok(("file_serve".into(), None)));
        assert_eq!(
            parse(quote!(class = "Admin::Archive", queue = "q",)),
            Ok(("q".into(), Some("Admin::Archive".into())))
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
                "unknown key `colour`; accepted keys: `queue`, `class`",
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
