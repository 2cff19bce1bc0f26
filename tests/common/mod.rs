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
