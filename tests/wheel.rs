//! The Python package (issue 10): `maturin build` makes a wheel that
//! carries the binary, and a virtualenv with only that wheel installed runs
//! `unclosed` on real code. Needs network (maturin from PyPI) and a release
//! build, so it is ignored by `cargo test`; `.ci/run` runs it.

mod common;

use common::ok;
use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs network and a release build; run by .ci/run"]
fn the_wheel_installs_a_working_unclosed() {
    let this_repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let build_env = tmp.path().join("build-venv");
    ok(Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&build_env));
    ok(Command::new(build_env.join("bin/pip")).args(["install", "--quiet", "maturin>=1.5,<2"]));
    let wheels = tmp.path().join("wheels");
    ok(Command::new(build_env.join("bin/maturin"))
        .current_dir(this_repo)
        .args(["build", "--release", "--locked", "--out"])
        .arg(&wheels));
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("a wheel was built");

    // A fresh virtualenv with nothing but the wheel: no Rust involved.
    let user_env = tmp.path().join("user-venv");
    ok(Command::new("python3").arg("-m").arg("venv").arg(&user_env));
    ok(Command::new(user_env.join("bin/pip"))
        .args(["install", "--quiet", "--no-deps"])
        .arg(&wheel));
    let version = ok(Command::new(user_env.join("bin/unclosed")).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("unclosed {}", env!("CARGO_PKG_VERSION"))
    );
    let check = Command::new(user_env.join("bin/unclosed"))
        .current_dir(this_repo.join("fixtures/incident"))
        .env("UNCLOSED_NO_CACHE", "1")
        .args(["check", "--output-format", "concise", "."])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("UC003"));
}
