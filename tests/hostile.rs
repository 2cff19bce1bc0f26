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

const LEAKY: &str = "def load(path):\n    f = open(path)\n    return f.read()\n";

/// Runs `check` on `project/` and returns the assertion, for a project whose
/// committed config is hostile.
fn check_project(root: &std::path::Path) -> assert_cmd::assert::Assert {
    unclosed()
        .current_dir(root)
        .args(["check", "--output-format", "concise", "project"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
}

/// A committed config that is a symlink out of the project is refused, and
/// what it points at is never read or quoted.
#[cfg(unix)]
#[test]
fn a_config_symlinked_out_of_the_project_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "outside.toml",
        "select = [\"TOP_SECRET_VALUE\"]\n",
    );
    write(dir.path(), "project/app.py", LEAKY);
    std::os::unix::fs::symlink(
        dir.path().join("outside.toml"),
        dir.path().join("project/.unclosed.toml"),
    )
    .unwrap();
    check_project(dir.path())
        .code(2)
        .stderr(predicate::str::contains("symlink pointing"))
        .stderr(predicate::str::contains("TOP_SECRET_VALUE").not());
}

/// `extend-rules` may not climb out of the project, absolute or relative.
#[test]
fn extend_rules_outside_the_project_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secret.toml", "TOP_SECRET_VALUE = 1\n");
    write(dir.path(), "project/app.py", LEAKY);
    let absolute = dir.path().join("secret.toml");
    for entry in ["../secret.toml".to_string(), absolute.display().to_string()] {
        let config = format!("extend-rules = [{:?}]\n", entry);
        write(dir.path(), "project/.unclosed.toml", &config);
        check_project(dir.path())
            .code(2)
            .stderr(predicate::str::contains("outside the"))
            .stderr(predicate::str::contains("TOP_SECRET_VALUE").not());
    }
}

/// A FIFO or a device where the config should be must not block the run or
/// grow memory: it is refused at once.
#[cfg(unix)]
#[test]
fn a_config_that_is_a_fifo_or_a_device_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "project/app.py", LEAKY);
    let config = dir.path().join("project/.unclosed.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&config)
        .status()
        .unwrap();
    assert!(made.success());
    check_project(dir.path())
        .code(2)
        .stderr(predicate::str::contains("is not a regular file"));
    std::fs::remove_file(&config).unwrap();
    // A device inside the project (a symlink to one would be refused as
    // pointing out of it): stand-in, a directory by that name.
    std::fs::create_dir(&config).unwrap();
    check_project(dir.path())
        .code(2)
        .stderr(predicate::str::contains("is not a regular file"));
}

/// A config file of megabytes is refused rather than parsed.
#[test]
fn an_oversized_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "project/app.py", LEAKY);
    let padding = "# padding\n".repeat(200_000);
    write(dir.path(), "project/.unclosed.toml", &padding);
    check_project(dir.path())
        .code(2)
        .stderr(predicate::str::contains("is larger than 1024 KiB"));
}

/// `--output-file` on a device or a pipe writes to it: renaming a report
/// over `/dev/null` (as root) had made it a regular file for every program
/// on the machine. Checked on a FIFO, which a script may read the report
/// from.
#[cfg(unix)]
#[test]
fn output_file_on_a_pipe_writes_to_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.py", LEAKY);
    let fifo = dir.path().join("report.pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "json", "--output-file"])
        .arg(&fifo)
        .arg("app.py")
        .assert()
        .code(1);
    // Checked before waiting for the reader, which a replaced pipe would
    // leave blocked.
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
    assert!(reader.join().unwrap().contains("\"UC001\""));
}

/// `--output-file` replaces the file as a whole, and a symlink planted at
/// that path is replaced, never written through.
#[cfg(unix)]
#[test]
fn output_file_replaces_a_planted_symlink_instead_of_following_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "project/app.py", LEAKY);
    write(dir.path(), "victim.txt", "precious\n");
    std::os::unix::fs::symlink(
        dir.path().join("victim.txt"),
        dir.path().join("project/report.json"),
    )
    .unwrap();
    unclosed()
        .current_dir(dir.path().join("project"))
        .args([
            "check",
            "--output-format",
            "json",
            "--output-file",
            "report.json",
            "app.py",
        ])
        .assert()
        .code(1);
    let victim = std::fs::read_to_string(dir.path().join("victim.txt")).unwrap();
    assert_eq!(victim, "precious\n");
    let report = dir.path().join("project/report.json");
    assert!(!report.is_symlink());
    assert!(
        std::fs::read_to_string(report)
            .unwrap()
            .contains("\"UC001\"")
    );
    // Nothing left behind from the write.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("project"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// A file that cannot be checked is named on stderr in every format, and a
