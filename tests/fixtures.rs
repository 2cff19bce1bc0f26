//! Runs the analysis over every file in `fixtures/` and compares the findings
//! with the `# expect: UC00N` comments written on the acquisition lines, both
//! ways: a missing finding and an extra finding both fail.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use unclosed::analysis::{Options, analyze_source};
use unclosed::config::{CodeKind, code_kind};
use unclosed::rules::Catalogue;

fn python_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            python_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}

/// (line, code) pairs from `# expect: UC001, UC002` comments.
fn expectations(source: &str) -> BTreeSet<(usize, String)> {
    let mut out = BTreeSet::new();
    for (i, line) in source.lines().enumerate() {
        if let Some(pos) = line.find("# expect:") {
            for code in line[pos + "# expect:".len()..]
                .split([',', ' '])
                .filter(|c| !c.is_empty())
            {
                out.insert((i + 1, code.to_string()));
            }
        }
    }
    out
}

#[test]
fn fixtures_match_inline_expectations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    python_files(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no fixtures found");
    let catalogue = Catalogue::builtin();
    let mut report = String::new();
    let mut total_expected = 0;
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let expected = expectations(&source);
        total_expected += expected.len();
        let relative = file.strip_prefix(&root).unwrap();
        // Test files (fixtures/tests/) are analysed as the CLI analyses test
        // code: an exception there is a failing test, not a leak.
        let options = Options {
            test_code: code_kind(relative) == CodeKind::Test,
            ..Options::default()
        };
        let result = analyze_source(&source, &catalogue, &options);
        let rel = relative.display().to_string();
        for w in &result.warnings {
            report.push_str(&format!("  {rel}: unexpected warning: {w:?}\n"));
        }
        let actual: BTreeSet<(usize, String)> = result
            .findings
            .iter()
            .map(|f| (f.start.line, f.code.to_string()))
            .collect();
        for (line, code) in expected.difference(&actual) {
            let got: Vec<String> = result
                .findings
                .iter()
                .filter(|f| f.start.line == *line)
                .map(|f| format!("{} {}", f.code, f.message))
                .collect();
            report.push_str(&format!("- {rel}:{line}: expected {code}, got {got:?}\n"));
        }
        for f in &result.findings {
            if !expected.contains(&(f.start.line, f.code.to_string())) {
                report.push_str(&format!(
                    "+ {rel}:{}: unexpected {} {}\n",
                    f.start.line, f.code, f.message
                ));
            }
        }
    }
    assert!(total_expected > 0);
    assert!(
        report.is_empty(),
        "fixture expectations differ (- missing, + extra):\n{report}"
    );
}
