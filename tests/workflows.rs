//! The three workflows end to end: every output format on the fixtures,
//! suppressions, baselines, and the options pre-commit hooks and CI gates use.

mod common;

use common::{check_concise, fixtures, project, unclosed};
use predicates::prelude::*;
use std::fs;
use unclosed::config::{CodeKind, code_kind};

fn stdout_of(args: &[&str]) -> String {
    let out = unclosed()
        .current_dir(fixtures())
        .args(args)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn expected_count() -> usize {
    let mut n = 0;
    let mut stack = vec![fixtures()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py")
                // Test and example code is not checked by default.
                && code_kind(path.strip_prefix(fixtures()).unwrap()) == CodeKind::Production
            {
                n += fs::read_to_string(&path)
                    .unwrap()
                    .matches("# expect:")
                    .count();
            }
        }
    }
    n
}

#[test]
fn every_format_reports_every_fixture_finding() {
    let n = expected_count();
    let concise = stdout_of(&["check", "--output-format", "concise", "."]);
    assert_eq!(concise.lines().count(), n);

    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["check", "--output-format", "json", "."])).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), n);

    let lines = stdout_of(&["check", "--output-format", "json-lines", "."]);
    assert_eq!(lines.lines().count(), n);
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["steps"].as_array().is_some_and(|s| !s.is_empty()));
    }

    // At SARIF's level: errors, and warnings for exception paths.
    let github = stdout_of(&["check", "--output-format", "github", "."]);
    assert_eq!(
        github
            .lines()
            .filter(|l| l.starts_with("::error file=") || l.starts_with("::warning file="))
            .filter(|l| l.contains(",line="))
            .count(),
        n
    );
    assert!(
        github
            .lines()
            .any(|l| l.starts_with("::warning file=") && l.contains("title=UC002"))
    );
    assert!(
        github
            .lines()
            .any(|l| l.starts_with("::error file=") && l.contains("title=UC001"))
    );

    let sarif = common::assert_valid_sarif(&stdout_of(&["check", "--output-format", "sarif", "."]));
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), n);

    let gitlab: serde_json::Value =
        serde_json::from_str(&stdout_of(&["check", "--output-format", "gitlab", "."])).unwrap();
    let issues = gitlab.as_array().unwrap();
    assert_eq!(issues.len(), n);
    let mut prints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), n, "GitLab fingerprints are unique");

    let full = stdout_of(&["check", "--output-format", "full", "."]);
    assert!(full.contains(&format!("Found {n} leaks")), "{full}");
}

#[test]
fn output_file_takes_the_report_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("unclosed.sarif");
    unclosed()
        .current_dir(fixtures())
        .args(["check", "--output-format", "sarif", "--output-file"])
        .arg(&report)
        .arg("incident")
        .assert()
        .code(1)
        .stdout("");
    let sarif = common::assert_valid_sarif(&fs::read_to_string(report).unwrap());
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn suppressions_silence_findings_and_unused_ones_are_reported() {
    let dir = project(&[(
        "app.py",
        "def a(p):\n    f = open(p)  # noqa: UC001\n    return f.read()\n\n\
         def b(p):\n    f = open(p)  # unclosed: ignore[UC001]\n    return f.read()\n\n\
         def c(p):\n    return open(p).read()  # noqa\n\n\
         def d(p):\n    f = open(p)  # noqa: UC005, E501\n    return f.read()\n\n\
         def e(p):\n    with open(p) as f:  # unclosed: ignore[UC009]\n        return f.read()\n",
    )]);
    check_concise(dir.path(), &["app.py"])
        .code(1)
        .stdout(
            "app.py:13:9: UC001 file from `open()` is not released when `d` returns (line 14)\n",
        )
        .stderr(predicate::str::contains(
            "app.py:13: warning: unused suppression of UC005",
        ))
        .stderr(predicate::str::contains(
            "app.py:17: warning: `# unclosed: ignore[UC009]` names `UC009`",
        ));
    check_concise(
        dir.path(),
        &["--warn-unused-suppressions", "false", "app.py"],
    )
    .code(1)
    .stderr("");
}

const LEDGER: &str = "import sqlite3\n\n\ndef totals(db):\n    conn = sqlite3.connect(db)\n    return conn.execute('select 1').fetchall()\n";