/// machine format on stdout stays parseable.
#[test]
fn machine_formats_on_stdout_still_report_unreadable_files_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.py", LEAKY);
    std::fs::write(dir.path().join("latin.py"), b"x = '\xff\xfe'\n").unwrap();
    for format in ["json-lines", "gitlab"] {
        unclosed()
            .current_dir(dir.path())
            .args(["check", "--output-format", format, "app.py", "latin.py"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("latin.py"));
    }
}

/// A gate that checked nothing is not green: no Python file under the
/// paths given is an error, not "no leaks".
#[test]
fn no_python_files_under_the_paths_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/index.md", "# nothing to check\n");
    unclosed()
        .current_dir(dir.path())
        .args(["check", "docs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no Python files found under docs: nothing was checked",
        ));
}

/// Dot-directories are project code (CI scripts in `.evergreen/`), except
/// ruff's default exclusions (`.venv`, `.tox`, `dist`, ...).
#[test]
fn dot_directories_are_walked_except_the_default_exclusions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "repo/.evergreen/run_server.py", LEAKY);
    write(dir.path(), "repo/.venv/lib/vendored.py", LEAKY);
    write(dir.path(), "repo/dist/built.py", LEAKY);
    write(dir.path(), "repo/.tox/py312/tool.py", LEAKY);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "repo"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "repo/.evergreen/run_server.py:2:9: UC001",
        ))
        .stdout(predicate::str::contains("vendored").not())
        .stdout(predicate::str::contains("built").not())
        .stdout(predicate::str::contains("tool.py").not());
}

/// A function of thousands of acquisitions is followed up to a budget, the
/// rest said in a warning rather than followed (following each to the end
/// of the function made the work grow with the square of its size).
#[test]
fn a_function_of_thousands_of_acquisitions_is_analysed_in_part_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = String::from("def open_all(paths):\n");
    for i in 0..3000 {
        source.push_str(&format!("    f{i} = open(paths[{i}])\n"));
    }
    source.push_str("    return 1\n");
    write(dir.path(), "generated.py", &source);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "generated.py"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "generated.py:2:10: UC001 file from `open()` is not released when `open_all` returns",
        ))
        .stderr(predicate::str::contains(
            "generated.py:1: warning: `open_all` was analysed in part",
        ));
}

/// A source file past the size cap is named as not checked (exit 2), and
/// the other files are checked as usual.
#[test]
fn an_oversized_source_file_is_not_checked_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.py", LEAKY);
    let line = "# generated padding\n";
    let huge = line.repeat((16 * 1024 * 1024) / line.len() + 1);
    write(dir.path(), "generated.py", &huge);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "."])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("app.py:2:9: UC001"))
        .stderr(predicate::str::contains("generated.py"))
        .stderr(predicate::str::contains("is larger than 16 MiB"));
}

/// Old Mac line endings (a lone `\r`) end lines, as CPython reads them.
#[test]
fn lone_carriage_returns_end_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mac.py"),
        "def load(path):\r    f = open(path)\r    return f.read()\r",
    )
    .unwrap();
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "mac.py"])
        .assert()
        .code(1)
        .stdout(
            "mac.py:2:9: UC001 file from `open()` is not released when `load` returns (line 3)\n",
        );
}

/// Standard input goes through the same checks as a file: its coding line
/// is honoured, and bytes that are not source are an error (exit 2).
#[test]
fn standard_input_is_decoded_like_a_file() {
    let cp850 = b"# -*- coding: cp850 -*-\ndef load(path):\n    f = open(path)  # \x82\n    return f.read()\n";
    unclosed()
        .args([
            "check",
            "--output-format",
            "concise",
            "--stdin-filename",
            "in.py",
            "-",
        ])
        .write_stdin(cp850.to_vec())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("in.py:3:9: UC001"));
    unclosed()
        .args([
            "check",
            "--output-format",
            "concise",
            "--stdin-filename",
            "in.py",
            "-",
        ])
        .write_stdin(b"x = 1\0".to_vec())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "in.py: error: contains a NUL byte",
        ));
}

