//! The machine-readable formats (SARIF, JSON, json-lines, GitHub annotations)
//! over the real fixtures plus synthetic per-file errors and warnings. Every
//! SARIF log is validated against the official 2.1.0 schema, offline.

mod common;
use common::{assert_valid_sarif, sarif_validator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use unclosed::analysis::Options;
use unclosed::codes::Code;
use unclosed::finding::{FileReport, Finding, Position, Span, Step, Warning};
use unclosed::render::{github, json, sarif};
use unclosed::rules::Catalogue;
use unclosed::runner::{FileResult, check_files, check_source};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The results for the Python files under `dir` (relative to the crate), with
/// paths made relative to the crate as a CI run from the checkout shows them.
fn checked(dir: &str) -> Vec<FileResult> {
    let discovered = unclosed::discover::discover(&[Path::new(ROOT).join(dir)]);
    assert!(discovered.errors.is_empty(), "{:?}", discovered.errors);
    assert!(!discovered.files.is_empty(), "no Python files under {dir}");
    let mut results = check_files(
        &discovered.files,
        &Catalogue::builtin(),
        &Options::default(),
    );
    for result in &mut results {
        result.path = result.path.strip_prefix(ROOT).unwrap().to_path_buf();
    }
    results
}

fn failed(path: &str, error: &str) -> FileResult {
    FileResult {
        path: PathBuf::from(path),
        source: None,
        report: FileReport::default(),
        error: Some(error.into()),
        kind: unclosed::config::CodeKind::Production,
        gates: true,
    }
}

fn warned(path: &str, warnings: Vec<Warning>) -> FileResult {
    FileResult {
        path: PathBuf::from(path),
        source: None,
        report: FileReport {
            warnings,
            ..FileReport::default()
        },
        error: None,
        kind: unclosed::config::CodeKind::Production,
        gates: true,
    }
}

/// `results` plus a file that could not be read and one the analysis only
/// partly covered, sorted by path as the runner's output is.
fn with_problems(mut results: Vec<FileResult>) -> Vec<FileResult> {
    results.push(failed(
        "fixtures/unreadable.py",
        "cannot be read: Permission denied (os error 13)",
    ));
    results.push(warned(
        "fixtures/deep.py",
        vec![
            Warning {
                line: Some(3),
                message: "nesting too deep: the rest of `f` is not analysed".into(),
                incomplete: true,
            },
            Warning {
                line: None,
                message: "invalid syntax: parts of the file are not analysed".into(),
                incomplete: true,
            },
        ],
    ));
    results.sort_by(|a, b| a.path.cmp(&b.path));
    results
}

fn redact_version(text: &str) -> String {
    text.replace(
        &format!("\"{}\"", env!("CARGO_PKG_VERSION")),
        "\"[version]\"",
    )
}

#[test]
fn the_validator_rejects_invalid_sarif() {
    // Guards against a validator that accepts everything.
    let mut value: Value =
        serde_json::from_str(&sarif::render(&checked("fixtures/incident"))).unwrap();
    value["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] =
        0.into();
    value["runs"][0]["columnKind"] = "bytes".into();
    let errors = sarif_validator().iter_errors(&value).count();
    assert_eq!(errors, 2);
}

#[test]
fn sarif_for_every_fixture_and_problem_is_valid() {
    let results = with_problems(checked("fixtures"));
    let value = assert_valid_sarif(&sarif::render(&results));
    let run = &value["runs"][0];
    let findings: usize = results.iter().map(|r| r.report.findings.len()).sum();
    assert!(findings > 0);
    assert_eq!(run["results"].as_array().unwrap().len(), findings);
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let levels: Vec<&str> = invocation["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["warning", "warning", "error"]);
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run["tool"]["driver"]["rules"][index]["id"],
            result["ruleId"]
        );
        let uri = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert!(uri["uri"].as_str().unwrap().starts_with("fixtures/"));
        assert_eq!(uri["uriBaseId"], "%SRCROOT%");
        assert!(result["partialFingerprints"]["unclosedFingerprint/v1"].is_string());
        assert!(
            result.get("codeFlows").is_some(),
            "the path is shown: {result}"
        );
    }
}

#[test]
fn sarif_without_findings_is_valid_and_lists_every_rule() {
    let value = assert_valid_sarif(&sarif::render(&[]));
    let run = &value["runs"][0];
    assert_eq!(run["results"], Value::Array(vec![]));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Code::ALL.len());
    // A clean run of clean files: no results, still valid.
    let clean: Vec<FileResult> = checked("fixtures/incident")
        .into_iter()
        .filter(|r| r.report.findings.is_empty())
        .collect();
    assert!(!clean.is_empty());
    assert_valid_sarif(&sarif::render(&clean));
}

#[test]
fn sarif_for_the_incident() {
    let log = sarif::render(&checked("fixtures/incident"));
    assert_valid_sarif(&log);
    insta::assert_snapshot!(redact_version(&log));
}

