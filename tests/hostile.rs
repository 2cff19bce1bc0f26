//! Hostile and pathological input (issue 9): files and comments built to
//! crash the tool, slow it down or forge its output. Each case runs the
//! binary as a user would.

mod common;

use common::{unclosed, write};
use predicates::prelude::*;

/// A leak past column 65,535 (minified or generated code): drawing it made
/// the formatter panic and the whole run's output was lost.
#[test]
fn full_output_of_a_finding_past_column_65535_lists_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let padding = "x = 1; ".repeat(10_000);
    let source = format!("def load(path):\n    {padding}f = open(path)\n    return 1\n");
    write(dir.path(), "minified.py", &source);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "full", "minified.py"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "minified.py:2:70009: UC001 file from `open()`",
        ))
        .stdout(predicate::str::contains("  [2] 3:5: returns here"))
        .stdout(predicate::str::contains("Found 1 leak in 1 file"));
}

/// `noqa` is a directive only where ruff reads one: `#`, blanks, the word.
#[test]
fn noqa_in_prose_suppresses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = "\
def prose(path):
    f = open(path)  # TODO: do not add a noqa here
    return f.read()


def directive(path):
    f = open(path)  # NOQA: uc001
    return f.read()
";
    write(dir.path(), "comments.py", source);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "comments.py"])
        .assert()
        .code(1)
        .stdout(
            "comments.py:2:9: UC001 file from `open()` is not released when `prose` returns (line 3)\n",
        );
}
