//! End-to-end tests of the `unclosed` binary: exit codes, discovery, and
//! per-file errors that never stop the run.

mod common;

use common::{check_concise, stdout_text, unclosed, write};
use predicates::prelude::*;
use std::fs;
use std::path::Path;

const LEAKY: &str = "def load(path):\n    f = open(path)\n    data = f.read()\n    return data\n";
const SAFE: &str = "def load(path):\n    with open(path) as f:\n        return f.read()\n";

#[test]
fn clean_code_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "safe.py", SAFE);
    unclosed()
        .args(["check", "--output-format", "concise"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn findings_exit_1_with_concise_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "leaky.py", LEAKY);
    check_concise(dir.path(), &["leaky.py"]).code(1).stdout(
        "leaky.py:2:9: UC001 file from `open()` is not released when `load` returns (line 4)\n",
    );
}

#[test]
fn usage_error_exits_2() {
    unclosed()
        .args(["check", "--output-format", "yaml"])
        .assert()
        .code(2);
    unclosed().arg("frobnicate").assert().code(2);
}

#[test]
fn missing_path_exits_2_and_still_checks_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "leaky.py", LEAKY);
    check_concise(dir.path(), &["leaky.py", "missing.py"])
        .code(2)
        .stdout(predicate::str::contains("leaky.py:2:9: UC001"))
        .stderr(predicate::str::contains(
            "missing.py: error: no such file or directory",
        ));
}

#[test]
fn directory_walk_honours_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".gitignore", "generated/\n");
    write(dir.path(), "app/leaky.py", LEAKY);
    write(dir.path(), "generated/leaky.py", LEAKY);
    write(dir.path(), ".venv/lib/leaky.py", LEAKY);
    write(dir.path(), "notes.txt", LEAKY);
    check_concise(dir.path(), &["."]).code(1).stdout(
        "app/leaky.py:2:9: UC001 file from `open()` is not released when `load` returns (line 4)\n",
    );
}

#[test]
fn syntax_error_next_to_a_leak_still_reports_the_leak() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.py", "def broken(:\n    return 1\n");
    let mixed = format!("{LEAKY}\n\ndef also_broken(x:\n    pass\n");
    write(dir.path(), "mixed.py", &mixed);
    write(dir.path(), "leaky.py", LEAKY);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(predicate::str::contains("leaky.py:2:9: UC001"))
        .stdout(predicate::str::contains("mixed.py:2:9: UC001"))
        .stderr(predicate::str::contains("broken.py"))
        .stderr(predicate::str::contains("warning"));
}

#[test]
fn deeply_nested_expression_does_not_crash() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!(
        "def build(path):\n    shape = {}{}\n    f = open(path)\n    return shape\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    write(dir.path(), "deep.py", &deep);
    let deep_list = format!(
        "def nested():\n    return {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    write(dir.path(), "deep_list.py", &deep_list);
    let chain = format!(
        "def chain(p):\n    return settings{}.open(p)\n",
        ".child".repeat(50_000)
    );
    write(dir.path(), "long_chain.py", &chain);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(predicate::str::contains("deep.py:3:9: UC001"));
}

#[test]
fn deeply_nested_blocks_are_reported_not_crashed_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = String::from("def f(p):\n");
    for depth in 1..=300 {
        src.push_str(&format!("{}if p:\n", "    ".repeat(depth)));
    }
    src.push_str(&format!("{}h = open(p)\n", "    ".repeat(301)));
    write(dir.path(), "nested.py", &src);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "nested.py"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("nested too deeply"));
}

