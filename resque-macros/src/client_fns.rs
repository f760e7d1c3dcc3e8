//! The functions a job's module offers over `resque::Client`: `enqueue`,
//! `enqueue_in`, `enqueue_at` and `remove_delayed`, each once with the
//! default client and once, `_to`, with a client given.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// What the generated functions need of the job.
pub(crate) struct ClientFns<'a> {
    pub(crate) name: &'a str,
    pub(crate) class: &'a str,
    pub(crate) queue: &'a str,
    /// The job's parameter names, unraw.
    pub(crate) param_names: &'a [String],
    /// The parameters, as `enqueue` takes them.
    pub(crate) enqueue_params: &'a [TokenStream],
    /// The parameters' names, to pass them on.
    pub(crate) fields: &'a [TokenStream],
    /// `Args { .. }`'s fields built from them.
    pub(crate) field_values: &'a [TokenStream],
    /// The client parameter's name.
    pub(crate) client: &'a syn::Ident,
}

/// One function of the job module and its `_to` form.
struct Pair {
    name: &'static str,
    doc: String,
    /// A parameter before the job's own (`delay: Duration`), and its name.
    lead: Option<(syn::Ident, TokenStream)>,
    /// The `resque::Client` method the `_to` form calls with `&Args`.
    method: &'static str,
    returns: TokenStream,
}

impl ClientFns<'_> {
    /// A name for a parameter of ours that no job parameter takes.
    fn ident(&self, wanted: &str) -> syn::Ident {
        if self.param_names.iter().any(|p| p == wanted) {
            format_ident!("__resque_{}", wanted)
        } else {
            format_ident!("{}", wanted)
        }
    }

    pub(crate) fn generate(&self) -> TokenStream {
        let ClientFns { name, class, queue, .. } = *self;
        let unit = quote!(::core::result::Result<(), ::resque::__private::Error>);
        let count = quote!(::core::result::Result<usize, ::resque::__private::Error>);
        let delay = self.ident("delay");
        let when = self.ident("when");
        let pairs = [
            Pair {
                name: "enqueue",
                doc: format!("Pushes a `{class}` job onto queue `{queue}`"),
                lead: None,
                method: "enqueue",
                returns: unit.clone(),
            },
            Pair {
                name: "enqueue_in",
                doc: format!(
                    "Delays a `{class}` job by `{delay}`, then it goes onto queue `{queue}` \
                     (resque-scheduler's `enqueue_in`; a scheduler must run: `resque-cli scheduler` \
                     or `work --scheduler`)"
                ),
                lead: Some((delay.clone(), quote!(::core::time::Duration))),
                method: "enqueue_in",
                returns: unit.clone(),
            },
            Pair {
                name: "enqueue_at",
                doc: format!(
                    "Delays a `{class}` job until `{when}` (a `resque::jiff::Timestamp`, a \
                     `std::time::SystemTime` or a Unix second), then it goes onto queue `{queue}`; \
                     a moment already past enqueues it now, as Ruby does"
                ),
                lead: Some((when.clone(), quote!(impl ::resque::__private::DueAt))),
                method: "enqueue_at",
                returns: unit,
            },
            Pair {
                name: "remove_delayed",
                doc: format!(
                    "Removes every delayed `{class}` job with these arguments on queue `{queue}`, \
                     whoever delayed it (a Ruby app's too: items match by their bytes); returns how many"
                ),
                lead: None,
                method: "remove_delayed_job",
                returns: count,
            },
        ];
        let fns = pairs.iter().map(|pair| self.pair(name, pair));
        quote!(#(#fns)*)
    }

    fn pair(&self, job: &str, pair: &Pair) -> TokenStream {
        let ClientFns { enqueue_params, fields, field_values, client, .. } = self;
        let name = format_ident!("{}", pair.name);
        let name_to = format_ident!("{}_to", pair.name);
        let method = format_ident!("{}", pair.method);
        let doc = format!(
            "{}, with the default client (`resque::default_client`).\n\n# Errors\n\nWhen there is no \
             usable default client, the arguments do not serialize, or Redis fails.",
            pair.doc
        );
        let doc_to = format!(
            "`{job}::{}` with `{client}`.\n\n# Errors\n\nWhen the arguments do not serialize or Redis fails.",
            pair.name
        );
        let (lead_param, lead_arg) = match &pair.lead {
            Some((ident, ty)) => (quote!(#ident: #ty,), quote!(#ident,)),
            None => (quote!(), quote!()),
        };
        let returns = &pair.returns;
        quote! {
            #[doc = #doc]
            #[allow(clippy::too_many_arguments)]
            pub fn #name(#lead_param #(#enqueue_params),*) -> #returns {
                let __resque_client = ::resque::__private::default_client()?;
                #name_to(&__resque_client, #lead_arg #(#fields),*)
            }

            #[doc = #doc_to]
            #[allow(clippy::too_many_arguments)]
            pub fn #name_to(
                #client: &::resque::__private::Client,
                #lead_param
                #(#enqueue_params),*
            ) -> #returns {
                ::resque::__private::Client::#method(#client, #lead_arg &Args { #(#field_values),* })
            }
        }
    }
}
