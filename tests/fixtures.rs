//! Runs the analysis over every file in `fixtures/` and compares the findings
//! with the `# expect: UC00N` comments written on the acquisition lines, both
//! ways: a missing finding and an extra finding both fail. The files are
//! checked together, as the CLI checks a project: a fixture may import
//! another (`fixtures/payments/`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use unclosed::config::{CodeKind, Settings, code_kind};
use unclosed::runner::{FileResult, Job, RunOptions, check_jobs};

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

fn fixture_files() -> (PathBuf, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    python_files(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no fixtures found");
    (root, files)
}

/// Checks the fixtures as one project, with `threads` threads.
fn check_fixtures(root: &Path, files: &[PathBuf], threads: usize) -> Vec<FileResult> {
    let settings = Arc::new(Settings::defaults(root.to_path_buf()));
    let jobs: Vec<Job> = files
        .iter()
        .map(|file| {
            // Test files (fixtures/tests/) are analysed as the CLI analyses
            // test code: an exception there is a failing test, not a leak.
            let kind = code_kind(file.strip_prefix(root).unwrap());
            Job {
                path: file.clone(),
                settings: settings.clone(),
                stdin: None,
                kind: if kind == CodeKind::Test {
                    CodeKind::Test
                } else {
                    CodeKind::Production
                },
                gates: true,
                context: false,
            }
        })
        .collect();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| check_jobs(&jobs, RunOptions::default()))
}

#[test]
fn fixtures_match_inline_expectations() {
    let (root, files) = fixture_files();
    let results = check_fixtures(&root, &files, 2);
    let mut report = String::new();
    let mut total_expected = 0;
    for (file, result) in files.iter().zip(&results) {
        let source = std::fs::read_to_string(file).unwrap();
        let expected = expectations(&source);
        total_expected += expected.len();
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        if let Some(e) = &result.error {
            report.push_str(&format!("  {rel}: error: {e}\n"));
        }
        let result = &result.report;
        for w in &result.warnings {
            report.push_str(&format!("  {rel}: unexpected warning: {w:?}\n"));
        }
        let actual: BTreeSet<(usize, String)> = result
            .findings
            .iter()
            .map(|f| (f.start.line, f.code.to_string()))
            .collect();
        // One leak, one finding: never the same one twice (a pair a test
        // file shows and another file shares once gave two).
        let mut seen = BTreeSet::new();
        for f in &result.findings {
            if !seen.insert((
                f.start.line,
                f.start.column,
                f.code.to_string(),
                f.message.clone(),
            )) {
                report.push_str(&format!(
                    "  {rel}:{}: reported twice: {}\n",
                    f.start.line, f.message
                ));
            }
        }
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

/// Files are analysed in parallel, each once what it imports is done: what
/// a file sees of the others must not depend on the thread count.
#[test]
fn findings_are_the_same_for_any_thread_count() {
    let (root, files) = fixture_files();
    let render = |results: &[FileResult]| unclosed::render::json::render(results);
    let one = render(&check_fixtures(&root, &files, 1));
    for threads in [2, 7] {
        let many = render(&check_fixtures(&root, &files, threads));
        assert!(
            one == many,
            "output differs between 1 and {threads} threads"
        );
    }
}
