//! # goro-macros
//!
//! `#[goro::main]` and `#[goro::test]`: write `main` or a test as an
//! `async fn`, and the attribute turns it into an ordinary function that
//! builds a goro runtime and blocks on the body. Use them through the facade
//! (`goro::main`, `goro::test`); this crate is not meant to be named directly.
//!
//! ## Options
//!
//! Both attributes take the same options, written `name = value` and
//! separated by commas:
//!
//! | option | values | default |
//! |---|---|---|
//! | `flavor` | `"multi_thread"` or `"current_thread"` | `main`: `"multi_thread"`; test: `"current_thread"` |
//! | `worker_threads` | an integer literal ≥ 1, `multi_thread` only | the runtime's: one per CPU, or `GORO_WORKER_THREADS` |
//! | `start_paused` | `true` or `false`, `current_thread` only: the clock starts paused (`goro::time::pause`) | `false` |
//!
//! The defaults are tokio's, so code moving over behaves as it did: a
//! program gets every core; a test gets one thread, since the test harness
//! already runs many tests side by side.
//!
//! Deadlock detection (`Builder::on_deadlock`) is on in both: a test
//! panics with `goro: all tasks are asleep - deadlock!` and the task dump
//! (so a deadlocked test fails instead of hanging), a program prints the
//! report and goes on. `main` also prints a task dump on SIGQUIT.
//!
//! ## The expansion
//!
//! ```ignore
//! #[goro::main(worker_threads = 2)]
//! async fn main() -> Result<(), Error> {
//!     serve().await?;
//!     Ok(())
//! }
//! ```
//!
//! becomes (the names `body`, `output` and `runtime` are hygienic: the
//! user's code can neither see nor shadow them)
//!
//! ```ignore
//! fn main() -> Result<(), Error> {
//!     let body = async move {
//!         let output: Result<(), Error> = {
//!             serve().await?;
//!             Ok(())
//!         };
//!         #[allow(unreachable_code, clippy::needless_return)]
//!         return output;
//!     };
//!     #[allow(clippy::expect_used)]
//!     let runtime = ::goro::runtime::Builder::new_multi_thread()
//!         .worker_threads(2)
//!         .on_deadlock(::goro::runtime::Deadlock::Report)
//!         .dump_on_sigquit(true)
//!         .build()
//!         .expect("failed to build the goro runtime");
//!     runtime.block_on(body)
//! }
//! ```
//!
//! `#[goro::test]` writes the same function with `#[::core::prelude::v1::test]`
//! in front of the user's own attributes, so `#[should_panic]` or `#[ignore]`
//! placed after `#[goro::test]` apply to the test as usual.
//!
//! Three choices shape it:
//!
//! - **The body is wrapped, never rewritten.** The user's block, return type,
//!   attributes and visibility go into the output as the very tokens the user
//!   wrote, spans and all; only the glue around them is ours. A type error in
//!   the body is therefore reported in the body, at the line that caused it.
//! - **The body's value is bound to the declared return type.** An `async`
//!   block's output type is otherwise only known after its body is checked,
//!   which leaves `?` not knowing which error type to convert into ("type
//!   annotations needed") and reports a wrong tail value at the macro rather
//!   than at the tail. The `let output: T = { ... }` line settles both. It is
//!   left out when the return type cannot be written in a `let` (`impl Trait`,
//!   `!`). The value leaves by a `return` statement, which, unlike a tail
//!   expression, can carry the `allow(unreachable_code)` that a body ending
//!   in `loop {}` or `process::exit` would otherwise trigger on our line.
//! - **The value goes back out.** Whatever the body evaluates to is what the
//!   function returns, so `main` may return `Result<(), E>` (or any other
//!   `Termination` type) and a test may too.
//!
//! ## Errors
//!
//! A mistake is a compile error at its cause, never a panic in the macro:
//! the `fn` keyword of a function that is not `async`; the argument list of
//! a function with arguments; the generic parameters or `where` clause of a
//! generic function; an unknown option's name (the message lists the valid
//! ones); a bad value (a flavor that is neither of the two, a
//! `worker_threads` that is not a positive integer literal); the second of
//! two options with the same name; `worker_threads` under the
//! `current_thread` flavor; a second `#[test]` under `#[goro::test]`; and
//! the head (`pub struct Config`) of an item that is not a function.
//!
//! Every problem found is reported in the same compile, not just the first.
//! A refused function is replaced by a plain `fn` of the same name with an
//! empty body, so that the attribute's errors are the only ones: without it,
//! rustc would add "`main` function not found" or "`main` function is not
//! allowed to be `async`" to every mistake.

