//! The job's retry policy in the generated code: `const RETRY` in its
//! `impl Job`, built from its own `retry(...)` or else taken from the first
//! plugin that has one, and the docs of the module's `RETRY`.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::Path;

use crate::retry::{Exception, RetryArgs};

/// `const RETRY: Option<RetryPolicy> = ...;` for the job's `impl Job`, or
/// nothing when neither the job nor a plugin can have a policy (the
/// trait's default, `None`, stands).
pub(crate) fn retry_const(retry: Option<&RetryArgs>, plugins: &[Path]) -> TokenStream {
    let value = match retry {
        Some(retry) => {
            let policy = policy(retry);
            quote!(::core::option::Option::Some(#policy))
        }
        None if plugins.is_empty() => return TokenStream::new(),
        None => first_plugin_policy(plugins),
    };
    quote! {
        const RETRY: ::core::option::Option<::resque::__private::RetryPolicy> = #value;
    }
}

/// The docs of the module's `RETRY`.
pub(crate) fn retry_doc(retry: Option<&RetryArgs>, plugins: &[Path], class: &str) -> String {
    match retry {
        Some(retry) => format!(
            "The retry policy of `{class}` jobs, from `{}`: a failed run is pushed again while \
             the policy allows, its failure kept apart; the failure of the last attempt lands \
             in `failed`.",
            tokens_text(&retry.text)
        ),
        None if plugins.is_empty() => format!(
            "`None`: a failed `{class}` job is not retried (no `retry(...)` in `#[resque::job]` \
             and no plugins); its failure lands in `failed`."
        ),
        None => {
            let names: Vec<String> = plugins
                .iter()
                .map(|plugin| tokens_text(&quote::ToTokens::to_token_stream(plugin).to_string()))
                .collect();
            format!(
                "The retry policy of `{class}` jobs: the `RETRY` of the first of its plugins \
                 (`{}`) that has one, or `None` (not retried) when none does.",
                names.join("`, `")
            )
        }
    }
}

/// `retry(limit = 5)` rather than `retry (limit = 5)`.
fn tokens_text(text: &str) -> String {
    text.replace(" (", "(").replace(" ,", ",").replace(" :: ", "::").replace(":: ", "::")
}

/// The first `Some` among the plugins' `RETRY`, in order, as a constant
/// expression; each plugin named on its own path, so that a type that is
/// not a plugin is an error there.
fn first_plugin_policy(plugins: &[Path]) -> TokenStream {
    let mut value = quote!(::core::option::Option::None);
    for plugin in plugins.iter().rev() {
        let this = quote_spanned! {plugin.span()=>
            <#plugin as ::resque::__private::Plugin>::RETRY
        };
        value = quote! {
            match #this {
                ::core::option::Option::Some(__resque_policy) => ::core::option::Option::Some(__resque_policy),
                ::core::option::Option::None => #value,
            }
        };
    }
    value
}

/// A block of type `RetryPolicy` that builds the policy `retry` declares.
/// Lists are constants of their own (a `&'static` slice), and the user's
/// functions are bound to constants of the exact function-pointer type, so
/// that a wrong signature is a type error on the path as written.
fn policy(retry: &RetryArgs) -> TokenStream {
    let private = quote!(::resque::__private);
    let mut items = TokenStream::new();
    let mut calls = TokenStream::new();
    if let Some(delay) = retry.delay {
        let delay = millis(delay);
        calls.extend(quote!(.delay(#delay)));
    }
    if let Some(steps) = &retry.backoff {
        let steps = steps.iter().map(|&step| millis(step));
        items.extend(quote! {
            const __RESQUE_BACKOFF: &[::core::time::Duration] = &[#(#steps),*];
        });
        calls.extend(quote!(.backoff(__RESQUE_BACKOFF)));
    }
    if retry.exponential {
        calls.extend(quote!(.exponential()));
    }
    // After `backoff` and `exponential`, which set a limit of their own.
    if let Some(limit) = retry.limit {
        let limit = Literal::u32_suffixed(limit);
        calls.extend(quote!(.limit(#limit)));
    }
    if retry.forever {
        calls.extend(quote!(.forever()));
    }
    if let Some(jitter) = retry.jitter {
        let jitter = Literal::f64_suffixed(jitter);
        calls.extend(quote!(.jitter(#jitter)));
    }
    for (list, name, method) in
        [(&retry.on, "__RESQUE_ON", "on"), (&retry.never_on, "__RESQUE_NEVER_ON", "never_on")]
    {
        if list.is_empty() {
            continue;
        }
        let name = syn::Ident::new(name, proc_macro2::Span::call_site());
        let method = syn::Ident::new(method, proc_macro2::Span::call_site());
        let elems = list.iter().map(|exception| match exception {
            Exception::Name(lit) => quote!(#private::ExceptionMatch::Name(#lit)),
            Exception::Type(path) => quote_spanned! {path.span()=>
                #private::ExceptionMatch::Type(::core::any::type_name::<#path>)
            },
        });
        items.extend(quote! {
            const #name: &[#private::ExceptionMatch] = &[#(#elems),*];
        });
        calls.extend(quote!(.#method(#name)));
    }
    if let Some(path) = &retry.retry_with {
        let ty = quote_spanned! {path.span()=>
            fn(&#private::JobFailure, u32) -> #private::RetryDecision
        };
        items.extend(quote_spanned! {path.span()=>
            const __RESQUE_RETRY_WITH: #ty = #path;
        });
        calls.extend(quote!(.retry_with(__RESQUE_RETRY_WITH)));
    }
    if let Some(after) = retry.expire_key_after {
        let after = millis(after);
        calls.extend(quote!(.expire_key_after(#after)));
    }
    if let Some(path) = &retry.identifier {
        let ty = quote_spanned! {path.span()=>
            fn(&[#private::Value]) -> ::core::option::Option<::std::string::String>
        };
        items.extend(quote_spanned! {path.span()=>
            const __RESQUE_IDENTIFIER: #ty = #path;
        });
        calls.extend(quote!(.identifier(__RESQUE_IDENTIFIER)));
    }
    quote! {
        {
            #items
            #private::RetryPolicy::new() #calls
        }
    }
}

/// `Duration::from_millis(n)`.
fn millis(millis: u64) -> TokenStream {
    let millis = Literal::u64_suffixed(millis);
    quote!(::core::time::Duration::from_millis(#millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn text(tokens: TokenStream) -> String {
        tokens.to_string().replace(' ', "")
    }

    fn generated(tokens: TokenStream, plugins: &[Path]) -> String {
        let retry = crate::retry::tests::parse(tokens).unwrap_or_else(|e| panic!("{e:?}"));
        text(retry_const(Some(&retry), plugins))
    }

    #[test]
    fn the_builder_calls_follow_the_keys() {
        let p = "::resque::__private::";
        assert_eq!(
            generated(quote!(retry(limit = 5, delay = "30s")), &[]),
            format!(
                "constRETRY:::core::option::Option<{p}RetryPolicy>=::core::option::Option::Some({{\
                 {p}RetryPolicy::new().delay(::core::time::Duration::from_millis(30000u64)).limit(5u32)}});"
            )
        );
        // The limit comes after `backoff`, which sets one of its own.
        let backoff = generated(quote!(retry(limit = 2, backoff = ["0s", "1m"], jitter = 0.5)), &[]);
        assert!(
            backoff.contains(
                "const__RESQUE_BACKOFF:&[::core::time::Duration]=&[::core::time::Duration::from_millis(0u64),\
                 ::core::time::Duration::from_millis(60000u64)];"
            ),
            "{backoff}"
        );
        assert!(backoff.contains(".backoff(__RESQUE_BACKOFF).limit(2u32).jitter(0.5f64)"), "{backoff}");
        let lists = generated(quote!(retry(exponential, forever, on = ["Timeout", std::io::Error])), &[]);
        assert!(
            lists.contains(&format!(
                "const__RESQUE_ON:&[{p}ExceptionMatch]=&[{p}ExceptionMatch::Name(\"Timeout\"),\
                 {p}ExceptionMatch::Type(::core::any::type_name::<std::io::Error>)];"
            )),
            "{lists}"
        );
        assert!(lists.contains(".exponential().forever().on(__RESQUE_ON)"), "{lists}");
        // Functions are bound to constants of their exact type.
        let custom =
            generated(quote!(retry(retry_with = later, identifier = by_user, expire_key_after = "1h")), &[]);
        assert!(
            custom.contains(&format!(
                "const__RESQUE_RETRY_WITH:fn(&{p}JobFailure,u32)->{p}RetryDecision=later;"
            )),
            "{custom}"
        );
        assert!(
            custom.contains(&format!(
                "const__RESQUE_IDENTIFIER:fn(&[{p}Value])->::core::option::Option<::std::string::String>=by_user;"
            )),
            "{custom}"
        );
        assert!(
            custom.contains(
                ".retry_with(__RESQUE_RETRY_WITH).expire_key_after(::core::time::Duration::from_millis(\
                 3600000u64)).identifier(__RESQUE_IDENTIFIER)"
            ),
            "{custom}"
        );
    }

    #[test]
    fn plugins_give_a_policy_unless_the_job_has_one() {
        let plugins: Vec<Path> = vec![syn::parse_quote!(A), syn::parse_quote!(b::C)];
        let own = generated(quote!(retry(limit = 1)), &plugins);
        assert!(!own.contains("Plugin"), "{own}");
        let some = "::core::option::Option::Some(__resque_policy)";
        assert_eq!(
            text(retry_const(None, &plugins)),
            format!(
                "constRETRY:::core::option::Option<::resque::__private::RetryPolicy>=\
                 match<Aas::resque::__private::Plugin>::RETRY{{{some}=>{some},::core::option::Option::None=>\
                 match<b::Cas::resque::__private::Plugin>::RETRY{{{some}=>{some},\
                 ::core::option::Option::None=>::core::option::Option::None,}},}};"
            )
        );
        assert!(retry_const(None, &[]).is_empty());
        assert!(retry_doc(None, &plugins, "Archive").contains("(`A`, `b::C`)"));
        let retry = crate::retry::tests::parse(quote!(retry(limit = 5, on = [std::io::Error, "X"])));
        let doc = retry_doc(retry.ok().as_ref(), &[], "Archive");
        assert!(doc.contains("from `retry(limit = 5, on = [std::io::Error, \"X\"])`"), "{doc}");
        assert!(retry_doc(None, &[], "Archive").starts_with("`None`: a failed `Archive` job is not retried"));
    }
}
