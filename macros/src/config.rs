//! The attribute's options: `flavor = "..."` and `worker_threads = N`.
//!
//! Parsing never stops at the first mistake. Every option is checked and every
//! error is kept (joined with [`syn::Error::combine`]), so one compile shows the
//! user all that is wrong with the attribute, each message at its own cause.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitInt, Meta, MetaNameValue, Token};

/// Which attribute is being expanded. The two differ in their default flavor
/// and in the words their error messages use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for error messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[goro::main]",
            Kind::Test => "#[goro::test]",
        }
    }

    /// `main` gets every core (what a program wants); a test gets one thread,
    /// so that tests run side by side by the harness do not each start a
    /// worker per CPU. tokio users expect the same defaults.
    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// The runtime the expansion builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_multi_thread()`: worker threads with work stealing.
    MultiThread,
    /// `Builder::new_current_thread()`: every task on the `block_on` thread.
    CurrentThread,
}

impl Flavor {
    fn from_name(name: &str) -> Option<Flavor> {
        match name {
            "multi_thread" => Some(Flavor::MultiThread),
            "current_thread" => Some(Flavor::CurrentThread),
            _ => None,
        }
    }
}

/// What the attribute asked for, checked.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) flavor: Flavor,
    /// The worker count, with the span of the literal the user wrote, so the
    /// emitted `.worker_threads(n)` call points back at it. `None` leaves the
    /// runtime's default (one per CPU, or `GORO_WORKER_THREADS`).
    pub(crate) worker_threads: Option<(usize, Span)>,
    /// `start_paused = true`: the runtime starts with its clock paused.
    pub(crate) start_paused: bool,
}

/// The option names, in the order the "unknown option" message lists them.
const OPTIONS: &[&str] = &["flavor", "worker_threads", "start_paused"];

/// Parses the tokens between the attribute's parentheses.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> syn::Result<Config> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;

    let mut errors = Errors::default();
    // Each option with the whole `name = value` it came from: the duplicate
    // check needs the name, the flavor check the pair.
    let mut flavor: Option<(Flavor, MetaNameValue)> = None;
    let mut worker_threads: Option<(usize, Span, MetaNameValue)> = None;
    let mut start_paused: Option<(bool, MetaNameValue)> = None;

    for meta in metas {
        let pair = match meta {
            Meta::NameValue(pair) => pair,
            Meta::Path(path) => {
                let name = path_name(&path);
                errors.push(syn::Error::new_spanned(
                    &path,
                    format!("the `{name}` option needs a value: write `{name} = ...`"),
                ));
                continue;
            }
            Meta::List(list) => {
                let name = path_name(&list.path);
                errors.push(syn::Error::new_spanned(
                    &list,
                    format!("options are written `{name} = value`, not `{name}(...)`"),
                ));
                continue;
            }
        };

        let name = path_name(&pair.path);
        match name.as_str() {
            "flavor" => {
                if flavor.is_some() {
                    errors.push(duplicate(&pair));
                } else if let Some(value) = errors.keep(parse_flavor(&pair.value)) {
                    flavor = Some((value, pair));
                }
            }
            "worker_threads" => {
                if worker_threads.is_some() {
                    errors.push(duplicate(&pair));
                } else if let Some((n, span)) = errors.keep(parse_worker_threads(&pair.value)) {
                    worker_threads = Some((n, span, pair));
                }
            }
            "start_paused" => {
                if start_paused.is_some() {
                    errors.push(duplicate(&pair));
                } else {
                    match literal(&pair.value) {
                        Some(Lit::Bool(b)) => start_paused = Some((b.value, pair)),
                        _ => errors.push(syn::Error::new_spanned(
                            &pair.value,
                            "the `start_paused` option takes `true` or `false`",
                        )),
                    }
                }
            }
            _ => {
                let quoted: Vec<String> = OPTIONS.iter().map(|o| format!("`{o}`")).collect();
                let (last, rest) = quoted.split_last().expect("options");
                let valid = format!("{} and {last}", rest.join(", "));
                errors.push(syn::Error::new_spanned(
                    &pair.path,
                    format!("unknown option `{name}`; the valid options are {valid}"),
                ));
            }
        }
    }

    let chosen = flavor.as_ref().map(|(flavor, _)| *flavor);
    let flavor = chosen.unwrap_or_else(|| kind.default_flavor());
    if let (Flavor::CurrentThread, Some((_, _, pair))) = (flavor, &worker_threads) {
        let message = if chosen.is_some() {
            "`worker_threads` cannot be used with the `current_thread` flavor, which runs \
             every task on the calling thread; remove it or use `flavor = \"multi_thread\"`"
                .to_owned()
        } else {
            format!(
                "`{}` uses the `current_thread` flavor unless told otherwise; add \
                 `flavor = \"multi_thread\"` to use `worker_threads`",
                kind.attribute()
            )
        };
        errors.push(syn::Error::new_spanned(pair, message));
    }

    if let (Flavor::MultiThread, Some((true, pair))) = (flavor, &start_paused) {
        errors.push(syn::Error::new_spanned(
            pair,
            "`start_paused = true` needs the `current_thread` flavor: time can only be paused \
             where every task runs on one thread",
        ));
    }

    errors.finish()?;
    Ok(Config {
        flavor,
        worker_threads: worker_threads.map(|(n, span, _)| (n, span)),
        start_paused: start_paused.is_some_and(|(b, _)| b),
    })
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    let expected = "expected `\"multi_thread\"` or `\"current_thread\"`";
    match literal(value) {
        Some(Lit::Str(name)) => Flavor::from_name(&name.value()).ok_or_else(|| {
            syn::Error::new_spanned(
                name,
                format!("unknown flavor `{}`; {expected}", name.value()),
            )
        }),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("the `flavor` option takes a string literal: {expected}"),
        )),
    }
}

