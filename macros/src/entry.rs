//! Checking the annotated item and writing the expansion.
//!
//! See "The expansion" and "Errors" in the crate overview (lib.rs) for what
//! comes out and why.

use proc_macro2::{Delimiter, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{Attribute, Item, ItemFn, ReturnType, Type};

use crate::config::{self, Config, Errors, Flavor, Kind};

/// The whole attribute: options and item in, function (or errors) out.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = errors.keep(config::parse(kind, args));

    let parsed = match syn::parse2::<Item>(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => {
            errors.push(error);
            return with_errors(item, errors);
        }
    };
    let function = match parsed {
        Item::Fn(function) => function,
        other => {
            errors.push(not_a_function(kind, &other, item.clone()));
            // The item is left as it was, so code that uses it does not
            // pile further errors on top of this one.
            return with_errors(item, errors);
        }
    };

    check_function(kind, &function, &mut errors);
    match (config, errors.finish()) {
        (Some(config), Ok(())) => generate(kind, &config, function),
        (_, Err(error)) => {
            let mut tokens = stand_in(&function);
            tokens.extend(error.into_compile_error());
            tokens
        }
        (None, Ok(())) => unreachable!("a config that failed to parse recorded an error"),
    }
}

/// The runtime wrapped around the user's body. The user's tokens (attributes,
/// visibility, signature, return type and block) keep their own spans; only
/// the glue is ours.
fn generate(kind: Kind, config: &Config, function: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = function;
    sig.asyncness = None;

    // Names the user's code cannot see or shadow (`mixed_site` makes local
    // variables hygienic, as in `macro_rules!`).
    let body = Ident::new("body", Span::mixed_site());
    let output = Ident::new("output", Span::mixed_site());
    let runtime = Ident::new("runtime", Span::mixed_site());

    // Binding the block to a `let` of the declared return type tells the
    // compiler the async block's output before it checks the block: `?`
    // then knows which error to convert into, and a wrong tail value is
    // reported at the tail, in the user's code, against the type the user
    // wrote. `impl Trait` and `!` cannot be written in a `let`, so those
    // bodies run unannotated.
    //
    // The value leaves through a `return` statement rather than a tail
    // expression: when the body diverges (`loop {}`, `process::exit`) the
    // line after it is unreachable, and only a statement can carry the
    // `allow` that keeps that warning, which is about our glue, from the
    // user. The user's block is outside the `allow`, so its own unreachable
    // code is still reported.
    let future = match annotation(&sig.output) {
        Some(ty) => quote! {
            async move {
                let #output: #ty = #block;
                #[allow(unreachable_code, clippy::needless_return)]
                return #output;
            }
        },
        None => quote! { async move #block },
    };

    let builder = match config.flavor {
        Flavor::MultiThread => quote!(new_multi_thread),
        Flavor::CurrentThread => quote!(new_current_thread),
    };
    let worker_threads = config.worker_threads.map(|(n, span)| {
        let mut n = Literal::usize_unsuffixed(n);
        n.set_span(span);
        quote!(.worker_threads(#n))
    });
    let start_paused = config.start_paused.then(|| quote!(.start_paused(true)));
    let test = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    // A deadlocked test fails with the task dump instead of hanging; a
    // program reports one and goes on, and prints a dump on SIGQUIT.
    let debugging = match kind {
        Kind::Test => quote!(.on_deadlock(::goro::runtime::Deadlock::Panic)),
        Kind::Main => quote! {
            .on_deadlock(::goro::runtime::Deadlock::Report)
            .dump_on_sigquit(true)
        },
    };

    quote! {
        #test
        #(#attrs)*
        #vis #sig {
            let #body = #future;
            #[allow(clippy::expect_used)]
            let #runtime = ::goro::runtime::Builder::#builder()
                #worker_threads
                #start_paused
                #debugging
                .build()
                .expect("failed to build the goro runtime");
            #runtime.block_on(#body)
        }
    }
}

/// The type to annotate the body's value with, if it can be written in a
/// `let`.
fn annotation(output: &ReturnType) -> Option<TokenStream> {
    match output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => None,
        ReturnType::Type(_, ty) => {
            let tokens = ty.to_token_stream();
            (!mentions_impl(tokens.clone())).then_some(tokens)
        }
    }
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

/// Every reason the function cannot be expanded, each at its cause.
fn check_function(kind: Kind, function: &ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    let attribute = kind.attribute();
    let what = match kind {
        Kind::Main => "the function marked `#[goro::main]`",
        Kind::Test => "a `#[goro::test]` function",
    };

    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "the `async` keyword is missing from the function declaration: \
                 `{attribute}` runs an `async fn`"
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format!("{what} cannot take arguments"),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!("{what} cannot be generic"),
        ));
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            clause,
            format!("{what} cannot have a `where` clause"),
        ));
    }
    if kind == Kind::Test {
        for attr in function.attrs.iter().filter(|attr| is_test_attribute(attr)) {
            errors.push(syn::Error::new_spanned(
                attr,
                "`#[goro::test]` already marks the function as a test; remove this attribute",
            ));
        }
    }
}

