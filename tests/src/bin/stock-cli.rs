//! The stock CLI, as the `resque-cli` binary is: no job linked (this
//! binary does not use the test jobs' crate, so the linker leaves them out).

fn main() -> std::process::ExitCode {
    resque_cli::main()
}
