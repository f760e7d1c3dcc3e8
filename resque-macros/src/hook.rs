//! `#[resque::hook(after_fork)]`: registers a function as a worker hook.
//! The function stays as written; next to it goes a `WorkerHookEntry` in
//! the `WORKER_HOOKS` slice, whose `hook` field checks its signature.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::{FnArg, Item, Meta, Token};

use crate::job_hooks::did_you_mean;
use crate::valid::Errors;

/// The events, with the `WorkerHook` variant each names.
const EVENTS: &[(&str, &str)] = &[
    ("before_first_fork", "BeforeFirstFork"),
    ("before_fork", "BeforeFork"),
    ("after_fork", "AfterFork"),
    ("queue_empty", "QueueEmpty"),
    ("shutdown", "Shutdown"),
    ("worker_exit", "WorkerExit"),
    ("before_pause", "BeforePause"),
    ("after_pause", "AfterPause"),
];

/// The events, for messages.
fn accepted() -> String {
    let names: Vec<String> = EVENTS.iter().map(|(name, _)| format!("`{name}`")).collect();
    format!("the events are {}", names.join(", "))
}

/// The function followed by its registration, or every error found.
pub(crate) fn hook(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let event = parse_event(attr, &mut errors);
    let item_fn = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(item_fn)) => Some(item_fn),
        Ok(_) => {
            errors.at(
                Span::call_site(),
                "#[resque::hook] goes on a function, as in `fn reconnect(ctx: &WorkerContext<'_>)`",
            );
            None
        }
        Err(error) => {
            errors.push(error);
            None
        }
    };
    if let Some(item_fn) = &item_fn {
        check_fn(&item_fn.sig, &mut errors);
    }
    errors.finish()?;
    let (Some(item_fn), Some(variant)) = (item_fn, event) else {
        // Unreachable: every `None` above comes with an error.
        return Err(syn::Error::new(Span::call_site(), "#[resque::hook] needs an event and a function"));
    };
    let sig = &item_fn.sig;
    let ident = &sig.ident;
    let name = ident.unraw().to_string();
    let cfgs = item_fn.attrs.iter().filter(|attr| attr.path().is_ident("cfg"));
    let variant = syn::Ident::new(variant, Span::call_site());
    // At the function's name, so that a wrong signature is an error there.
    let hook = quote_spanned!(ident.span()=> hook: #ident,);
    let mut tokens = item;
    tokens.extend(quote! {
        #(#cfgs)*
        const _: () = {
            #[::resque::__private::linkme::distributed_slice(::resque::__private::WORKER_HOOKS)]
            #[linkme(crate = ::resque::__private::linkme)]
            static __RESQUE_HOOK: ::resque::__private::WorkerHookEntry = ::resque::__private::WorkerHookEntry {
                event: ::resque::__private::WorkerHook::#variant,
                #hook
                name: ::core::concat!(::core::module_path!(), "::", #name),
            };
        };
    });
    Ok(tokens)
}

/// Records why the function cannot be a worker hook, beyond its type: the
/// registration checks that it is a `fn(&WorkerContext<'_>)`.
fn check_fn(sig: &syn::Signature, errors: &mut Errors) {
    if let Some(asyncness) = &sig.asyncness {
        errors.spanned(
            asyncness,
            "a worker hook cannot be an `async fn`: the worker calls it and waits for it, without an \
             async runtime; make it a plain `fn`",
        );
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "a worker hook cannot be generic: it must be `fn(ctx: &WorkerContext<'_>)`",
        );
    }
    for input in &sig.inputs {
        if let FnArg::Receiver(receiver) = input {
            errors.spanned(
                receiver,
                "a worker hook cannot take `self`: make it a free function \
                 `fn(ctx: &WorkerContext<'_>)` outside the `impl` block",
            );
        }
    }
}

/// The `WorkerHook` variant the attribute's one event names.
fn parse_event(attr: TokenStream, errors: &mut Errors) -> Option<&'static str> {
    let metas = errors.take(Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr))?;
    let mut metas = metas.into_iter();
    let Some(first) = metas.next() else {
        errors.at(
            Span::call_site(),
            format_args!(
                "missing event: say when the hook runs, as in #[resque::hook(after_fork)]; {}",
                accepted()
            ),
        );
        return None;
    };
    for extra in metas {
        errors.spanned(
            extra,
            "#[resque::hook] takes one event: to run the function on another, add a second \
             #[resque::hook(...)]",
        );
    }
    let Meta::Path(path) = &first else {
        errors.spanned(
            &first,
            format_args!("expected an event name, as in #[resque::hook(after_fork)]; {}", accepted()),
        );
        return None;
    };
    let name = quote::ToTokens::to_token_stream(path).to_string().replace(' ', "");
    match EVENTS.iter().find(|(event, _)| path.is_ident(event)) {
        Some((_, variant)) => Some(variant),
        None => {
            let hint = did_you_mean(&name, EVENTS.iter().map(|(event, _)| *event))
                .map(|event| format!("did you mean `{event}`? "))
                .unwrap_or_default();
            errors.spanned(path, format_args!("unknown event `{name}`; {hint}{}", accepted()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(attr: TokenStream) -> Result<&'static str, Vec<String>> {
        let mut errors = Errors::default();
        let event = parse_event(attr, &mut errors);
        match (errors.finish(), event) {
            (Ok(()), Some(event)) => Ok(event),
            (Err(error), _) => Err(error.into_iter().map(|e| e.to_string()).collect()),
            (Ok(()), None) => panic!("no event and no error"),
        }
    }

    #[test]
    fn events() {
        assert_eq!(event(quote!(after_fork)), Ok("AfterFork"));
        assert_eq!(event(quote!(before_first_fork,)), Ok("BeforeFirstFork"));
        let events = "the events are `before_first_fork`, `before_fork`, `after_fork`, `queue_empty`, \
                      `shutdown`, `worker_exit`, `before_pause`, `after_pause`";
        assert_eq!(
            event(quote!(AfterFork)).unwrap_err(),
            [format!("unknown event `AfterFork`; did you mean `after_fork`? {events}")]
        );
        assert_eq!(event(quote!(on_fork)).unwrap_err(), [format!("unknown event `on_fork`; {events}")]);
        assert_eq!(
            event(quote!()).unwrap_err(),
            [format!("missing event: say when the hook runs, as in #[resque::hook(after_fork)]; {events}")]
        );
        assert_eq!(
            event(quote!(after_fork, shutdown)).unwrap_err(),
            ["#[resque::hook] takes one event: to run the function on another, add a second \
              #[resque::hook(...)]"]
        );
        assert_eq!(
            event(quote!(event = "after_fork")).unwrap_err(),
            [format!("expected an event name, as in #[resque::hook(after_fork)]; {events}")]
        );
    }
}
