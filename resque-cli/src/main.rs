//! The stock `resque-cli` binary. It links no jobs, so `work` here only
//! explains how to build a worker binary; every other command works as is.

fn main() -> std::process::ExitCode {
    resque_cli::main()
}