/// A file name with a newline, and source with a raw terminal escape, can
/// neither forge a report line nor reach the terminal.
#[cfg(unix)]
#[test]
fn control_characters_in_names_and_source_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let forged = "x.py\nfake.py:1:1: UC001 all clear.py";
    std::fs::write(dir.path().join(forged), LEAKY).unwrap();
    let out = unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "."])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("x.py\\nfake.py:1:1: UC001 all clear.py:2:9: UC001"),
        "{out}"
    );

    let escape = "def load(path, mode):\n    f = open(path)\n    if mode == \"\u{1b}[2J\":\n        return None\n    f.close()\n";
    write(dir.path(), "sub/term.py", escape);
    let full = unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "full", "sub/term.py"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let full = String::from_utf8(full).unwrap();
    assert!(!full.contains('\u{1b}'), "{full}");
    assert!(full.contains("if mode == \"?[2J\":"), "{full}");
}

/// A repository's configured resource may not put control characters in
/// what messages quote.
#[test]
fn configured_strings_with_control_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "project/app.py", LEAKY);
    write(
        dir.path(),
        "project/.unclosed.toml",
        "[[resource]]\nid = \"pool\"\nname = \"pool\"\nnoun = \"conn\\u001b[2J\"\nsummary = \"s\"\nacquire = { methods = [\"checkout\"] }\nrelease = { receiver-methods = [\"checkin\"] }\n",
    );
    check_project(dir.path())
        .code(2)
        .stderr(predicate::str::contains("holds a control"));
}

/// A `.gitignore` above the project (a home or workspace directory with
/// `*`) does not empty the walk; one inside the project, above the walked
/// directory, still applies.
#[test]
fn ignore_files_outside_the_project_do_not_empty_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".gitignore", "*\n");
    write(dir.path(), "work/plain/app.py", LEAKY);
    std::fs::create_dir_all(dir.path().join("work/repo/.git")).unwrap();
    write(dir.path(), "work/repo/.gitignore", "generated/\n");
    write(dir.path(), "work/repo/src/app.py", LEAKY);
    write(dir.path(), "work/repo/src/generated/models.py", LEAKY);
    unclosed()
        .current_dir(dir.path().join("work"))
        .args(["check", "--output-format", "concise", "plain", "repo/src"])
        .assert()
        .code(1)
        .stdout(
            "plain/app.py:2:9: UC001 file from `open()` is not released when `load` returns (line 3)\n\
             repo/src/app.py:2:9: UC001 file from `open()` is not released when `load` returns (line 3)\n",
        );
}

/// Code the analysis could not read in full is counted in the summary, and
/// `--strict` fails the run on it (exit 2).
#[test]
fn strict_fails_on_code_not_fully_analysed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "broken.py",
        "def load(path):\n    f = open(path)\n    return f.read(\n\n\ndef fine():\n    return 1\n",
    );
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "full", "broken.py"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "1 part(s) of the code were not fully analysed",
        ));
    unclosed()
        .current_dir(dir.path())
        .args([
            "check",
            "--output-format",
            "concise",
            "--strict",
            "broken.py",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "were not fully analysed (--strict",
        ));
}

/// A leak whose path spans a long function shows the lines of the path,
/// in separate snippets, not every line between them.
#[test]
fn full_output_of_a_long_function_shows_only_the_lines_of_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = String::from("def export(path, rows):\n    out = open(path, \"w\")\n");
    for i in 0..80 {
        source.push_str(&format!("    total_{i} = len(rows) + {i}\n"));
    }
    source.push_str("    if not rows:\n        return None\n    out.close()\n");
    write(dir.path(), "long.py", &source);
    let out = unclosed()
        .current_dir(dir.path())
        .args([
            "check",
            "--output-format",
            "full",
            "--color",
            "never",
            "long.py",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("out = open(path, \"w\")"), "{out}");
    assert!(out.contains("return None"), "{out}");
    assert!(
        !out.contains("total_40"),
        "the middle of the function is not shown:\n{out}"
    );
    assert!(out.lines().count() < 40, "{out}");
}

/// A chain of thousands of aliases, written from the last to the first,
/// still leads from the acquisition to the release that is missing (and
/// the one that is not).
#[test]
fn a_long_reversed_alias_chain_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3000;
    let mut leaky = format!("def leaky(p):\n    a{n} = open(p)\n");
    for i in (1..=n).rev() {
        leaky.push_str(&format!("    a{} = a{i}\n", i - 1));
    }
    leaky.push_str("    return a0.read()\n");
    let safe = leaky.replace("def leaky", "def safe").replace(
        "    return a0.read()\n",
        "    try:\n        return a0.read()\n    finally:\n        a0.close()\n",
    );
    write(dir.path(), "aliases.py", &format!("{leaky}\n\n{safe}"));
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "aliases.py"])
        .assert()
        .code(1)
        .stdout(format!(
            "aliases.py:2:{}: UC001 file from `open()` is not released when `leaky` returns (line {})\n",
            9 + n.to_string().len(),
            n + 3
        ));
}
