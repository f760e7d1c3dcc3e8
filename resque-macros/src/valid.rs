//! Checks that a function can be a job, collecting every problem before
//! reporting, each on the token at fault.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, Lifetime, Pat, PathArguments, ReturnType, Type, TypePath};

use crate::ast::{JobFn, Param};

/// Errors collected so far; reported together, merged into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors {
    error: Option<syn::Error>,
}

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.error {
            Some(first) => first.combine(error),
            None => self.error = Some(error),
        }
    }

    /// Records an error at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// The value of `result`, or `None` after recording its error.
    pub(crate) fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// `Ok` when nothing was recorded, else every recorded error.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// The message for a return type a job cannot have.
pub(crate) const UNSUPPORTED_RETURN: &str =
    "unsupported return type: a job returns `()` or `Result<(), E>` where E: Display";

/// Names the generated module defines in the value namespace, which a
/// parameter of the same name would turn into a constant pattern.
const RESERVED_PARAMS: &[&str] = &["CLASS", "QUEUE", "TIMEOUT", "RETRY"];

impl<'a> JobFn<'a> {
    /// The job's parameters, once every check passed: each a plain name with
    /// an owned type. Otherwise every problem found, with the ones in `errors`.
    pub(crate) fn validate(&self, errors: &mut Errors) -> Vec<Param<'a>> {
        let sig = &self.item.sig;
        if let Some(asyncness) = &sig.asyncness {
            errors.spanned(
                asyncness,
                "`async fn` jobs are not supported yet: a worker runs each job to completion in a \
                 forked child, without an async runtime; make it a plain `fn`",
            );
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.spanned(
                unsafety,
                "a job cannot be an `unsafe fn`: workers call it with whatever arguments a payload \
                 carries",
            );
        }
        if !sig.generics.params.is_empty() {
            errors.spanned(
                &sig.generics,
                "a job cannot be generic: a worker calls it by class name, with arguments decoded \
                 from JSON into concrete types",
            );
        }
        if let Some(variadic) = &sig.variadic {
            errors.spanned(variadic, "a job cannot be variadic: it takes a fixed list of arguments");
        }

        let mut params = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(receiver) => errors.spanned(
                    receiver,
                    "a job cannot take `self`: a worker calls it by class name with arguments \
                     decoded from JSON; make it a free function outside the `impl` block",
                ),
                FnArg::Typed(typed) => {
                    for attr in &typed.attrs {
                        if attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr") {
                            errors.spanned(
                                attr,
                                "`#[cfg]` on a job parameter is not supported: a job's arguments \
                                 must be the same in every build",
                            );
                        }
                    }
                    let ty = &*typed.ty;
                    let owned = check_owned(ty, errors);
                    match &*typed.pat {
                        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                            let name = pat.ident.unraw().to_string();
                            if RESERVED_PARAMS.contains(&name.as_str()) {
                                errors.spanned(
                                    &pat.ident,
                                    format_args!(
                                        "a job parameter cannot be named `{name}`: it would clash \
                                         with the generated `{}::{name}`; rename it",
                                        self.item.sig.ident.unraw(),
                                    ),
                                );
                            } else if owned {
                                params.push(Param { ident: &pat.ident, ty });
                            }
                        }
                        Pat::Wild(wild) => errors.spanned(
                            wild,
                            "a job parameter needs a name, such as `_repo_id`: it becomes a field \
                             of the generated `Args` and a parameter of `enqueue`",
                        ),
                        pat => errors.spanned(
                            pat,
                            "a job parameter must be a plain name, such as `repo_id: u64`; \
                             destructure it inside the function",
                        ),
                    }
                }
            }
        }

        if let ReturnType::Type(_, ty) = &sig.output {
            if !returns_unit_result(ty) {
                errors.spanned(ty, UNSUPPORTED_RETURN);
            }
        }
        params
    }
}