#[test]
fn json_carries_every_finding_with_its_path() {
    let results = with_problems(checked("fixtures"));
    let doc: Value = serde_json::from_str(&json::render(&results)).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["tool"]["name"], "unclosed");
    assert_eq!(doc["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["files_checked"], results.len() - 1);
    assert_eq!(
        doc["errors"],
        serde_json::json!([{
            "path": "fixtures/unreadable.py",
            "message": "cannot be read: Permission denied (os error 13)",
        }])
    );
    assert_eq!(doc["warnings"][0]["line"], 3);
    assert_eq!(doc["warnings"][1]["line"], Value::Null);

    let findings = doc["findings"].as_array().unwrap();
    let expected: Vec<&Finding> = results.iter().flat_map(|r| &r.report.findings).collect();
    assert_eq!(findings.len(), expected.len());
    for (json, finding) in findings.iter().zip(expected) {
        assert_eq!(json["code"], finding.code.id());
        assert_eq!(json["name"], finding.code.name());
        assert_eq!(json["function"], finding.function.as_str());
        assert_eq!(json["start"]["line"], finding.start.line);
        assert_eq!(json["end"]["column"], finding.end.column);
        let steps = json["steps"].as_array().unwrap();
        assert!(!steps.is_empty(), "the leaking path is present");
        assert_eq!(steps.len(), finding.steps.len());
        assert_eq!(steps[0]["message"], finding.steps[0].message.as_str());
        assert_eq!(
            json["skipped_release"].is_null(),
            finding.skipped_release.is_none()
        );
        assert_eq!(json["fingerprint"].as_str().unwrap().len(), 16);
    }

    // json-lines: the same finding objects, one compact line each.
    let lines = json::render_lines(&results);
    let parsed: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&parsed, findings);
    assert_eq!(json::render_lines(&with_problems(vec![])), "");
}

#[test]
fn json_for_the_incident() {
    insta::assert_snapshot!(redact_version(&json::render(&checked("fixtures/incident"))));
}

#[test]
fn github_annotations_escape_properties_and_messages() {
    let step = |line, message: &str| Step {
        span: Span { start: 0, end: 0 },
        start: Position { line, column: 5 },
        message: message.into(),
    };
    let finding = Finding {
        code: Code::UnreleasedOnReturn,
        resource: "connection".into(),
        function: "charge".into(),
        span: Span { start: 0, end: 0 },
        start: Position {
            line: 13,
            column: 18,
        },
        end: Position {
            line: 13,
            column: 35,
        },
        message: "connection is not released when `charge` returns: 100% leaked, line 18".into(),
        help: "use `with`".into(),
        steps: vec![step(13, "acquired"), step(18, "returns")],
        also: vec![],
        skipped_release: None,
        kept_in: None,
    };
    let results = vec![
        failed("src/a,b.py", "cannot be read:\nno such file"),
        FileResult {
            path: PathBuf::from("./src/pay:ments.py"),
            source: None,
            report: FileReport {
                findings: vec![finding],
                warnings: vec![Warning {
                    line: Some(2),
                    message: "partly analysed".into(),
                    incomplete: true,
                }],
                ..FileReport::default()
            },
            error: None,
            kind: unclosed::config::CodeKind::Production,
            gates: true,
        },
    ];
    assert_eq!(
        github::render(&results),
        "::error file=src/a%2Cb.py::cannot be read:%0Ano such file\n\
         ::warning file=src/pay%3Aments.py,line=2::partly analysed\n\
         ::error file=src/pay%3Aments.py,line=13,col=18,endLine=13,endColumn=35,\
         title=UC001 unreleased-on-return::connection is not released when `charge` returns: \
         100%25 leaked, line 18%0Ahelp: use `with`\n"
    );
}

#[test]
fn columns_are_utf16_in_sarif_and_characters_in_json() {
    let source = "def f(pool):\n    s = \"é🦀\"; conn = pool.acquire()\n    return s\n";
    let result = check_source(
        PathBuf::from("app/unicode.py"),
        source.to_string(),
        &Catalogue::builtin(),
        &Options::default(),
    );
    let finding = &result.report.findings[0];
    let call = source.find("pool.acquire()").unwrap();
    assert_eq!(finding.span.start, call);
    assert_eq!(sarif::Lines::new(source).line_and_column(call).1, 23);
    assert_eq!(
        finding.start.column, 22,
        "characters: `é` and `🦀` count one each"
    );

    let results = vec![result];
    let log = assert_valid_sarif(&sarif::render(&results));
    let region = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 23);
    assert_eq!(region["endColumn"], 23 + "pool.acquire()".len());

    let doc: Value = serde_json::from_str(&json::render(&results)).unwrap();
    assert_eq!(doc["findings"][0]["start"]["column"], 22);
}