#[test]
fn undecodable_and_binary_files_are_errors_but_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("latin.py"), b"x = '\xe9'\n").unwrap();
    fs::write(dir.path().join("binary.py"), b"\x7fELF\x00\x00\x01").unwrap();
    fs::write(
        dir.path().join("declared.py"),
        b"# -*- coding: latin-1 -*-\ndef f(p):\n    s = '\xe9'\n    return open(p).read()\n",
    )
    .unwrap();
    write(dir.path(), "leaky.py", LEAKY);
    check_concise(dir.path(), &["."])
        .code(2)
        .stdout(predicate::str::contains("leaky.py:2:9: UC001"))
        .stdout(predicate::str::contains("declared.py:4:12: UC005"))
        .stderr(predicate::str::contains(
            "latin.py: error: is not valid UTF-8",
        ))
        .stderr(predicate::str::contains(
            "binary.py: error: contains a NUL byte",
        ));
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_an_error_but_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secret.py", SAFE);
    write(dir.path(), "leaky.py", LEAKY);
    let secret = dir.path().join("secret.py");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&secret).is_ok() {
        return; // running as root: permissions do not apply
    }
    check_concise(dir.path(), &["."])
        .code(2)
        .stdout(predicate::str::contains("leaky.py:2:9: UC001"))
        .stderr(predicate::str::contains("secret.py: error: cannot be read"));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let run = |threads: &str| {
        unclosed()
            .current_dir(&fixtures)
            .args([
                "check",
                "--output-format",
                "full",
                "--threads",
                threads,
                ".",
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let one = run("1");
    let four = run("4");
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(one.stdout, four.stdout);
    assert_eq!(one.stderr, four.stderr);
}

#[test]
fn incident_fixtures_show_the_leaks_and_not_the_postmortem_snippet() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let out = check_concise(&fixtures, &["incident"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("postmortem_snippet.py"), "{out}");
    for code in ["UC001", "UC003", "UC004"] {
        assert!(out.contains(code), "{code} missing from:\n{out}");
    }
}

#[test]
fn module_level_code_is_analysed_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "settings.py",
        "import sqlite3\n\nCACHE = sqlite3.connect('cache.db')\nrows = CACHE.execute('select 1').fetchall()\n",
    );
    check_concise(dir.path(), &["settings.py"]).code(0);
    check_concise(dir.path(), &["--include-module-level", "settings.py"])
        .code(1)
        .stdout(predicate::str::contains("settings.py:3:9: UC001"));
}

#[test]
fn a_closed_pipe_keeps_the_exit_status_of_the_findings() {
    use std::process::{Command as Std, Stdio};
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    // The full report on the fixtures is far larger than a pipe's buffer, so
    // the write fails once the reader is gone.
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("unclosed"))
        .env("UNCLOSED_NO_CACHE", "1")
        .current_dir(&fixtures)
        .args(["check", "--output-format", "full", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    // `unclosed check | head` in a gate must still fail on leaks.
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

#[test]
fn piped_output_defaults_to_concise() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "leaky.py", LEAKY);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "leaky.py"])
        .assert()
        .code(1)
        .stdout(
            "leaky.py:2:9: UC001 file from `open()` is not released when `load` returns (line 4)\n",
        );
}

const TWO_CODES: &str =
    "def f(p):\n    x = open(p)\n    return 1\n\n\ndef g(p):\n    return open(p).read()\n";

/// ruff's selection options on the command line, over the configuration:
/// `--select` replaces, `--extend-select`/`--ignore` add, `--exclude`
/// (a bare directory name matches it anywhere) and `--per-file-ignores`.
#[test]
fn ruff_style_selection_options_override_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.unclosed]\nselect = [\"UC005\"]\n",
    );
    write(dir.path(), "app/core.py", TWO_CODES);
    write(dir.path(), "app/migrations/m1.py", TWO_CODES);
    write(dir.path(), "app/legacy.py", TWO_CODES);
    let run = |args: &[&str]| {
        stdout_text(
            unclosed()
                .current_dir(dir.path())
                .args(["check", "--output-format", "concise"])
                .args(args)
                .arg(".")
                .assert(),
        )
    };
    let codes = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| {
                let (path, rest) = l.split_once(':').unwrap();
                let code = rest.split_whitespace().nth(1).unwrap();
                format!("{path} {code}")
            })
            .collect()
    };
    assert_eq!(
        codes(&run(&[])),
        [
            "app/core.py UC005",
            "app/legacy.py UC005",
            "app/migrations/m1.py UC005"
        ]
    );
    assert_eq!(
        codes(&run(&["--select", "UC001", "--exclude", "migrations"])),
        ["app/core.py UC001", "app/legacy.py UC001"]
    );
    assert_eq!(
        codes(&run(&[
            "--extend-select",
            "UC001",
            "--ignore",
            "UC005",
            "--extend-exclude",
            "app/migrations/*.py",
            "--per-file-ignores",
            "app/legacy.py:UC001",
        ])),
        ["app/core.py UC001"]
    );
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--select", "UC999", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`UC999` is not a code"));
}

/// `check -` reads standard input; `--statistics` speaks JSON when asked.
#[test]
fn stdin_by_dash_and_statistics_as_json() {
    unclosed()
        .args(["check", "--output-format", "concise", "-"])
        .write_stdin(TWO_CODES)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("-:2:9: UC001"));
    let out = unclosed()
        .args(["check", "--statistics", "--output-format", "json", "-"])
        .write_stdin(TWO_CODES)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let counts: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        counts,
        serde_json::json!([
            {"code": "UC001", "name": "unreleased-on-return", "count": 1},
            {"code": "UC005", "name": "resource-discarded", "count": 1},
        ])
    );
}

