//! Compile tests for `#[resque::job]`: every misuse in `ui/fail/` must fail
//! with the error in its `.stderr`, on the token at fault; every case in
//! `ui/pass/` must compile without warnings and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p
//! resque-ui-tests`, then read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
