//! The crates as they would be published: `scripts/package-crates` stages the
//! four publishable crates under names crates.io can take (the library as
//! `resque-rs`, its library target still `resque`) and packages them with
//! cargo. Each .crate is unpacked and read here.

use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `cmd`, which must succeed.
fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Packages the crates into `out` (without building them again: the suite has
/// built these sources already) and unpacks every .crate into `out/unpacked`.
fn package(out: &Path) -> PathBuf {
    run_ok(
        Command::new(repo_root().join("scripts/package-crates"))
            .args(["--no-verify", "--offline", "--out"])
            .arg(out),
    );
    let unpacked = out.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "crate") {
            run_ok(Command::new("tar").arg("-xzf").arg(&path).arg("-C").arg(&unpacked));
        }
    }
    unpacked
}

fn manifest(unpacked: &Path, package: &str) -> String {
    let path = unpacked.join(format!("{package}-{VERSION}/Cargo.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The body of `[section]` in a cargo-normalized manifest (up to the next
/// header), from the newline that ends the header: every line in it starts
/// after a `\n`.
fn section<'a>(manifest: &'a str, header: &str) -> &'a str {
    let header_line = format!("\n[{header}]");
    let start =
        manifest.find(&format!("{header_line}\n")).unwrap_or_else(|| panic!("no [{header}] in:\n{manifest}"))
            + header_line.len();

    let rest = &manifest[start..];
    &rest[..rest.find("\n[").unwrap_or(rest.len())]
}

/// Every `include_str!("...")` under `dir`, as (the including file, the included path).
fn includes(dir: &Path, found: &mut Vec<(PathBuf, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            includes(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("include_str!(\"").skip(1) {
                let name = &piece[..piece.find('"').unwrap()];
                found.push((path.clone(), path.parent().unwrap().join(name)));
            }
        }
    }
}

#[test]
fn publishable_crates_take_names_crates_io_can_hold_and_keep_the_library_name() {
    let out = tempfile::tempdir().unwrap();
    let unpacked = package(out.path());

    let mut packages: Vec<String> = std::fs::read_dir(&unpacked)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    packages.sort();
    // crates.io's `resque` is an unrelated crate: nothing goes out under that name.
    assert_eq!(
        packages,
        ["resque-cli", "resque-macros", "resque-rs", "resque-web"].map(|p| format!("{p}-{VERSION}"))
    );

    let core = manifest(&unpacked, "resque-rs");
    assert!(section(&core, "package").contains("\nname = \"resque-rs\"\n"), "{core}");
    // Code goes on writing `use resque::...` and `#[resque::job]`.
    assert!(section(&core, "lib").contains("\nname = \"resque\"\n"), "{core}");

    for dependent in ["resque-cli", "resque-web"] {
        let text = manifest(&unpacked, dependent);
        let dep = section(&text, "dependencies.resque");
        assert!(dep.contains("package = \"resque-rs\""), "{dependent}: {dep}");
        assert!(dep.contains(&format!("version = \"={VERSION}\"")), "{dependent}: {dep}");
        assert!(!dep.contains("path ="), "{dependent}: a published dependency has no path: {dep}");
        assert!(!text.contains("resque-tests"), "{dependent} names the unpublished test harness:\n{text}");
    }
    let cli = manifest(&unpacked, "resque-cli");
    let web = section(&cli, "dependencies.resque-web");
    assert!(web.contains(&format!("version = \"={VERSION}\"")) && web.contains("optional = true"), "{web}");

    // Every script and asset a crate compiles in travels with it.
    let mut found = Vec::new();
    for package in ["resque-rs", "resque-web"] {
        includes(&unpacked.join(format!("{package}-{VERSION}/src")), &mut found);
    }
    assert!(found.len() >= 12, "only {} include_str! found: {found:?}", found.len());
    for (file, included) in &found {
        assert!(
            included.is_file(),
            "{} includes {}, which is not in the package",
            file.display(),
            included.display()
        );
    }
}
