//! The function under `#[resque::job]`, and what the generated code needs
//! to know about it.

use syn::ext::IdentExt as _;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Ident, ItemFn, Type, TypePath};

/// The function a job is made of, as written.
pub(crate) struct JobFn<'a> {
    /// The whole function.
    pub(crate) item: &'a ItemFn,
}

/// One parameter of a valid job: a plain name and an owned type.
pub(crate) struct Param<'a> {
    /// The parameter's name (possibly raw, `r#type`).
    pub(crate) ident: &'a Ident,
    /// Its type, as written.
    pub(crate) ty: &'a Type,
}

impl<'a> JobFn<'a> {
    /// Wraps a parsed function.
    pub(crate) fn new(item: &'a ItemFn) -> Self {
        JobFn { item }
    }

    /// The function's name, which the generated module also takes.
    pub(crate) fn ident(&self) -> &'a Ident {
        &self.item.sig.ident
    }

    /// The function's name without `r#`.
    pub(crate) fn name(&self) -> String {
        self.item.sig.ident.unraw().to_string()
    }

    /// The class name used when `class = "..."` is not given: the function's
    /// name in UpperCamelCase, as a Ruby class would be named.
    pub(crate) fn default_class(&self) -> String {
        upper_camel_case(&self.name())
    }

    /// The `#[cfg]` attributes, which every generated item shares.
    pub(crate) fn cfgs(&self) -> impl Iterator<Item = &'a Attribute> {
        self.item.attrs.iter().filter(|attr| attr.path().is_ident("cfg"))
    }
}

impl Param<'_> {
    /// Whether the type is `String`, which `enqueue` takes as `impl Into<String>`.
    pub(crate) fn is_string(&self) -> bool {
        let Type::Path(TypePath { qself: None, path }) = self.ty else { return false };
        if path.segments.iter().any(|segment| !segment.arguments.is_none()) {
            return false;
        }
        let idents: Vec<String> = path.segments.iter().map(|segment| segment.ident.to_string()).collect();
        match idents.as_slice() {
            [string] => path.leading_colon.is_none() && string == "String",
            [krate, module, string] => {
                (krate == "std" || krate == "alloc") && module == "string" && string == "String"
            }
            _ => false,
        }
    }

    /// The type as it must be written inside the generated module, where
    /// `Args` names the generated struct: a user type named `Args` becomes
    /// `super::Args`.
    pub(crate) fn ty_in_module(&self) -> Type {
        let mut ty = self.ty.clone();
        ArgsToSuper.visit_type_mut(&mut ty);
        ty
    }
}

/// Rewrites paths that start with `Args` to start with `super::Args`.
struct ArgsToSuper;

impl VisitMut for ArgsToSuper {
    fn visit_type_path_mut(&mut self, type_path: &mut TypePath) {
        syn::visit_mut::visit_type_path_mut(self, type_path);
        let path = &mut type_path.path;
        if type_path.qself.is_none()
            && path.leading_colon.is_none()
            && path.segments.first().is_some_and(|first| first.ident == "Args")
        {
            let span = path.segments[0].ident.span();
            path.segments.insert(0, Ident::new("super", span).into());
        }
    }
}

/// `warm_cache` → `WarmCache`, `send_email2` → `SendEmail2`.
fn upper_camel_case(snake: &str) -> String {
    let mut camel = String::with_capacity(snake.len());
    for word in snake.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            camel.extend(first.to_uppercase());
            camel.push_str(chars.as_str());
        }
    }
    camel
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens as _;

    #[test]
    fn class_names() {
        for (name, class) in [
            ("archive", "Archive"),
            ("warm_cache", "WarmCache"),
            ("send_email2", "SendEmail2"),
            ("v2_sync", "V2Sync"),
            ("_private_job", "PrivateJob"),
            ("a__b", "AB"),
            ("fetchURL", "FetchURL"),
        ] {
            assert_eq!(upper_camel_case(name), class);
        }
    }

    #[test]
    fn raw_names_lose_their_prefix() {
        let item: ItemFn = syn::parse_quote!(
            fn r#type() {}
        );
        let job = JobFn::new(&item);
        assert_eq!(job.name(), "type");
        assert_eq!(job.default_class(), "Type");
    }

    fn param(ty: &str) -> (bool, String) {
        let ty: Type = syn::parse_str(ty).unwrap_or_else(|e| panic!("{ty}: {e}"));
        let ident = Ident::new("x", proc_macro2::Span::call_site());
        let param = Param { ident: &ident, ty: &ty };
        (param.is_string(), param.ty_in_module().to_token_stream().to_string().replace(' ', ""))
    }

    #[test]
    fn string_params() {
        for string in ["String", "std::string::String", "::std::string::String", "alloc::string::String"] {
            assert!(param(string).0, "{string}");
        }
        for other in ["str", "Vec<String>", "::String", "my::String", "u64", "Option<String>"] {
            assert!(!param(other).0, "{other}");
        }
    }

    #[test]
    fn user_args_types_are_named_through_super() {
        assert_eq!(param("Args").1, "super::Args");
        assert_eq!(param("Vec<Args>").1, "Vec<super::Args>");
        assert_eq!(param("Args::Inner").1, "super::Args::Inner");
        assert_eq!(param("crate::Args").1, "crate::Args");
        assert_eq!(param("::Args").1, "::Args");
        assert_eq!(param("MyArgs").1, "MyArgs");
    }
}
