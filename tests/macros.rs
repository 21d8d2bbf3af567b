//! Compile tests for `#[goro::main]` and `#[goro::test]` (trybuild).
//!
//! `tests/ui/pass` holds programs that must build without a warning (each
//! denies warnings, so glue that trips a lint fails here) and run to
//! completion; `tests/ui/fail` holds one mistake per file, with the
//! compiler's output in the `.stderr` beside it, so a change in a message or
//! in where its caret points shows up as a diff. Regenerate those with
//! `TRYBUILD=overwrite cargo test --test macros` and read every changed
//! `.stderr` before committing it.
//!
//! trybuild builds its cases as ordinary binaries, not with `--test`, and in
//! such a build `#[test]` functions are removed before type checking. The
//! `#[goro::test]` pass cases therefore show that the attribute accepts its
//! input and expands cleanly; running such tests (`#[should_panic]`
//! included) is the job of the runtime's own integration tests, which use
//! `#[goro::test]`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
