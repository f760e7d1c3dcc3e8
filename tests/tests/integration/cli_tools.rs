//! The CLI's own tools, in the stock binary (no job linked) and in a worker
//! binary: shell completions, the manual page, `jobs`.

use std::process::Command;
use std::time::Duration;

use resque_tests::{run, TestRedis};

use super::worker;

const LIMIT: Duration = Duration::from_secs(60);

/// The stock CLI (no job linked) with a clean environment pointing at `redis`.
pub(super) fn stock(redis: &TestRedis) -> Command {
    resque_tests::command(env!("CARGO_BIN_EXE_stock-cli"), redis)
}

/// Runs `cmd`, which must succeed; returns stdout. Read as it comes (a
/// completion script outgrows a pipe's buffer), with no time limit: the
/// command only prints.
fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn completions_name_the_subcommands_in_every_shell() {
    let redis = TestRedis::start();
    for (binary, name) in [(stock(&redis), "stock-cli"), (worker(&redis), "test-worker")] {
        let mut binary = binary;
        for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
            let script = stdout_of(binary.args(["completions", shell]));
            for sub in ["remove-queue", "failed", "enqueue", "completions"] {
                assert!(script.contains(sub), "{name} {shell}: no {sub} in:\n{script}");
            }
            assert!(script.contains(name), "{name} {shell}: the script is not for {name}:\n{script}");
            binary = match name {
                "stock-cli" => stock(&redis),
                _ => worker(&redis),
            };
        }
        let bash = stdout_of(binary.args(["completions", "bash"]));
        assert!(
            bash.lines()
                .any(|l| l.trim_start().starts_with(&format!("complete -F _{}", name.replace('-', "__")))),
            "{bash}"
        );
    }
    let out = run(stock(&redis).args(["completions", "tcsh"]), LIMIT);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: bash"), "{out:?}");
}

#[test]
fn man_prints_a_roff_page_of_the_subcommands() {
    let redis = TestRedis::start();
    for (mut binary, name) in [(stock(&redis), "stock-cli"), (worker(&redis), "test-worker")] {
        let page = stdout_of(binary.arg("man"));
        // The title comes before any section (groff's quoting set-up may precede it).
        let first_macro = page.lines().find(|l| l.starts_with(".TH") || l.starts_with(".SH"));
        assert_eq!(
            first_macro.map(|l| l.split_whitespace().take(2).collect::<Vec<_>>()),
            Some(vec![".TH", name]),
            "{page}"
        );
        assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
        for sub in ["remove\\-queue", "failed", "enqueue", "completions"] {
            assert!(
                page.contains(&format!("{}\\-{sub}(1)", name.replace('-', "\\-"))),
                "{name}: no {sub} in:\n{page}"
            );
        }
    }
}

#[test]
fn jobs_says_so_when_none_is_linked() {
    let redis = TestRedis::start();
    let said = stdout_of(stock(&redis).arg("jobs"));
    assert!(
        said.starts_with("no jobs are linked into this binary: the stock resque-cli runs none"),
        "{said}"
    );
    assert!(said.contains("resque_cli::main()") && said.contains("README"), "{said}");
    let listed = stdout_of(worker(&redis).arg("jobs"));
    assert!(listed.lines().any(|l| l.starts_with("Archive\tqueue file_serve\t")), "{listed}");
    assert!(!listed.contains("no jobs are linked"), "{listed}");
}