/// `#[test]`, `#[core::prelude::v1::test]` and the like: a second test
/// attribute would register the function twice.
fn is_test_attribute(attr: &Attribute) -> bool {
    let path = attr.path();
    let first = path.segments.first().map(|s| s.ident.to_string());
    let last = path.segments.last().map(|s| s.ident.to_string());
    last.as_deref() == Some("test")
        && (path.segments.len() == 1 || matches!(first.as_deref(), Some("core" | "std")))
}

/// What stands in for a function the attribute refused: a plain `fn` of the
/// same name, so the only errors the user sees are the attribute's (no
/// "`main` function not found", no complaints about an `async` main).
fn stand_in(function: &ItemFn) -> TokenStream {
    let cfgs = function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"));
    let vis = &function.vis;
    let ident = &function.sig.ident;
    quote! {
        #(#cfgs)*
        #[allow(dead_code)]
        #vis fn #ident() {}
    }
}

fn not_a_function(kind: Kind, item: &Item, tokens: TokenStream) -> syn::Error {
    let what = match item {
        Item::Const(_) => "a constant",
        Item::Enum(_) => "an enum",
        Item::ExternCrate(_) => "an `extern crate` item",
        Item::ForeignMod(_) => "an `extern` block",
        Item::Impl(_) => "an `impl` block",
        Item::Macro(_) => "a macro invocation",
        Item::Mod(_) => "a module",
        Item::Static(_) => "a static",
        Item::Struct(_) => "a struct",
        Item::Trait(_) => "a trait",
        Item::TraitAlias(_) => "a trait alias",
        Item::Type(_) => "a type alias",
        Item::Union(_) => "a union",
        Item::Use(_) => "a `use` item",
        _ => "this item",
    };
    let message = format!(
        "`{}` can only be applied to an `async fn`, not to {what}",
        kind.attribute()
    );
    let head = head(tokens);
    if head.is_empty() {
        syn::Error::new(Span::call_site(), message)
    } else {
        syn::Error::new_spanned(head, message)
    }
}

