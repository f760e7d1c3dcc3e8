//! The code `#[resque::job]` generates. It names nothing but `::core`,
//! `::std` and `::resque::__private`, so the user's crate needs only `resque`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens as _};
use syn::spanned::Spanned as _;
use syn::{Item, ReturnType};

use crate::args::JobArgs;
use crate::ast::{JobFn, Param};
use crate::client_fns::ClientFns;
use crate::retry_gen;
use crate::valid::Errors;

/// The function followed by its job module, or every error found.
pub(crate) fn job(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let Item::Fn(item_fn) = syn::parse2::<Item>(item.clone())? else {
        return Err(syn::Error::new(
            Span::call_site(),
            "#[resque::job] goes on a function, as in `fn archive(repo_id: u64, branch: String)`",
        ));
    };
    let mut errors = Errors::default();
    let args = JobArgs::parse(attr, &mut errors);
    let job = JobFn::new(&item_fn);
    let params = job.validate(&mut errors);
    if let Some(args) = &args {
        args.schedule.check(&params, &mut errors);
    }
    errors.finish()?;
    let Some(args) = args else {
        // Unreachable: `JobArgs::parse` records an error whenever it gives up.
        return Err(syn::Error::new(Span::call_site(), "#[resque::job] needs `queue = \"...\"`"));
    };
    let mut tokens = item;
    tokens.extend(generate(&args, &job, &params));
    Ok(tokens)
}

/// The user's item, unchanged, followed by the errors: one mistake must not
/// also make every use of the function fail.
pub(crate) fn fallback(item: TokenStream, error: syn::Error) -> TokenStream {
    let mut tokens = item;
    tokens.extend(error.into_compile_error());
    tokens
}

