//! The pre-commit hook, for real: installs `pre-commit` from PyPI into a
//! throwaway virtualenv, makes a git repository that uses this repository
//! (at its HEAD commit) as the hook source, and checks that a commit of a
//! leaking file is refused with the finding shown, and a fixed one accepted.
//!
//! It needs network access and builds the tool once more (about a minute on
//! two cores), so it is ignored by `cargo test`; `.ci/run` runs it with
//! `cargo test --locked --test precommit -- --ignored`. Uncommitted changes to
//! this repository are not seen: pre-commit installs the committed HEAD.

mod common;

use common::ok;
use std::path::Path;
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir).args([
        "-c",
        "user.name=CI",
        "-c",
        "user.email=ci@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]);
    cmd
}

#[test]
#[ignore = "needs network and a release build; run by .ci/run"]
fn commit_of_a_leak_is_refused_by_the_hook() {
    let this_repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let head = ok(git(this_repo).args(["rev-parse", "HEAD"])).stdout;
    let head = String::from_utf8(head).unwrap().trim().to_string();

    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    ok(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "pre-commit"]));

    let work = tmp.path().join("service");
    std::fs::create_dir(&work).unwrap();
    ok(git(&work).args(["init", "--quiet"]));
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {head}\n    hooks:\n      - id: unclosed\n",
        this_repo.display()
    );
    std::fs::write(work.join(".pre-commit-config.yaml"), config).unwrap();
    std::fs::write(
        work.join("billing.py"),
        "def load(path):\n    f = open(path)\n    return f.read()\n",
    )
    .unwrap();
    let home = tmp.path().join("pre-commit-home");
    ok(Command::new(venv.join("bin/pre-commit"))
        .arg("install")
        .current_dir(&work)
        .env("PRE_COMMIT_HOME", &home));
    ok(git(&work).args(["add", "."]));

    let refused = run(git(&work)
        .args(["commit", "-m", "add billing loader"])
        .env("PRE_COMMIT_HOME", &home));
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !refused.status.success(),
        "the commit went through:\n{shown}"
    );
    assert!(
        shown.contains(
            "billing.py:2:9: UC001 file from `open()` is not released when `load` returns"
        ),
        "{shown}"
    );
    // The total, and how to see the path and to suppress.
    assert!(
        shown.contains("unclosed: 1 leak in 1 file. The path of each: unclosed check --output-format full billing.py"),
        "{shown}"
    );
    assert!(shown.contains("# noqa: UC001"), "{shown}");

    std::fs::write(
        work.join("billing.py"),
        "def load(path):\n    with open(path) as f:\n        return f.read()\n",
    )
    .unwrap();
    ok(git(&work).args(["add", "."]));
    ok(git(&work)
        .args(["commit", "-m", "add billing loader"])
        .env("PRE_COMMIT_HOME", &home));
}