/// The item's tokens after its attributes and before its body, value or `;`:
/// `pub struct Config`, `impl Server`, `const LIMIT: usize`. Pointing there
/// rather than at the whole item keeps the caret on one line.
fn head(tokens: TokenStream) -> TokenStream {
    let mut tokens = tokens.into_iter().peekable();
    let mut head = TokenStream::new();
    while let Some(token) = tokens.next() {
        match &token {
            // An outer attribute: `#` then `[...]`.
            TokenTree::Punct(p)
                if p.as_char() == '#'
                    && matches!(tokens.peek(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket) =>
            {
                tokens.next();
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
            TokenTree::Punct(p) if matches!(p.as_char(), ';' | '=') => break,
            _ => head.extend([token]),
        }
    }
    head
}

fn with_errors(mut tokens: TokenStream, errors: Errors) -> TokenStream {
    if let Err(error) = errors.finish() {
        tokens.extend(error.into_compile_error());
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        expand(kind, args, item).to_string()
    }

    /// The messages of the `compile_error!`s in an expansion.
    fn messages(tokens: TokenStream) -> Vec<String> {
        let mut found = Vec::new();
        let mut tokens = tokens.into_iter().peekable();
        while let Some(token) = tokens.next() {
            if let TokenTree::Ident(ident) = &token {
                if ident == "compile_error" {
                    tokens.next(); // `!`
                    if let Some(TokenTree::Group(group)) = tokens.next() {
                        let lit: syn::LitStr = syn::parse2(group.stream()).unwrap();
                        found.push(lit.value());
                    }
                }
            }
        }
        found
    }

    #[test]
    fn main_wraps_the_body_in_a_multi_thread_runtime() {
        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                async fn main() {
                    work().await;
                }
            ),
        );
        assert!(
            out.contains(":: goro :: runtime :: Builder :: new_multi_thread ()"),
            "{out}"
        );
        assert!(!out.contains("worker_threads"), "{out}");
        assert!(!out.contains("async fn"), "{out}");
        assert!(
            out.contains("let output : () = { work () . await ; }"),
            "{out}"
        );
        assert!(out.contains("block_on (body)"), "{out}");
        assert!(!out.contains("test"), "{out}");
    }

    #[test]
    fn options_reach_the_builder() {
        let out = expand_str(
            Kind::Main,
            quote!(worker_threads = 3usize),
            quote!(
                async fn main() {}
            ),
        );
        // The suffix is dropped: the builder takes a `usize` anyway.
        assert!(
            out.contains("new_multi_thread () . worker_threads (3) . on_deadlock"),
            "{out}"
        );

        let out = expand_str(
            Kind::Main,
            quote!(flavor = "current_thread"),
            quote!(
                async fn main() {}
            ),
        );
        assert!(out.contains("new_current_thread () . on_deadlock"), "{out}");
    }

    #[test]
    fn test_gets_one_test_attribute_before_the_users() {
        let out = expand_str(
            Kind::Test,
            quote!(),
            quote!(
                #[should_panic]
                async fn fails() {
                    panic!()
                }
            ),
        );
        let test = out
            .find("# [:: core :: prelude :: v1 :: test]")
            .expect(&out);
        let should_panic = out.find("# [should_panic]").expect(&out);
        assert!(test < should_panic, "{out}");
        assert!(out.contains("new_current_thread ()"), "{out}");
    }

    #[test]
    fn return_types_are_kept_and_annotate_the_body() {
        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                pub async fn main() -> Result<(), Error> {
                    Ok(())
                }
            ),
        );
        assert!(
            out.contains("pub fn main () -> Result < () , Error >"),
            "{out}"
        );
        assert!(
            out.contains("let output : Result < () , Error > = { Ok (()) } ;"),
            "{out}"
        );

        // `impl Trait` cannot be written in a `let`.
        let out = expand_str(
            Kind::Test,
            quote!(),
            quote!(
                async fn t() -> impl std::process::Termination {}
            ),
        );
        assert!(!out.contains("let output"), "{out}");
        assert!(out.contains("let body = async move { }"), "{out}");
    }

    #[test]
    fn errors_replace_the_function_with_a_plain_stand_in() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote!(
                fn main() {}
            ),
        );
        assert_eq!(
            messages(out.clone()),
            [
                "the `async` keyword is missing from the function declaration: \
              `#[goro::main]` runs an `async fn`"
            ]
        );
        assert!(
            out.to_string()
                .starts_with("# [allow (dead_code)] fn main () { }"),
            "{out}"
        );
        assert!(!out.to_string().contains("goro :: runtime"), "{out}");
    }

    #[test]
    fn every_signature_problem_is_reported() {
        let out = expand(
            Kind::Main,
            quote!(flavor = "fast"),
            quote!(
                fn main<T>(x: T)
                where
                    T: Copy,
                {
                }
            ),
        );
        let messages = messages(out);
        assert_eq!(
            messages.len(),
            5,
            "options, async, arguments, generics and where clause: {messages:?}"
        );
        assert!(messages[0].starts_with("unknown flavor"));
        assert!(messages[2].ends_with("cannot take arguments"));
        assert!(messages[3].ends_with("cannot be generic"));
        assert!(messages[4].ends_with("cannot have a `where` clause"));
    }

    #[test]
    fn a_second_test_attribute_is_refused() {
        for attr in [quote!(#[test]), quote!(#[::core::prelude::v1::test])] {
            let out = expand(Kind::Test, quote!(), quote!(#attr async fn t() {}));
            assert_eq!(
                messages(out),
                ["`#[goro::test]` already marks the function as a test; remove this attribute"]
            );
        }
        // Other attributes whose name ends in `test` are not the built-in one.
        let out = expand(
            Kind::Test,
            quote!(),
            quote!(
                #[my::test]
                async fn t() {}
            ),
        );
        assert!(messages(out).is_empty());
    }

    #[test]
    fn other_items_are_refused_and_kept() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote!(
                #[derive(Debug)]
                pub struct S {
                    a: u8,
                }
            ),
        );
        assert_eq!(
            messages(out.clone()),
            ["`#[goro::main]` can only be applied to an `async fn`, not to a struct"]
        );
        assert!(
            out.to_string()
                .starts_with("# [derive (Debug)] pub struct S"),
            "{out}"
        );

        let out = expand(
            Kind::Test,
            quote!(),
            quote!(
                const N: usize = 1;
            ),
        );
        assert_eq!(
            messages(out),
            ["`#[goro::test]` can only be applied to an `async fn`, not to a constant"]
        );
    }

    #[test]
    fn head_stops_before_the_body() {
        let head = |tokens| super::head(tokens).to_string();
        assert_eq!(
            head(quote!(
                #[a]
                #[b(c)]
                pub struct S {
                    x: u8,
                }
            )),
            "pub struct S"
        );
        assert_eq!(
            head(quote!(
                impl<T> Trait for S<T> {}
            )),
            "impl < T > Trait for S < T >"
        );
        assert_eq!(
            head(quote!(
                static X: u8 = 1;
            )),
            "static X : u8"
        );
        assert_eq!(
            head(quote!(
                use a::b;
            )),
            "use a :: b"
        );
    }
}
