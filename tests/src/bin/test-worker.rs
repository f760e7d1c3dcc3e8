//! A worker binary for the tests: the stock CLI with the test jobs linked in,
//! exactly as a user's worker binary is built.

use resque_tests as _;

fn main() -> std::process::ExitCode {
    resque_cli::main()
}