fn parse_worker_threads(value: &Expr) -> syn::Result<(usize, Span)> {
    let Some(Lit::Int(int)) = literal(value) else {
        return Err(syn::Error::new_spanned(
            value,
            "the `worker_threads` option takes a positive integer literal, such as `worker_threads = 4`",
        ));
    };
    match count(int)? {
        None | Some(0) => Err(syn::Error::new_spanned(
            int,
            "`worker_threads` must be at least 1",
        )),
        Some(n) => Ok((n, int.span())),
    }
}

/// The integer a literal spells, as a `usize`; `None` if it is negative
/// (syn reads `-1` as one literal). A suffix other than `usize` would make the
/// emitted `.worker_threads(n)` call a type error far from its cause, so it is
/// refused here.
fn count(int: &LitInt) -> syn::Result<Option<usize>> {
    if !matches!(int.suffix(), "" | "usize") {
        return Err(syn::Error::new_spanned(
            int,
            format!(
                "`worker_threads` is a `usize`; drop the `{}` suffix",
                int.suffix()
            ),
        ));
    }
    if int.base10_digits().starts_with('-') {
        return Ok(None);
    }
    int.base10_parse::<usize>()
        .map(Some)
        .map_err(|_| syn::Error::new_spanned(int, "`worker_threads` does not fit in a `usize`"))
}

/// The literal an option's value is, looking through parentheses and the
/// invisible groups that `macro_rules!` wraps around `$value:expr`.
fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, attrs }) if attrs.is_empty() => Some(lit),
        Expr::Group(group) => literal(&group.expr),
        Expr::Paren(paren) => literal(&paren.expr),
        _ => None,
    }
}

fn duplicate(pair: &MetaNameValue) -> syn::Error {
    syn::Error::new_spanned(
        &pair.path,
        format!("the `{}` option is given twice", path_name(&pair.path)),
    )
}

/// The option's name as written (`crate::x` stays whole, so the message
/// quotes what the user typed).
fn path_name(path: &syn::Path) -> String {
    let mut name = String::new();
    if path.leading_colon.is_some() {
        name.push_str("::");
    }
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            name.push_str("::");
        }
        name.push_str(&segment.ident.to_string());
    }
    name
}

