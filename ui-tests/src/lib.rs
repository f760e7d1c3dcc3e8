//! Compile tests for `#[resque::job]`: `tests/ui.rs` runs the cases under
//! `tests/ui/` with trybuild, and `tests/generated.rs` checks the generated
//! code at run time and under this workspace's lints.
