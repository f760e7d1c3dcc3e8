//! Job hooks in `#[resque::job(...)]`: the hook keys (`before_perform =
//! check_lock` and the others), `plugins(Logged, RetryOnce)`, and the
//! functions that combine them into the job's `JobHooks`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens as _};
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprPath, Meta, Path, Token};

use crate::valid::Errors;

/// One kind of job hook, as Ruby Resque names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    BeforeEnqueue,
    AfterEnqueue,
    BeforeDequeue,
    AfterDequeue,
    BeforePerform,
    AfterPerform,
    AroundPerform,
    OnFailure,
}

impl Kind {
    /// Every kind, in the order `JobHooks` lists them.
    pub(crate) const ALL: [Kind; 8] = [
        Kind::BeforeEnqueue,
        Kind::AfterEnqueue,
        Kind::BeforeDequeue,
        Kind::AfterDequeue,
        Kind::BeforePerform,
        Kind::AfterPerform,
        Kind::AroundPerform,
        Kind::OnFailure,
    ];

    /// The key, which is also the `Plugin` method and the `JobHooks` field.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::BeforeEnqueue => "before_enqueue",
            Kind::AfterEnqueue => "after_enqueue",
            Kind::BeforeDequeue => "before_dequeue",
            Kind::AfterDequeue => "after_dequeue",
            Kind::BeforePerform => "before_perform",
            Kind::AfterPerform => "after_perform",
            Kind::AroundPerform => "around_perform",
            Kind::OnFailure => "on_failure",
        }
    }

    /// A function name for messages.
    fn example(self) -> &'static str {
        match self {
            Kind::BeforeEnqueue => "check_quota",
            Kind::AfterEnqueue => "count_enqueued",
            Kind::BeforeDequeue => "check_dequeue",
            Kind::AfterDequeue => "count_dequeued",
            Kind::BeforePerform => "check_lock",
            Kind::AfterPerform => "release_lock",
            Kind::AroundPerform => "timed",
            Kind::OnFailure => "alert",
        }
    }

    /// The hook's parameters and return type, for messages.
    fn signature(self) -> &'static str {
        match self {
            Kind::BeforeEnqueue | Kind::BeforeDequeue => "(job: &JobContext<'_>) -> bool",
            Kind::AfterEnqueue | Kind::AfterDequeue | Kind::AfterPerform => "(job: &JobContext<'_>)",
            Kind::BeforePerform => "(job: &JobContext<'_>) -> Result<(), HookStop>",
            Kind::AroundPerform => "(job: &JobContext<'_>, perform: Perform<'_>) -> Result<(), JobFailure>",
            Kind::OnFailure => "(failure: &JobFailure, job: &JobContext<'_>)",
        }
    }

    /// How to write the key, for messages.
    fn as_in(self) -> String {
        let (name, example) = (self.name(), self.example());
        format!("as in `{name} = {example}`, with `fn {example}{}`", self.signature())
    }

    /// The parameters of the combined hook, as declared.
    fn params(self) -> TokenStream {
        let job = quote!(__resque_job: &::resque::__private::JobContext<'_>);
        match self {
            Kind::AroundPerform => quote!(#job, __resque_perform: ::resque::__private::Perform<'_>),
            Kind::OnFailure => quote!(__resque_failure: &::resque::__private::JobFailure, #job),
            _ => job,
        }
    }

    /// The return type of a hook of this kind.
    fn output(self) -> TokenStream {
        match self {
            Kind::BeforeEnqueue | Kind::BeforeDequeue => quote!(-> bool),
            Kind::AfterEnqueue | Kind::AfterDequeue | Kind::AfterPerform | Kind::OnFailure => quote!(),
            Kind::BeforePerform => {
                quote!(-> ::core::result::Result<(), ::resque::__private::HookStop>)
            }
            Kind::AroundPerform => {
                quote!(-> ::core::result::Result<(), ::resque::__private::JobFailure>)
            }
        }
    }

    /// The type of a hook of this kind (the type of the `JobHooks` field),
    /// at `span`.
    fn fn_type(self, span: Span) -> TokenStream {
        let output = respan(self.output(), span);
        let ctx = quote_spanned!(span=> &::resque::__private::JobContext<'_>);
        match self {
            Kind::AroundPerform => quote_spanned!(span=> fn(#ctx, ::resque::__private::Perform<'_>) #output),
            Kind::OnFailure => quote_spanned!(span=> fn(&::resque::__private::JobFailure, #ctx) #output),
            _ => quote_spanned!(span=> fn(#ctx) #output),
        }
    }

    /// The arguments a hook is called with, inside the combined hook
    /// (`around_perform` aside, which passes on its own `perform`).
    fn args(self) -> TokenStream {
        match self {
            Kind::OnFailure => quote!(__resque_failure, __resque_job),
            _ => quote!(__resque_job),
        }
    }
}

/// The keys for hooks, for messages.
pub(crate) const ACCEPTED: &str = "`before_enqueue`, `after_enqueue`, `before_dequeue`, \
     `after_dequeue`, `before_perform`, `after_perform`, `around_perform`, `on_failure`, `plugins`";

/// The hooks and plugins a job names.
#[derive(Default)]
pub(crate) struct JobHooks {
    /// The per-job hook of each kind, by `Kind::ALL` index; `seen` whether
    /// its key was given (even with a bad value).
    own: [Option<Path>; 8],
    seen: [bool; 8],
    /// The plugins, in order.
    pub(crate) plugins: Vec<Path>,
    plugins_seen: bool,
}

impl JobHooks {
    /// Reads `meta` when it is a hook key or `plugins`, recording problems in
    /// `errors`; hands it back when it is neither.
    pub(crate) fn set(&mut self, meta: Meta, errors: &mut Errors) -> Option<Meta> {
        if meta.path().is_ident("plugins") {
            self.set_plugins(meta, errors);
            return None;
        }
        let Some(index) = Kind::ALL.iter().position(|kind| meta.path().is_ident(kind.name())) else {
            return Some(meta);
        };
        let kind = Kind::ALL[index];
        let name = kind.name();
        if self.seen[index] {
            errors.spanned(meta.path(), format_args!("duplicate key `{name}`: it is already given"));
            return None;
        }
        self.seen[index] = true;
        match meta {
            Meta::NameValue(name_value) => match name_value.value {
                Expr::Path(ExprPath { attrs, qself: None, path }) if attrs.is_empty() => {
                    self.own[index] = Some(path);
                }
                other => {
                    errors.spanned(other, format_args!("`{name}` takes a function name, {}", kind.as_in()))
                }
            },
            other => errors
                .spanned(other, format_args!("expected `{name} = ...`, a function name, {}", kind.as_in())),
        }
        None
    }

    /// Reads `plugins(A, B)`.
    fn set_plugins(&mut self, meta: Meta, errors: &mut Errors) {
        if self.plugins_seen {
            errors.spanned(meta.path(), "duplicate key `plugins`: it is already given");
            return;
        }
        self.plugins_seen = true;
        let list = match meta {
            Meta::List(list) => list,
            Meta::NameValue(name_value) => {
                let suggestion = match &name_value.value {
                    Expr::Path(path) => format!("`plugins({})`", path.to_token_stream()).replace(' ', ""),
                    _ => "`plugins(Logged, RetryOnce)`".to_owned(),
                };
                errors.spanned(
                    name_value,
                    format_args!("`plugins` takes a list of plugin types in parentheses: write {suggestion}"),
                );
                return;
            }
            Meta::Path(path) => {
                errors.spanned(
                    path,
                    "`plugins` takes a list of plugin types in parentheses, as in \
                     `plugins(Logged, RetryOnce)`",
                );
                return;
            }
        };
        let Some(paths) =
            errors.take(Punctuated::<Path, Token![,]>::parse_terminated.parse2(list.tokens.clone()))
        else {
            return;
        };
        if paths.is_empty() {
            errors.spanned(
                &list,
                "`plugins()` is empty: name the plugin types, as in `plugins(Logged, RetryOnce)`, \
                 or leave `plugins` out",
            );
        }
        for path in paths {
            let text = path.to_token_stream().to_string();
            if self.plugins.iter().any(|seen| seen.to_token_stream().to_string() == text) {
                errors.spanned(
                    &path,
                    format_args!(
                        "plugin `{}` is listed twice: its hooks would run twice",
                        text.replace(' ', "")
                    ),
                );
            } else {
                self.plugins.push(path);
            }
        }
    }

    /// Whether no hook and no plugin is given: the job keeps the default
    /// `JobHooks::NONE`.
    pub(crate) fn is_empty(&self) -> bool {
        self.own.iter().all(Option::is_none) && self.plugins.is_empty()
    }

    /// The combined hooks (functions named `__resque_<kind>`) followed by
    /// `const HOOKS: JobHooks = ...;`, for the job's `impl Job`. Nothing when
    /// there are no hooks.
    pub(crate) fn generate(&self) -> (TokenStream, TokenStream) {
        if self.is_empty() {
            return (TokenStream::new(), TokenStream::new());
        }
        let mut fns = TokenStream::new();
        let mut fields = Vec::new();
        for (kind, own) in Kind::ALL.into_iter().zip(&self.own) {
            if own.is_none() && self.plugins.is_empty() {
                continue;
            }
            let ident = format_ident!("__resque_{}", kind.name());
            let (params, output) = (kind.params(), kind.output());
            let body = self.body(kind, own.as_ref());
            fns.extend(quote! {
                #[allow(unused_qualifications, clippy::needless_question_mark)]
                fn #ident(#params) #output {
                    #body
                }
            });
            let field = format_ident!("{}", kind.name());
            fields.push(quote!(#field: #ident,));
        }
        let rest = (fields.len() < Kind::ALL.len()).then(|| quote!(..::resque::__private::JobHooks::NONE));
        let hooks = quote! {
            const HOOKS: ::resque::__private::JobHooks = ::resque::__private::JobHooks {
                any: true,
                #(#fields)*
                #rest
            };
        };
        (fns, hooks)
    }

    /// The body of the combined hook of one kind.
    fn body(&self, kind: Kind, own: Option<&Path>) -> TokenStream {
        // The job's own hook, bound to a variable of the exact type so that
        // a wrong signature is a type error on the path as written.
        let own = own.map(|path| {
            let fn_type = kind.fn_type(path.span());
            let binding = quote_spanned! {path.span()=>
                let __resque_own: #fn_type = #path;
            };
            (binding, quote!(__resque_own))
        });
        let binding = own.as_ref().map(|(binding, _)| binding);
        let method = format_ident!("{}", kind.name());
        let args = kind.args();
        if kind == Kind::AroundPerform {
            // Innermost first: the given `perform`, then each plugin around
            // it from the last, then the job's own hook around them all.
            let mut inner = quote!(&mut *__resque_perform);
            let mut plugins = self.plugins.iter().rev().peekable();
            let mut call = quote!((*__resque_perform)());
            while let Some(plugin) = plugins.next() {
                call = plugin_call(plugin, &method, quote!(__resque_job, #inner));
                if plugins.peek().is_some() || own.is_some() {
                    inner = quote!(&mut || #call);
                }
            }
            if let Some((_, own)) = &own {
                call = quote!(#own(__resque_job, #inner));
            }
            return quote!(#binding #call);
        }
        let calls: Vec<TokenStream> = own
            .iter()
            .map(|(_, own)| quote!(#own(#args)))
            .chain(self.plugins.iter().map(|plugin| plugin_call(plugin, &method, args.clone())))
            .collect();
        match kind {
            Kind::BeforeEnqueue | Kind::BeforeDequeue => quote! {
                #binding
                // Every hook runs, as in Ruby; any of them vetoes.
                let mut __resque_go = true;
                #(__resque_go &= #calls;)*
                __resque_go
            },
            Kind::BeforePerform => quote! {
                #binding
                #(#calls?;)*
                ::core::result::Result::Ok(())
            },
            _ => quote! {
                #binding
                #(#calls;)*
            },
        }
    }
}

/// `<P as Plugin>::method(args)`, spanned on the plugin's path so that a
/// type which is not a plugin is an error there.
fn plugin_call(plugin: &Path, method: &syn::Ident, args: TokenStream) -> TokenStream {
    let span = plugin.span();
    let method = syn::Ident::new(&method.to_string(), span);
    quote_spanned! {span=>
        <#plugin as ::resque::__private::Plugin>::#method(#args)
    }
}

/// `tokens` with every token at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// The accepted name closest to a misspelt one, if any is close.
pub(crate) fn did_you_mean<'a>(name: &str, accepted: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normal = |s: &str| s.to_lowercase().replace('_', "");
    accepted
        .into_iter()
        .map(|candidate| {
            let distance = if normal(candidate) == normal(name) { 0 } else { edit_distance(candidate, name) };
            (distance, candidate)
        })
        .filter(|&(distance, candidate)| distance <= 2.max(candidate.len() / 4))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> Result<JobHooks, Vec<String>> {
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens).unwrap();
        let mut errors = Errors::default();
        let mut hooks = JobHooks::default();
        for meta in metas {
            if let Some(meta) = hooks.set(meta, &mut errors) {
                panic!("not a hook key: {}", meta.to_token_stream());
            }
        }
        match errors.finish() {
            Ok(()) => Ok(hooks),
            Err(error) => Err(error.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn text(tokens: TokenStream) -> String {
        tokens.to_string().replace(' ', "")
    }

    #[test]
    fn hooks_and_plugins() {
        let hooks = parse(quote!(before_perform = check_lock, plugins(A, b::C), on_failure = alerts::page))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(hooks.plugins.len(), 2);
        let (fns, consts) = hooks.generate();
        let (fns, consts) = (text(fns), text(consts));
        // Every kind is combined, since plugins have every hook.
        for kind in Kind::ALL {
            assert!(consts.contains(&format!("{0}:__resque_{0},", kind.name())), "{consts}");
        }
        assert!(!consts.contains("NONE"), "{consts}");
        assert!(
            fns.contains(
                "__resque_own(__resque_job)?;<Aas::resque::__private::Plugin>::before_perform(__resque_job)?;\
                 <b::Cas::resque::__private::Plugin>::before_perform(__resque_job)?;"
            ),
            "{fns}"
        );
        assert!(fns.contains("let__resque_own:fn(&::resque::__private::JobFailure,"), "{fns}");
        assert!(
            fns.contains(
                "<Aas::resque::__private::Plugin>::around_perform(__resque_job,&mut||\
                 <b::Cas::resque::__private::Plugin>::around_perform(__resque_job,&mut*__resque_perform))"
            ),
            "{fns}"
        );
    }

    #[test]
    fn around_nests_the_own_hook_outermost() {
        let hooks = parse(quote!(around_perform = a, plugins(P))).unwrap_or_else(|e| panic!("{e:?}"));
        let fns = text(hooks.generate().0);
        assert!(
            fns.contains(
                "__resque_own(__resque_job,&mut||<Pas::resque::__private::Plugin>::around_perform(\
                 __resque_job,&mut*__resque_perform))"
            ),
            "{fns}"
        );
        let hooks = parse(quote!(around_perform = a)).unwrap_or_else(|e| panic!("{e:?}"));
        let (fns, consts) = hooks.generate();
        assert!(text(fns).contains("__resque_own(__resque_job,&mut*__resque_perform)"));
        assert!(text(consts).contains("..::resque::__private::JobHooks::NONE"));
    }

    #[test]
    fn no_hooks_generate_nothing() {
        let hooks = parse(quote!()).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(hooks.is_empty());
        assert!(hooks.generate().1.is_empty());
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(quote!(before_perform = 3, plugins(), plugins = X, after_perform, before_perform = f))
                .err()
                .unwrap(),
            [
                "`before_perform` takes a function name, as in `before_perform = check_lock`, with \
                 `fn check_lock(job: &JobContext<'_>) -> Result<(), HookStop>`",
                "`plugins()` is empty: name the plugin types, as in `plugins(Logged, RetryOnce)`, or \
                 leave `plugins` out",
                "duplicate key `plugins`: it is already given",
                "expected `after_perform = ...`, a function name, as in `after_perform = release_lock`, \
                 with `fn release_lock(job: &JobContext<'_>)`",
                "duplicate key `before_perform`: it is already given",
            ]
        );
        assert_eq!(
            parse(quote!(plugins = a::X)).err().unwrap(),
            ["`plugins` takes a list of plugin types in parentheses: write `plugins(a::X)`"]
        );
        assert_eq!(
            parse(quote!(plugins(A, B, A))).err().unwrap(),
            ["plugin `A` is listed twice: its hooks would run twice"]
        );
    }

    #[test]
    fn suggestions() {
        let keys = Kind::ALL.map(Kind::name);
        assert_eq!(did_you_mean("before_preform", keys), Some("before_perform"));
        assert_eq!(did_you_mean("beforePerform", keys), Some("before_perform"));
        assert_eq!(did_you_mean("on_fail", keys), None);
        assert_eq!(did_you_mean("retries", keys), None);
        assert_eq!(did_you_mean("around", keys), None);
    }
}
