//! Helpers shared by the integration tests. Each test crate uses a subset.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;

/// The official schema, compiled so that it can never reach the network: the
/// crate is built without its HTTP resolver (`default-features = false`) and
/// `offline()` refuses any reference outside the document. The schema's own
/// `$schema` (draft-04's meta-schema) and `id` are handled in memory.
pub fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
    )
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft4::options()
        .offline()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles offline")
}

pub fn assert_valid_sarif(log: &str) -> Value {
    let value: Value = serde_json::from_str(log).expect("SARIF is JSON");
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
    value
}

/// The binary, without the cache of earlier runs (a test that wants it
/// removes `UNCLOSED_NO_CACHE` and names its own `--cache-dir`).
pub fn unclosed() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("unclosed").unwrap();
    command.env("UNCLOSED_NO_CACHE", "1");
    command
}

pub fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `unclosed check --output-format concise ARGS...`, run in `dir`.
pub fn check_concise(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    unclosed()
        .current_dir(dir)
        .args(["check", "--output-format", "concise"])
        .args(args)
        .assert()
}

/// Writes `text` to `dir/name`, creating directories.
pub fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A temporary directory holding these files.
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    dir
}

/// Three repositories under `root` for the audit: one leaking (in
/// production and in tests), one clean, one without Python.
#[allow(dead_code)] // not every test binary audits
pub fn audit_roots(root: &Path) {
    for repo in ["svc-pay", "svc-clean", "docs-only"] {
        std::fs::create_dir_all(root.join(repo).join(".git")).unwrap();
    }
    write(
        root,
        "svc-pay/app.py",
        "import socket\n\n\ndef f(p):\n    x = open(p)\n    return 1\n\n\ndef g(h):\n    s = socket.create_connection(h)\n    s.sendall(b\"x\")\n    s.close()\n",
    );
    write(
        root,
        "svc-pay/tests/test_app.py",
        "def test_x(p):\n    f = open(p)\n    assert f.read()\n",
    );
    write(
        root,
        "svc-clean/lib.py",
        "def ok(p):\n    with open(p) as f:\n        return f.read()\n",
    );
    write(root, "docs-only/README.md", "docs\n");
}

/// Runs a command that must succeed, and returns its output.
#[allow(dead_code)]
pub fn ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The standard output of a finished run, as text.
pub fn stdout_text(assert: assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}
