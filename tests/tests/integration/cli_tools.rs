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

/// A port that answers each of its first `count` connections with `answer`
/// (after reading what the client sent first) and closes it.
fn answering(answer: &'static [u8], count: usize) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().take(count).flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.read(&mut [0u8; 512]);
            let _ = stream.write_all(answer);
        }
    });
    port
}

#[test]
fn a_port_that_is_not_redis_is_named_as_such() {
    let redis = TestRedis::start();
    let http = answering(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 4);
    let ssh = answering(b"SSH-2.0-OpenSSH_9.6\r\n", 4);
    for (port, said) in [(http, "HTTP/1.1 400 Bad Request"), (ssh, "SSH-2.0-OpenSSH_9.6")] {
        let out =
            run(stock(&redis).args(["queues", "-r", &format!("redis://:s3cret-pw@127.0.0.1:{port}")]), LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains(&format!(
                "127.0.0.1:{port} answered but is not a Redis server (it answered \"{said}\")"
            )),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("s3cret-pw"), "the password is shown: {stderr}");
    }
    // The worker says the same before it starts.
    let out = run(worker(&redis).args(["work", "-q", "a", "-r", &format!("127.0.0.1:{http}")]), LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("127.0.0.1:{http} answered but is not a Redis server")), "{stderr}");
}

#[test]
fn a_port_that_never_answers_times_out_in_words() {
    use std::io::Read;
    let redis = TestRedis::start();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts, reads, and never answers, until the client gives up.
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || while matches!(stream.read(&mut [0u8; 512]), Ok(n) if n > 0) {});
        }
    });
    let out = run(stock(&redis).args(["info", "-r", &format!("redis://:s3cret-pw@127.0.0.1:{port}")]), LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("cannot connect to Redis at redis://127.0.0.1:{port}"))
            && stderr.contains("timed out: no answer from the server"),
        "{stderr}"
    );
    assert!(!stderr.contains("temporarily unavailable") && !stderr.contains("s3cret-pw"), "{stderr}");
}

#[test]
fn a_refused_connection_names_the_address() {
    let mut redis = TestRedis::start();
    redis.stop();
    let out = run(stock(&redis).args(["queues"]), LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        stderr.trim_end(),
        format!(
            "resque-cli: error: cannot connect to Redis at redis://127.0.0.1:{}/0: connection refused (is \
             redis-server running there?)",
            redis.port()
        )
    );
}
