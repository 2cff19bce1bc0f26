//! `--output-format json` and `json-lines`: the findings as data for scripts.
//! The document is versioned and its schema is documented in
//! `docs/json-output.md`; within version 1 fields are only ever added.
//!
//! The output is built from structs, not `serde_json::Value`, so the field
//! order is the order written here whatever serde_json features other crates
//! switch on.

use crate::config::CodeKind;
use crate::finding::{Finding, Position, Step};
use crate::fingerprint::fingerprints;
use crate::render::display_path;
use crate::runner::FileResult;
use serde::Serialize;

/// Bumped only for a change that could break a reader (a field removed,
/// renamed or retyped); new fields do not change it.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    files_checked: usize,
    findings: Vec<JsonFinding<'a>>,
    errors: Vec<JsonError<'a>>,
    warnings: Vec<JsonWarning<'a>>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: String,
    code: &'static str,
    name: &'static str,
    /// `error` or `warning`, as in SARIF (`note` for test code under
    /// `--tests separate`).
    level: &'static str,
    resource: &'a str,
    function: &'a str,
    message: &'a str,
    help: &'a str,
    start: Location,
    end: Location,
    fingerprint: String,
    steps: Vec<JsonStep<'a>>,
    also: &'a [String],
    skipped_release: Option<JsonStep<'a>>,
    /// `production`, `test` or `example` code.
    code_kind: CodeKind,
    /// Whether the finding fails the run (not for test code under `--tests
    /// separate`).
    gates: bool,
}

#[derive(Serialize)]
struct Location {
    line: usize,
    column: usize,
}

impl From<Position> for Location {
    fn from(p: Position) -> Self {
        Location {
            line: p.line,
            column: p.column,
        }
    }
}

#[derive(Serialize)]
struct JsonStep<'a> {
    line: usize,
    column: usize,
    message: &'a str,
}

impl<'a> From<&'a Step> for JsonStep<'a> {
    fn from(step: &'a Step) -> Self {
        JsonStep {
            line: step.start.line,
            column: step.start.column,
            message: &step.message,
        }
    }
}

#[derive(Serialize)]
struct JsonError<'a> {
    path: String,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonWarning<'a> {
    path: String,
    line: Option<usize>,
    message: &'a str,
    /// Part of the file was not analysed (`--strict` fails on these).
    incomplete: bool,
}

/// Every finding of every file, in the order given (files by path, findings
/// by position).
fn findings(results: &[FileResult]) -> Vec<JsonFinding<'_>> {
    let mut out = Vec::new();
    for result in results {
        let path = display_path(&result.path);
        let source = result.source.as_deref().unwrap_or_default();
        let findings = &result.report.findings;
        for (finding, fingerprint) in findings.iter().zip(fingerprints(&path, findings, source)) {
            let mut f = json_finding(path.clone(), finding, fingerprint);
            f.code_kind = result.kind;
            f.gates = result.gates;
            if !result.gates {
                f.level = "note";
            }
            out.push(f);
        }
    }
    out
}

fn json_finding(path: String, finding: &Finding, fingerprint: String) -> JsonFinding<'_> {
    JsonFinding {
        path,
        code: finding.code.id(),
        name: finding.code.name(),
        level: finding.code.level(),
        resource: &finding.resource,
        function: &finding.function,
        message: &finding.message,
        help: &finding.help,
        start: finding.start.into(),
        end: finding.end.into(),
        fingerprint,
        steps: finding.steps.iter().map(JsonStep::from).collect(),
        also: &finding.also,
        skipped_release: finding.skipped_release.as_ref().map(JsonStep::from),
        code_kind: CodeKind::Production,
        gates: true,
    }
}

/// The whole run as one pretty-printed JSON document, ending in a newline.
pub fn render(results: &[FileResult]) -> String {
    let document = Document {
        version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        files_checked: results.iter().filter(|r| r.error.is_none()).count(),
        findings: findings(results),
        errors: results
            .iter()
            .filter_map(|r| {
                let message = r.error.as_deref()?;
                Some(JsonError {
                    path: display_path(&r.path),
                    message,
                })
            })
            .collect(),
        warnings: results
            .iter()
            .flat_map(|r| {
                r.report.warnings.iter().map(|w| JsonWarning {
                    path: display_path(&r.path),
                    line: w.line,
                    message: &w.message,
                    incomplete: w.incomplete,
                })
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&document).expect("plain data serialises");
    out.push('\n');
    out
}

/// `json-lines`: one compact finding object per line (the same object as in
/// `render`'s `findings`), and nothing else, so `grep`/`jq -c` can stream it.
/// Errors and warnings are left to stderr and the exit status.
pub fn render_lines(results: &[FileResult]) -> String {
    findings(results)
        .iter()
        .map(|f| serde_json::to_string(f).expect("plain data serialises") + "\n")
        .collect()
}