#[test]
fn baseline_hides_known_findings_across_edits_and_shows_new_ones() {
    let dir = project(&[("ledger.py", LEDGER)]);
    let run = |args: &[&str]| unclosed().current_dir(dir.path()).args(args).assert();
    run(&["check", "--write-baseline", "unclosed-baseline.json", "."]).code(0);
    let baseline = fs::read_to_string(dir.path().join("unclosed-baseline.json")).unwrap();
    assert!(baseline.contains("\"function\": \"totals\""), "{baseline}");

    // Lines added above the function move it; the baseline still matches.
    let moved = format!("# Ledger queries.\nimport logging\n\nlog = logging.getLogger()\n{LEDGER}");
    fs::write(dir.path().join("ledger.py"), &moved).unwrap();
    run(&[
        "check",
        "--baseline",
        "unclosed-baseline.json",
        "--output-format",
        "concise",
        ".",
    ])
    .code(0)
    .stdout("");

    // A new leak in another function is reported.
    let grown = format!(
        "{moved}\n\ndef audit(db):\n    conn = sqlite3.connect(db)\n    conn.execute('vacuum')\n"
    );
    fs::write(dir.path().join("ledger.py"), grown).unwrap();
    run(&[
        "check",
        "--baseline",
        "unclosed-baseline.json",
        "--output-format",
        "concise",
        ".",
    ])
    .code(1)
    .stdout(predicate::str::contains("UC001").and(predicate::str::contains("`audit`")))
    .stdout(predicate::str::contains("`totals`").not());

    fs::write(
        dir.path().join("broken.json"),
        "{\"version\": 9, \"findings\": []}",
    )
    .unwrap();
    run(&["check", "--baseline", "broken.json", "."]).code(2);
}

#[test]
fn exit_zero_quiet_statistics_and_show_files() {
    let dir = project(&[
        ("a.py", "def a(p):\n    return open(p).read()\n"),
        ("b.py", "def b(p):\n    f = open(p)\n    return f\n"),
        ("skip/c.py", "def c(p):\n    return open(p).read()\n"),
        ("unclosed.toml", "exclude = [\"skip/**\"]\n"),
    ]);
    let run = |args: &[&str]| unclosed().current_dir(dir.path()).args(args).assert();
    run(&["check", "--exit-zero", "."])
        .code(0)
        .stdout(predicate::str::contains("UC005"));
    run(&["check", "--quiet", "."])
        .code(1)
        .stdout(predicate::str::contains("Found").not());
    run(&["check", "--statistics", "."])
        .code(1)
        .stdout("     1  UC005  resource-discarded\n");
    run(&["check", "--show-files", "."])
        .code(0)
        .stdout("a.py\nb.py\n");
}

#[test]
fn stdin_filename_checks_standard_input_under_that_name() {
    let dir = project(&[("unclosed.toml", "ignore = [\"UC002\"]\n")]);
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "--stdin-filename", "svc/handler.py"])
        .write_stdin("def h(p):\n    return open(p).read()\n")
        .assert()
        .code(1)
        .stdout("svc/handler.py:2:12: UC005 file from `open()` is discarded without being released: it is used once and dropped\n");
}

/// `unclosed audit`: one row per repository (the clean and the empty ones
/// too), production and test findings apart, totals; JSON on request.
#[test]
fn audit_sums_up_each_repository() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::audit_roots(root);
    let table = common::unclosed()
        .current_dir(root)
        .args(["audit", "."])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("| docs-only | 0 | 0 | 0 | 0 | 0 |"),
        "{table}"
    );
    assert!(
        table.contains("| svc-clean | 1 | 3 | 0 | 0 | 0 |"),
        "{table}"
    );
    assert!(
        table.contains("| svc-pay | 2 | 11 | 3 | 2 | 1 | 2 | 1 |"),
        "{table}"
    );
    assert!(table.contains("file 2, socket 1"), "{table}");
    assert!(
        table.contains("| total (3 repositories) | 3 | 14 | 3 | 2 | 1 |"),
        "{table}"
    );
    let json = common::unclosed()
        .current_dir(root)
        .args(["audit", "--output-format", "json", "."])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["repositories"].as_array().unwrap().len(), 3);
    assert_eq!(json["total"]["findings"], 3);
    assert_eq!(json["total"]["by_code"]["UC002"], 1);
}