/// The job module, the registration, and the `async_` helper.
fn generate(args: &JobArgs, job: &JobFn<'_>, params: &[Param<'_>]) -> TokenStream {
    let vis = &job.item.vis;
    let ident = job.ident();
    let name = job.name();
    let cfgs: Vec<_> = job.cfgs().collect();
    let class = args.class.as_ref().map_or_else(|| job.default_class(), syn::LitStr::value);
    let queue = args.queue.value();
    let helper = format_ident!("async_{}", name, span = ident.span());

    let count = params.len();
    let fields: Vec<_> = params.iter().map(|param| param.ident).collect();
    let tys: Vec<_> = params.iter().map(Param::ty_in_module).collect();
    let field_docs: Vec<_> = params
        .iter()
        .map(|param| {
            format!("Argument {} of `{name}`: `{}`.", param.ident.unraw_string(), tokens_text(param.ty))
        })
        .collect();
    let client = if params.iter().any(|param| param.ident.unraw_string() == "client") {
        format_ident!("__resque_client")
    } else {
        format_ident!("client")
    };

    let enqueue_params: Vec<_> =
        params.iter().zip(&tys).map(|(param, ty)| enqueue_param(param, ty)).collect();
    let helper_params: Vec<_> = params.iter().map(|param| enqueue_param(param, param.ty)).collect();
    let field_values: Vec<_> = params
        .iter()
        .map(|param| {
            let field = param.ident;
            if param.is_string() {
                quote!(#field: ::core::convert::Into::into(#field))
            } else {
                quote!(#field)
            }
        })
        .collect();

    // Trait errors (a type that is not `Serialize`, `Deserialize`, or an
    // error type that is not `Display`) must land on the user's type, so
    // every token of the expression that needs the bound takes its span.
    let serialize_elements = params.iter().zip(&tys).map(|(param, ty)| {
        let field = respan(param.ident, ty.span());
        quote_spanned! {ty.span()=>
            ::resque::__private::serde::ser::SerializeTuple::serialize_element::<#ty>(
                &mut __resque_tuple,
                &self.#field,
            )?;
        }
    });
    let vars: Vec<_> = (0..count).map(|i| format_ident!("__resque_arg{}", i)).collect();
    let expected = match count {
        0 => "no arguments".to_owned(),
        1 => "1 argument".to_owned(),
        n => format!("{n} arguments"),
    };
    let param_names: Vec<_> = params.iter().map(|param| param.ident.unraw_string()).collect();
    let next_elements = vars.iter().zip(&tys).enumerate().map(|(i, (var, ty))| {
        // A value that does not fit its parameter names the argument:
        // `argument 2 (branch): invalid type: ...`.
        let label = format!("argument {} ({})", i + 1, param_names[i]);
        let next = quote_spanned! {ty.span()=>
            ::resque::__private::serde::de::SeqAccess::next_element::<#ty>(&mut __resque_seq)
        };
        quote! {
            let #var = match #next.map_err(|__resque_error| {
                <__A::Error as ::resque::__private::serde::de::Error>::custom(::core::format_args!(
                    "{}: {}",
                    #label,
                    __resque_error,
                ))
            })? {
                ::core::option::Option::Some(__resque_value) => __resque_value,
                ::core::option::Option::None => {
                    return ::core::result::Result::Err(
                        ::resque::__private::serde::de::Error::invalid_length(#i, &#expected),
                    );
                }
            };
        }
    });
    let expecting = format!("the arguments of job {class}: an array of {expected}");

    let (ret_span, ret_ty) = match &job.item.sig.output {
        ReturnType::Default => (ident.span(), quote!(())),
        ReturnType::Type(_, ty) => (ty.span(), ty.to_token_stream()),
    };
    let perform_fn = respan(ident, ret_span);
    let perform_args = fields.iter().map(|field| respan(field, ret_span));
    let perform_call = quote_spanned! {ret_span=>
        <#ret_ty as ::resque::__private::IntoJobResult>::into_job_result(
            #perform_fn(#(__resque_args.#perform_args),*),
        )
    };
    let location = quote_spanned! {ident.span()=>
        module_path: ::core::module_path!(),
        file: ::core::file!(),
        line: ::core::line!(),
    };

    let arg_list = fields.iter().map(|field| field.unraw_string()).collect::<Vec<_>>().join(", ");
    let mod_doc = format!(
        "The job `{class}` on queue `{queue}`, generated by `#[resque::job]` from `fn {name}`.\n\n\
         Enqueue it with `{name}::enqueue({arg_list})` (or `async_{name}`); a worker that links \
         this crate runs `{name}` for payloads of class `{class}`."
    );
    let class_doc = format!("The class name payloads carry: `{class}`.");
    let queue_doc = format!("The queue `enqueue` pushes to: `{queue}`.");
    let (timeout, timeout_doc) = match &args.timeout {
        Some(timeout) => {
            let millis = proc_macro2::Literal::u64_suffixed(timeout.millis);
            (
                quote!(::core::option::Option::Some(::core::time::Duration::from_millis(#millis))),
                format!(
                    "The job's own hard time limit, from `timeout = \"{}\"`: a worker stops `{class}` \
                     jobs that run longer, whatever its `--job-timeout`.",
                    timeout.lit.value()
                ),
            )
        }
        None => (
            quote!(::core::option::Option::None),
            "`None`: the job sets no time limit of its own (no `timeout = \"...\"` in \
             `#[resque::job]`), so the worker's `--job-timeout`, if any, applies."
                .to_owned(),
        ),
    };
    let args_doc =
        format!("The arguments of `{name}`, in order. They travel as a JSON array: `[{arg_list}]`.");
    let enqueue_many_doc = format!(
        "Pushes many `{class}` jobs onto queue `{queue}` with the default client, a few round \
         trips in all (see `resque::Client::enqueue_many`); returns how many were pushed.\n\n\
         # Errors\n\nAs `{name}::enqueue`."
    );
    let enqueue_many_to_doc = format!(
        "Pushes many `{class}` jobs onto queue `{queue}` with `client`; returns how many were \
         pushed.\n\n# Errors\n\nAs `{name}::enqueue_to`."
    );
    let helper_doc = format!(
        "Enqueues a `{class}` job on queue `{queue}`: `{name}` runs later, in a worker. \
         Shorthand for `{name}::enqueue`.\n\n# Errors\n\nAs `{name}::enqueue`."
    );

    let (hook_fns, hooks_const) = args.hooks.generate();
    let retry_const = retry_gen::retry_const(args.retry.as_ref(), &args.hooks.plugins);
    let retry_doc = retry_gen::retry_doc(args.retry.as_ref(), &args.hooks.plugins, &class);
    let schedule = args.schedule.generate(&quote!(#ident::Args), params);
    let param_names: Vec<String> = params.iter().map(|param| param.ident.unraw_string()).collect();
    let field_tokens: Vec<TokenStream> = fields.iter().map(|field| quote!(#field)).collect();
    let client_fns = ClientFns {
        name: &name,
        class: &class,
        queue: &queue,
        param_names: &param_names,
        enqueue_params: &enqueue_params,
        fields: &field_tokens,
        field_values: &field_values,
        client: &client,
    }
    .generate();

    quote! {
        #(#cfgs)*
        #[doc = #mod_doc]
        // The module restates the parameter types, whose lints (such as
        // `unused_qualifications`) belong to the function as written.
        #[allow(dead_code, unreachable_pub, unused_qualifications)]
        #vis mod #ident {
            #[allow(unused_imports)]
            use super::*;

            #[doc = #class_doc]
            pub const CLASS: &str = #class;

            #[doc = #queue_doc]
            pub const QUEUE: &str = #queue;

            #[doc = #timeout_doc]
            pub const TIMEOUT: ::core::option::Option<::core::time::Duration> = #timeout;

            #[doc = #retry_doc]
            pub const RETRY: ::core::option::Option<::resque::__private::RetryPolicy> =
                <Args as ::resque::__private::Job>::RETRY;

            #[doc = #args_doc]
            #[allow(missing_debug_implementations)]
            pub struct Args {
                #(
                    #[doc = #field_docs]
                    pub #fields: #tys,
                )*
            }

            impl ::resque::__private::serde::Serialize for Args {
                fn serialize<__S>(
                    &self,
                    __resque_serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error>
                where
                    __S: ::resque::__private::serde::Serializer,
                {
                    let mut __resque_tuple =
                        ::resque::__private::serde::Serializer::serialize_tuple(__resque_serializer, #count)?;
                    #(#serialize_elements)*
                    ::resque::__private::serde::ser::SerializeTuple::end(__resque_tuple)
                }
            }

            impl<'de> ::resque::__private::serde::Deserialize<'de> for Args {
                fn deserialize<__D>(__resque_deserializer: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: ::resque::__private::serde::Deserializer<'de>,
                {
                    struct __ResqueVisitor;

                    impl<'de> ::resque::__private::serde::de::Visitor<'de> for __ResqueVisitor {
                        type Value = Args;

                        fn expecting(
                            &self,
                            __resque_formatter: &mut ::core::fmt::Formatter<'_>,
                        ) -> ::core::fmt::Result {
                            ::core::fmt::Formatter::write_str(__resque_formatter, #expecting)
                        }

                        fn visit_seq<__A>(
                            self,
                            mut __resque_seq: __A,
                        ) -> ::core::result::Result<Args, __A::Error>
                        where
                            __A: ::resque::__private::serde::de::SeqAccess<'de>,
                        {
                            #(#next_elements)*
                            if ::resque::__private::serde::de::SeqAccess::next_element::<
                                ::resque::__private::serde::de::IgnoredAny,
                            >(&mut __resque_seq)?
                            .is_some()
                            {
                                let mut __resque_len: usize = #count + 1;
                                while ::resque::__private::serde::de::SeqAccess::next_element::<
                                    ::resque::__private::serde::de::IgnoredAny,
                                >(&mut __resque_seq)?
                                .is_some()
                                {
                                    __resque_len += 1;
                                }
                                return ::core::result::Result::Err(
                                    ::resque::__private::serde::de::Error::invalid_length(
                                        __resque_len,
                                        &#expected,
                                    ),
                                );
                            }
                            ::core::result::Result::Ok(Args { #(#fields: #vars),* })
                        }
                    }

                    ::resque::__private::serde::Deserializer::deserialize_tuple(
                        __resque_deserializer,
                        #count,
                        __ResqueVisitor,
                    )
                }
            }

            #client_fns

            #[doc = #enqueue_many_doc]
            pub fn enqueue_many(
                jobs: impl ::core::iter::IntoIterator<Item = Args>,
            ) -> ::core::result::Result<usize, ::resque::__private::Error> {
                let __resque_client = ::resque::__private::default_client()?;
                enqueue_many_to(&__resque_client, jobs)
            }

            #[doc = #enqueue_many_to_doc]
            pub fn enqueue_many_to(
                client: &::resque::__private::Client,
                jobs: impl ::core::iter::IntoIterator<Item = Args>,
            ) -> ::core::result::Result<usize, ::resque::__private::Error> {
                ::resque::__private::Client::enqueue_many(client, jobs)
            }


        }

        #(#cfgs)*
        // In the function's own scope rather than in the module, so that it
        // can name the function even when that is local to a block (as in a
        // doctest), and so that `module_path!()` is the function's module.
        // The hooks are named here too, so that their paths mean what they
        // mean next to the function; hence `impl Job` is here as well.
        const _: () = {
            impl ::resque::__private::Job for #ident::Args {
                const CLASS: &'static str = #ident::CLASS;
                const QUEUE: &'static str = #ident::QUEUE;
                #hooks_const
                #retry_const
            }

            #hook_fns

            /// Decodes a payload's arguments and runs the job.
            #[allow(deprecated)]
            fn __resque_perform(
                __resque_args: ::std::vec::Vec<::resque::__private::Value>,
            ) -> ::core::result::Result<(), ::resque::__private::JobFailure> {
                let __resque_args: #ident::Args =
                    ::resque::__private::decode_args::<#ident::Args>(
                        #ident::CLASS,
                        &[#(#param_names),*],
                        __resque_args,
                    )?;
                #perform_call
            }

            /// Decodes a payload's arguments as `__resque_perform` does, and
            /// stops there.
            #[allow(deprecated)]
            fn __resque_check_args(
                __resque_args: ::std::vec::Vec<::resque::__private::Value>,
            ) -> ::core::result::Result<(), ::resque::__private::JobFailure> {
                ::resque::__private::decode_args::<#ident::Args>(
                    #ident::CLASS,
                    &[#(#param_names),*],
                    __resque_args,
                )
                .map(::core::mem::drop)
            }

            #[::resque::__private::linkme::distributed_slice(::resque::__private::JOBS)]
            #[linkme(crate = ::resque::__private::linkme)]
            static __RESQUE_JOB: ::resque::__private::JobEntry = ::resque::__private::JobEntry {
                class: #ident::CLASS,
                queue: #ident::QUEUE,
                function: #name,
                #location
                params: &[#(#param_names),*],
                perform: __resque_perform,
                check_args: __resque_check_args,
                timeout: #ident::TIMEOUT,
                hooks: <#ident::Args as ::resque::__private::Job>::HOOKS,
                schedule: #schedule,
                retry: #ident::RETRY,
            };
        };

        #(#cfgs)*
        #[doc = #helper_doc]
        #[allow(dead_code, unused_qualifications, clippy::too_many_arguments)]
        #vis fn #helper(
            #(#helper_params),*
        ) -> ::core::result::Result<(), ::resque::__private::Error> {
            #ident::enqueue(#(#fields),*)
        }
    }
}

/// A parameter of `enqueue`: `impl Into<String>` for a `String`, so that
/// `enqueue(44, "masterbrew")` works; the exact type otherwise, so that
/// literals infer as they would in a call to the function itself.
fn enqueue_param(param: &Param<'_>, ty: &impl quote::ToTokens) -> TokenStream {
    let field = param.ident;
    if param.is_string() {
        quote!(#field: impl ::core::convert::Into<::std::string::String>)
    } else {
        quote!(#field: #ty)
    }
}

/// A type as text for docs: `Vec<u8>`, not `Vec < u8 >`.
fn tokens_text(ty: &syn::Type) -> String {
    let text = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let drop_space = c == ' '
            && (out.ends_with(['<', '&', ':', '(', '['])
                || matches!(next, Some('<' | '>' | ',' | ':' | ')' | ']')));
        if !drop_space {
            out.push(c);
        }
    }
    out
}

/// `ident` at `span`, so that an error on an expression using it lands there.
fn respan(ident: &syn::Ident, span: Span) -> syn::Ident {
    let mut ident = ident.clone();
    ident.set_span(span);
    ident
}

/// `Ident::unraw` as a `String`.
trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for syn::Ident {
    fn unraw_string(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}