/// Whether `ty` is `()` or a `Result` whose first argument is `()`.
fn returns_unit_result(ty: &Type) -> bool {
    match ty {
        Type::Tuple(tuple) => tuple.elems.is_empty(),
        Type::Paren(paren) => returns_unit_result(&paren.elem),
        Type::Group(group) => returns_unit_result(&group.elem),
        Type::Path(TypePath { qself: None, path }) => {
            let Some(last) = path.segments.last() else { return false };
            if last.ident != "Result" {
                return false;
            }
            let PathArguments::AngleBracketed(args) = &last.arguments else { return false };
            matches!(
                args.args.first(),
                Some(GenericArgument::Type(Type::Tuple(unit))) if unit.elems.is_empty()
            )
        }
        _ => false,
    }
}

/// Records why `ty` cannot be decoded into an owned value, if it cannot;
/// returns whether it can.
fn check_owned(ty: &Type, errors: &mut Errors) -> bool {
    let mut check = OwnedCheck { errors, ok: true };
    check.visit_type(ty);
    check.ok
}

/// Finds borrows and `impl Trait` in a parameter type.
struct OwnedCheck<'e> {
    errors: &'e mut Errors,
    ok: bool,
}

impl OwnedCheck<'_> {
    fn error(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.ok = false;
        self.errors.spanned(tokens, message);
    }
}

impl<'ast> Visit<'ast> for OwnedCheck<'_> {
    fn visit_type_reference(&mut self, reference: &'ast syn::TypeReference) {
        let message = match &*reference.elem {
            Type::Path(TypePath { qself: None, path }) if path.is_ident("str") => {
                "job arguments are owned: use `String` instead of `&str`".to_owned()
            }
            Type::Slice(slice) => format!(
                "job arguments are owned: use `Vec<{}>` instead of `&[{0}]`",
                slice.elem.to_token_stream().to_string().replace(' ', "")
            ),
            Type::Path(TypePath { qself: None, path })
                if path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == "Path" && last.arguments.is_none()) =>
            {
                "job arguments are owned: use `PathBuf` instead of `&Path`".to_owned()
            }
            _ => "job arguments must be owned types (they are decoded from JSON); use an owned \
                  type such as `String` instead of `&...`"
                .to_owned(),
        };
        // Do not look inside: one error per borrow is enough.
        self.error(reference, message);
    }

    fn visit_type_impl_trait(&mut self, impl_trait: &'ast syn::TypeImplTrait) {
        self.error(
            impl_trait,
            "job arguments need a concrete type: they are decoded from JSON, so `impl Trait` \
             cannot be one",
        );
    }

    fn visit_lifetime(&mut self, lifetime: &'ast Lifetime) {
        if lifetime.ident != "static" {
            self.error(
                lifetime,
                "job arguments must be owned types (they are decoded from JSON): they cannot \
                 borrow for a lifetime",
            );
        }
    }

    fn visit_type_bare_fn(&mut self, bare_fn: &'ast syn::TypeBareFn) {
        self.error(bare_fn, "job arguments are data decoded from JSON: a function pointer cannot be one");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(src: &str) -> bool {
        returns_unit_result(&syn::parse_str(src).unwrap_or_else(|e| panic!("{src}: {e}")))
    }

    #[test]
    fn return_types() {
        for ok in [
            "()",
            "Result<(), E>",
            "std::result::Result<(), MyError>",
            "::core::result::Result<(), Box<dyn std::error::Error>>",
            "io::Result<()>",
            "anyhow::Result<()>",
        ] {
            assert!(ret(ok), "{ok}");
        }
        for bad in
            ["u32", "Result<u32, E>", "Option<()>", "Result", "!", "impl Display", "<T as X>::Result<()>"]
        {
            assert!(!ret(bad), "{bad}");
        }
    }

    fn owned(src: &str) -> bool {
        let mut errors = Errors::default();
        let ok = check_owned(&syn::parse_str(src).unwrap_or_else(|e| panic!("{src}: {e}")), &mut errors);
        assert_eq!(ok, errors.finish().is_ok());
        ok
    }

    #[test]
    fn owned_types() {
        for ok in ["u64", "String", "Vec<String>", "Cow<'static, str>", "Option<(u8, Vec<u8>)>"] {
            assert!(owned(ok), "{ok}");
        }
        for bad in ["&str", "Vec<&str>", "&'static str", "&[u8]", "Cow<'a, str>", "impl Into<String>", "fn()"]
        {
            assert!(!owned(bad), "{bad}");
        }
    }
}