/// `--color always` colours even a pipe; `auto` does when FORCE_COLOR is set.
#[test]
fn color_can_be_forced() {
    for (args, env) in [(&["--color", "always"][..], None), (&[][..], Some("1"))] {
        let mut command = unclosed();
        command
            .args(["check", "--output-format", "full"])
            .args(args)
            .arg("-");
        if let Some(value) = env {
            command.env("FORCE_COLOR", value);
        }
        command
            .write_stdin(TWO_CODES)
            .assert()
            .code(1)
            .stdout(predicate::str::contains("\u{1b}["));
    }
    unclosed()
        .args(["check", "--output-format", "full", "--color", "never", "-"])
        .env("FORCE_COLOR", "1")
        .write_stdin(TWO_CODES)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\u{1b}[").not());
}

/// The documentation works offline, by code, by name, or all of it.
#[test]
fn rule_documentation_by_code_by_name_and_all() {
    for id in ["UC004", "uc004", "unreleased-on-cancellation"] {
        unclosed()
            .args(["rule", id])
            .assert()
            .success()
            .stdout(predicate::str::starts_with(
                "**UC004 unreleased-on-cancellation**",
            ));
    }
    let all = unclosed()
        .args(["rule", "--all"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let all = String::from_utf8(all).unwrap();
    for code in [
        "UC001", "UC002", "UC003", "UC004", "UC005", "UC006", "UC007", "UC008",
    ] {
        assert!(all.contains(&format!("**{code} ")), "{code}");
    }
}

/// The formats a code host reads name files from the repository root,
/// whatever directory the tool runs from and however the path was given;
/// a baseline written in one directory matches a run from another.
#[test]
fn code_host_formats_and_baselines_use_repository_paths() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(&repo, "services/pay/app.py", LEAKY);
    let pay = repo.join("services/pay");
    let stdout =
        |cwd: &Path, args: &[&str]| stdout_text(unclosed().current_dir(cwd).args(args).assert());
    let sarif = stdout(&pay, &["check", "--output-format", "sarif", "."]);
    assert!(
        sarif.contains("\"uri\": \"services/pay/app.py\""),
        "{sarif}"
    );
    let absolute = pay.join("app.py").display().to_string();
    let github = stdout(
        dir.path(),
        &["check", "--output-format", "github", &absolute],
    );
    assert!(github.contains("file=services/pay/app.py,"), "{github}");
    assert!(!github.contains(&absolute), "{github}");

    let baseline = dir.path().join("baseline.json");
    unclosed()
        .current_dir(&pay)
        .args(["check", "--write-baseline"])
        .arg(&baseline)
        .arg(".")
        .assert()
        .success();
    unclosed()
        .current_dir(&repo)
        .args(["check", "--output-format", "concise", "--baseline"])
        .arg(&baseline)
        .arg("services")
        .assert()
        .code(0)
        .stdout("");
}

/// With a baseline, the run says how many findings it hid and which of its
/// entries now match nothing (fixed leaks), until `--write-baseline` prunes
/// them.
#[test]
fn a_baseline_reports_what_it_hid_and_what_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.py", TWO_CODES);
    let baseline = dir.path().join("baseline.json");
    let write_baseline = || {
        unclosed()
            .current_dir(dir.path())
            .args(["check", "--write-baseline"])
            .arg(&baseline)
            .arg("app.py")
            .assert()
            .success();
    };
    let with_baseline = || {
        unclosed()
            .current_dir(dir.path())
            .args(["check", "--output-format", "concise", "--baseline"])
            .arg(&baseline)
            .arg("app.py")
            .assert()
            .code(0)
    };
    write_baseline();
    with_baseline()
        .stderr(predicate::str::contains(
            "the baseline hid 2 known finding(s)",
        ))
        .stderr(predicate::str::contains("match nothing").not());
    // One leak fixed: its entry is stale, until the baseline is written again.
    write(
        dir.path(),
        "app.py",
        &TWO_CODES.replace("    return open(p).read()", "    return 1"),
    );
    with_baseline().stderr(predicate::str::contains(
        "hid 1 known finding(s); 1 of its entries match nothing any more",
    ));
    write_baseline();
    with_baseline().stderr(predicate::str::contains("match nothing").not());
}