mod config;
mod entry;

use config::Kind;
use proc_macro::TokenStream;

/// Runs `async fn main` on a goro runtime.
///
/// The function becomes a plain `fn` that builds a runtime, blocks on the
/// body, and returns the body's value. By default the runtime is
/// multi-threaded with the default worker count (one per CPU, or the
/// `GORO_WORKER_THREADS` environment variable).
///
/// # Options
///
/// - `flavor = "multi_thread"` (the default) or `flavor = "current_thread"`
///   (every task runs on the thread that calls `main`).
/// - `worker_threads = N`: the number of worker threads, an integer literal
///   of at least 1. Only with the `multi_thread` flavor.
///
/// # Examples
///
/// ```ignore
/// #[goro::main]
/// async fn main() {
///     let answer = goro::spawn(async { 6 * 7 }).await.unwrap();
///     println!("{answer}");
/// }
/// ```
///
/// `main` may return a `Result`, and `?` works in the body:
///
/// ```ignore
/// #[goro::main(worker_threads = 4)]
/// async fn main() -> Result<(), std::io::Error> {
///     let config = load_config().await?;
///     serve(config).await
/// }
/// ```
///
/// A single-threaded runtime:
///
/// ```ignore
/// #[goro::main(flavor = "current_thread")]
/// async fn main() {
///     println!("all tasks run on this thread");
/// }
/// ```
///
/// # Errors
///
/// It is a compile error, pointing at the cause, to put the attribute on a
/// function that is not `async`, takes arguments or is generic, or on an item
/// that is not a function; to give an unknown option, an option twice, or a
/// bad value; or to combine `worker_threads` with the `current_thread` flavor.
/// The crate overview lists the exact expansion.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a goro runtime.
///
/// The function becomes a `#[test]` that builds a runtime, blocks on the
/// body, and returns the body's value (so a test may return a `Result`). By
/// default the runtime is `current_thread`: every task runs on the test's
/// own thread.
///
/// Attributes written after `#[goro::test]`, such as `#[should_panic]` or
/// `#[ignore]`, apply to the test. Do not add `#[test]` yourself: the
/// attribute adds it, and a second one is a compile error.
///
/// # Options
///
/// - `flavor = "current_thread"` (the default) or `flavor = "multi_thread"`.
/// - `worker_threads = N`: the number of worker threads, an integer literal
///   of at least 1. Only with `flavor = "multi_thread"`.
///
/// # Examples
///
/// ```ignore
/// #[goro::test]
/// async fn spawned_tasks_run() {
///     let handle = goro::spawn(async { 1 + 1 });
///     assert_eq!(handle.await.unwrap(), 2);
/// }
/// ```
///
/// With two worker threads, and expecting a panic:
///
/// ```ignore
/// #[goro::test(flavor = "multi_thread", worker_threads = 2)]
/// #[should_panic(expected = "boom")]
/// async fn panics_reach_the_harness() {
///     let value = goro::spawn(async { 2 }).await.unwrap();
///     assert_eq!(value, 2);
///     panic!("boom");
/// }
/// ```
///
/// # Errors
///
/// The same as [`macro@main`]'s, plus a compile error for a second `#[test]`
/// attribute.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Test, args.into(), item.into()).into()
}