/// All the errors found so far, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The value of `result`, or `None` after recording its error.
    pub(crate) fn keep<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn config(kind: Kind, args: TokenStream) -> Config {
        match parse(kind, args) {
            Ok(config) => config,
            Err(error) => panic!("expected a config, got: {error}"),
        }
    }

    /// Every message, in order (a combined error yields one per cause).
    fn errors(kind: Kind, args: TokenStream) -> Vec<String> {
        match parse(kind, args) {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_differ_between_main_and_test() {
        let main = config(Kind::Main, quote!());
        assert_eq!(main.flavor, Flavor::MultiThread);
        assert!(main.worker_threads.is_none());

        let test = config(Kind::Test, quote!());
        assert_eq!(test.flavor, Flavor::CurrentThread);
        assert!(test.worker_threads.is_none());
    }

    #[test]
    fn flavor_and_worker_threads_are_read() {
        let c = config(Kind::Main, quote!(flavor = "current_thread"));
        assert_eq!(c.flavor, Flavor::CurrentThread);

        let c = config(
            Kind::Test,
            quote!(flavor = "multi_thread", worker_threads = 3),
        );
        assert_eq!(c.flavor, Flavor::MultiThread);
        assert_eq!(c.worker_threads.map(|(n, _)| n), Some(3));

        // Order does not matter, a trailing comma is fine, and so is a
        // `usize` suffix.
        let c = config(
            Kind::Main,
            quote!(worker_threads = 7usize, flavor = "multi_thread",),
        );
        assert_eq!(c.flavor, Flavor::MultiThread);
        assert_eq!(c.worker_threads.map(|(n, _)| n), Some(7));

        // main is multi-threaded by default, so worker_threads alone is fine.
        let c = config(Kind::Main, quote!(worker_threads = 1));
        assert_eq!(c.worker_threads.map(|(n, _)| n), Some(1));
    }

    #[test]
    fn unknown_option_names_the_valid_ones() {
        let e = errors(Kind::Main, quote!(workers = 4));
        assert_eq!(
            e,
            ["unknown option `workers`; the valid options are `flavor`, `worker_threads` and `start_paused`"]
        );
    }

    #[test]
    fn bad_flavor() {
        let e = errors(Kind::Main, quote!(flavor = "single_thread"));
        assert_eq!(
            e,
            ["unknown flavor `single_thread`; expected `\"multi_thread\"` or `\"current_thread\"`"]
        );
        let e = errors(Kind::Main, quote!(flavor = multi_thread));
        assert!(
            e[0].starts_with("the `flavor` option takes a string literal"),
            "{e:?}"
        );
    }

    #[test]
    fn bad_worker_threads() {
        let e = errors(Kind::Main, quote!(worker_threads = 0));
        assert_eq!(e, ["`worker_threads` must be at least 1"]);
        let e = errors(Kind::Main, quote!(worker_threads = -1));
        assert_eq!(e, ["`worker_threads` must be at least 1"]);

        for args in [
            quote!(worker_threads = "4"),
            quote!(worker_threads = n),
            quote!(worker_threads = 2.0),
        ] {
            let e = errors(Kind::Main, args.clone());
            assert!(
                e[0].starts_with("the `worker_threads` option takes a positive integer literal"),
                "{args}: {e:?}"
            );
        }

        let e = errors(Kind::Main, quote!(worker_threads = 4u8));
        assert_eq!(e, ["`worker_threads` is a `usize`; drop the `u8` suffix"]);

        let e = errors(Kind::Main, quote!(worker_threads = 99999999999999999999999));
        assert_eq!(e, ["`worker_threads` does not fit in a `usize`"]);
    }

    #[test]
    fn worker_threads_needs_multi_thread() {
        let e = errors(
            Kind::Main,
            quote!(flavor = "current_thread", worker_threads = 2),
        );
        assert!(
            e[0].starts_with("`worker_threads` cannot be used with the `current_thread` flavor")
        );
        // The check does not depend on the order of the options.
        let e = errors(
            Kind::Main,
            quote!(worker_threads = 2, flavor = "current_thread"),
        );
        assert!(
            e[0].starts_with("`worker_threads` cannot be used with the `current_thread` flavor")
        );
        // A test is current_thread unless told otherwise, and the message says so.
        let e = errors(Kind::Test, quote!(worker_threads = 2));
        assert!(
            e[0].starts_with(
                "`#[goro::test]` uses the `current_thread` flavor unless told otherwise"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let e = errors(
            Kind::Main,
            quote!(flavor = "multi_thread", flavor = "multi_thread"),
        );
        assert_eq!(e, ["the `flavor` option is given twice"]);
        let e = errors(Kind::Main, quote!(worker_threads = 1, worker_threads = 2));
        assert_eq!(e, ["the `worker_threads` option is given twice"]);
    }

    #[test]
    fn options_need_values() {
        let e = errors(Kind::Main, quote!(flavor));
        assert_eq!(
            e,
            ["the `flavor` option needs a value: write `flavor = ...`"]
        );
        let e = errors(Kind::Main, quote!(flavor("multi_thread")));
        assert_eq!(
            e,
            ["options are written `flavor = value`, not `flavor(...)`"]
        );
    }

    #[test]
    fn every_error_is_reported() {
        let e = errors(
            Kind::Main,
            quote!(workers = 1, flavor = "fast", worker_threads = 0),
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with("unknown option `workers`"));
        assert!(e[1].starts_with("unknown flavor `fast`"));
        assert_eq!(e[2], "`worker_threads` must be at least 1");
    }

    #[test]
    fn malformed_arguments_are_a_parse_error() {
        let e = errors(Kind::Main, quote!(flavor = ));
        assert_eq!(e.len(), 1, "{e:?}");
    }
}
