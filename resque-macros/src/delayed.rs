//! The delayed-job functions `#[resque::job]` adds to a job's module:
//! `enqueue_in`, `enqueue_at`, their `_to` forms and `remove_delayed`, over
//! `resque::Client`'s delayed jobs (resque-scheduler's keys).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// What the generated functions need of the job: its name and class for
/// docs, the `enqueue` parameters, the names its fields are passed by and
/// the `Args { .. }` fields built from them.
pub(crate) struct DelayedFns<'a> {
    pub(crate) name: &'a str,
    pub(crate) class: &'a str,
    pub(crate) queue: &'a str,
    /// The job's parameter names, unraw.
    pub(crate) param_names: &'a [String],
    pub(crate) enqueue_params: &'a [TokenStream],
    pub(crate) fields: &'a [TokenStream],
    pub(crate) field_values: &'a [TokenStream],
    pub(crate) client: &'a syn::Ident,
}

impl DelayedFns<'_> {
    /// A name for a parameter of ours that no job parameter takes.
    fn ident(&self, wanted: &str) -> syn::Ident {
        let taken = self.param_names.iter().any(|p| p == wanted);
        if taken {
            format_ident!("__resque_{}", wanted)
        } else {
            format_ident!("{}", wanted)
        }
    }

    pub(crate) fn generate(&self) -> TokenStream {
        let DelayedFns { name, class, queue, enqueue_params, fields, field_values, client, .. } = self;
        let delay = self.ident("delay");
        let when = self.ident("when");
        let in_doc = format!(
            "Delays a `{class}` job by `{delay}`, then it goes onto queue `{queue}` (resque-scheduler's \
             `enqueue_in`; a scheduler must run: `resque-cli scheduler` or `work --scheduler`), with \
             the default client.\n\n# Errors\n\nAs `{name}::enqueue`."
        );
        let in_to_doc =
            format!("`{name}::enqueue_in` with `{client}`.\n\n# Errors\n\nAs `{name}::enqueue_to`.");
        let at_doc = format!(
            "Delays a `{class}` job until `{when}` (a `jiff::Timestamp`, a `std::time::SystemTime` or \
             a Unix second), then it goes onto queue `{queue}`; a moment already past enqueues it \
             now, as Ruby does. With the default client.\n\n# Errors\n\nAs `{name}::enqueue`."
        );
        let at_to_doc =
            format!("`{name}::enqueue_at` with `{client}`.\n\n# Errors\n\nAs `{name}::enqueue_to`.");
        let remove_doc = format!(
            "Removes every delayed `{class}` job with these arguments on queue `{queue}`, whoever \
             delayed it (a Ruby app's too: items match by their bytes); returns how many. With the \
             default client.\n\n# Errors\n\nAs `{name}::enqueue`."
        );
        let remove_to_doc =
            format!("`{name}::remove_delayed` with `{client}`.\n\n# Errors\n\nAs `{name}::enqueue_to`.");
        let result = quote!(::core::result::Result<(), ::resque::__private::Error>);
        quote! {
            #[doc = #in_doc]
            #[allow(clippy::too_many_arguments)]
            pub fn enqueue_in(#delay: ::core::time::Duration, #(#enqueue_params),*) -> #result {
                let __resque_client = ::resque::__private::default_client()?;
                enqueue_in_to(&__resque_client, #delay, #(#fields),*)
            }

            #[doc = #in_to_doc]
            #[allow(clippy::too_many_arguments)]
            pub fn enqueue_in_to(
                #client: &::resque::__private::Client,
                #delay: ::core::time::Duration,
                #(#enqueue_params),*
            ) -> #result {
                ::resque::__private::Client::enqueue_in(#client, #delay, &Args { #(#field_values),* })
            }

            #[doc = #at_doc]
            #[allow(clippy::too_many_arguments)]
            pub fn enqueue_at(#when: impl ::resque::__private::DueAt, #(#enqueue_params),*) -> #result {
                let __resque_client = ::resque::__private::default_client()?;
                enqueue_at_to(&__resque_client, #when, #(#fields),*)
            }

            #[doc = #at_to_doc]
            #[allow(clippy::too_many_arguments)]
            pub fn enqueue_at_to(
                #client: &::resque::__private::Client,
                #when: impl ::resque::__private::DueAt,
                #(#enqueue_params),*
            ) -> #result {
                ::resque::__private::Client::enqueue_at(#client, #when, &Args { #(#field_values),* })
            }

            #[doc = #remove_doc]
            #[allow(clippy::too_many_arguments)]
            pub fn remove_delayed(
                #(#enqueue_params),*
            ) -> ::core::result::Result<usize, ::resque::__private::Error> {
                let __resque_client = ::resque::__private::default_client()?;
                remove_delayed_to(&__resque_client, #(#fields),*)
            }

            #[doc = #remove_to_doc]
            #[allow(clippy::too_many_arguments)]
            pub fn remove_delayed_to(
                #client: &::resque::__private::Client,
                #(#enqueue_params),*
            ) -> ::core::result::Result<usize, ::resque::__private::Error> {
                ::resque::__private::Client::remove_delayed_job(#client, &Args { #(#field_values),* })
            }
        }
    }
}
