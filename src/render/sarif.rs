//! `--output-format sarif`: SARIF 2.1.0 for GitHub code scanning and other
//! SARIF viewers. Each finding is one result at the acquiring call; the path
//! that leaks is its code flow (GitHub's "Show paths"), the release it skips a
//! related location. The rules' help is generated from `rules/codes.toml`,
//! like `unclosed rule` and the docs.
//!
//! Built with `json!`: objects come out with sorted keys (serde_json without
//! `preserve_order`, as this crate builds it), a deterministic order that
//! needs no struct per SARIF object; the snapshot test would show a change. Nothing in the log depends on
//! the time or the machine, so one checkout gives the same bytes everywhere.

use crate::codes::Code;
use crate::finding::{Finding, Position, Span};
use crate::fingerprint::fingerprints;
use crate::render::details;
use crate::runner::FileResult;
use serde_json::{Value, json};

/// The project's home page (`repository` in Cargo.toml); the rules'
/// `helpUri`s point into it.
pub const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Versioned so a future change of the hash can live beside the old one.
const FINGERPRINT_KEY: &str = "unclosedFingerprint/v1";
/// Relative paths are relative to the root of the git repository (see
/// `RepoPaths`): GitHub resolves `%SRCROOT%` to the checkout. The base is
/// declared in `run.originalUriBaseIds` with a description but no `uri`:
/// an absolute root would put the machine's layout in the log, and SARIF
/// lets the consumer supply it.
const SRCROOT: &str = "%SRCROOT%";

/// UC002 and UC004 need an exception or a cancellation to leak, so they are
/// less certain than the others (the same order as `Code::certainty_rank`):
/// as warnings they still show as alerts, while GitHub's default gate (fail
/// on errors) blocks a pull request only on the leaks that a plain run of the
/// code takes. A team that wants them blocking sets the gate to warnings.
fn level(code: Code) -> &'static str {
    code.level()
}

fn precision(code: Code) -> &'static str {
    match level(code) {
        "error" => "high",
        _ => "medium",
    }
}

fn tags(code: Code) -> Vec<&'static str> {
    let mut tags = vec!["reliability", "resource-leak"];
    if matches!(
        code,
        Code::ReleaseNotAwaited | Code::UnreleasedOnCancellation
    ) {
        tags.push("async");
    }
    tags
}

/// Joins the hard-wrapped lines of `codes.toml` into paragraphs: plain-text
/// viewers wrap for themselves.
fn unwrap_lines(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn rule(code: Code) -> Value {
    let doc = code.doc();
    let why = unwrap_lines(&doc.why);
    let (example, fix) = (doc.example.trim_end(), doc.fix.trim_end());
    json!({
        "id": code.id(),
        "name": code.name(),
        "shortDescription": { "text": code.summary() },
        "fullDescription": { "text": why },
        "help": {
            "text": format!("{why}\n\nLeaks:\n\n{example}\n\nFix:\n\n{fix}\n"),
            "markdown": format!(
                "{why}\n\n**Leaks:**\n\n```python\n{example}\n```\n\n**Fix:**\n\n```python\n{fix}\n```\n"
            ),
        },
        "helpUri": format!("{INFORMATION_URI}/blob/main/docs/rules.md#{}", code.id().to_lowercase()),
        "defaultConfiguration": { "level": level(code) },
        "properties": {
            "tags": tags(code),
            "precision": precision(code),
            "problem.severity": level(code),
        },
    })
}

/// Clamps an offset into `source` and back onto a character boundary, so a
/// stray span can never make rendering panic.
fn clamp(source: &str, byte_offset: usize) -> usize {
    let mut offset = byte_offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Where each line of a file starts, built once per file: counting the
/// newlines before every location made SARIF output quadratic in the size
/// of a file with many findings. Lines end at `\n`, as in the analysis's
/// `Position`s.
pub struct Lines<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(source: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { source, starts }
    }

    /// The 1-based line and 1-based SARIF column (`columnKind:
    /// utf16CodeUnits`) of a byte offset: the column counts the UTF-16 code
    /// units between the start of the line and it, plus one. An `é` counts
    /// 1, an emoji 2 (a surrogate pair), whatever its UTF-8 length.
    pub fn line_and_column(&self, byte_offset: usize) -> (usize, usize) {
        let offset = clamp(self.source, byte_offset);
        let line = self.starts.partition_point(|&start| start <= offset);
        let line_start = self.starts[line - 1];
        let column = self.source[line_start..offset].encode_utf16().count() + 1;
        (line, column)
    }
}

fn region(lines: Option<&Lines>, span: Span, start: Position) -> Value {
    match lines {
        Some(lines) => {
            let (start_line, start_column) = lines.line_and_column(span.start);
            let (end_line, end_column) = lines.line_and_column(span.end);
            json!({
                "startLine": start_line,
                "startColumn": start_column,
                "endLine": end_line,
                "endColumn": end_column,
            })
        }
        // Without the text, the analysis's line is still right and its
        // character column is right for all but astral characters.
        None => json!({ "startLine": start.line, "startColumn": start.column }),
    }
}

/// Percent-encodes a `/`-separated path for a URI, keeping only RFC 3986's
/// unreserved characters and `/` as they are.
fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a file is, as a SARIF `artifactLocation`: a relative path against
/// `%SRCROOT%`, an absolute one as a `file://` URI of its own.
fn artifact_location(path: &str) -> Value {
    let bytes = path.as_bytes();
    let is_drive = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes.get(2).is_none_or(|&b| b == b'/');
    let uri = if path.starts_with("//") {
        format!("file:{}", encode_path(path)) // UNC: //server/share/...
    } else if path.starts_with('/') {
        format!("file://{}", encode_path(path))
    } else if is_drive {
        format!("file:///{}:{}", &path[..1], encode_path(&path[2..]))
    } else {
        return json!({ "uri": encode_path(path), "uriBaseId": SRCROOT });
    };
    json!({ "uri": uri })
}

/// `[text](id)` in a SARIF message is an embedded link (SARIF 3.11.6), and
/// our messages quote Python, where `handlers[0](1)` would read as one:
/// escaping the `]` of every `](` keeps such text literal.
fn escape_links(text: &str) -> String {
    text.replace("](", "\\](")
}

fn plain(text: &str) -> Value {
    json!({ "text": escape_links(text) })
}

/// The result's message. GitHub shows a related location only where the
/// message links to it, so the skipped release is linked right after the
/// message, before the fix.
fn result_message(f: &Finding) -> Value {
    let mut text = escape_links(&f.message);
    if let Some(step) = &f.skipped_release {
        // Link text may hold no bare bracket at all.
        let link = step.message.replace('[', "\\[").replace(']', "\\]");
        text.push_str(&format!("\n[{link}](1)"));
    }
    text.push_str(&escape_links(&details(f)));
    json!({ "text": text })
}

fn sarif_result(artifact: &Value, lines: Option<&Lines>, f: &Finding, fingerprint: &str) -> Value {
    let location = |span, start, message: Option<&str>| {
        let mut location = json!({
            "physicalLocation": { "artifactLocation": artifact, "region": region(lines, span, start) },
        });
        if let Some(text) = message {
            location["message"] = plain(text);
        }
        location
    };
    let rule_index = Code::ALL.iter().position(|&c| c == f.code);
    let mut result = json!({
        "ruleId": f.code.id(),
        "ruleIndex": rule_index,
        "level": level(f.code),
        "message": result_message(f),
        "locations": [location(f.span, f.start, None)],
        "partialFingerprints": { FINGERPRINT_KEY: fingerprint },
    });
    // A thread flow needs at least one location, so no steps, no flow.
    if !f.steps.is_empty() {
        let steps: Vec<Value> = f
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                json!({
                    "location": location(step.span, step.start, Some(&step.message)),
                    "executionOrder": i + 1,
                })
            })
            .collect();
        result["codeFlows"] = json!([{ "threadFlows": [{ "locations": steps }] }]);
    }
    if let Some(step) = &f.skipped_release {
        let mut related = location(step.span, step.start, Some(&step.message));
        related["id"] = json!(1);
        result["relatedLocations"] = json!([related]);
    }
    result
}

/// The whole run as one SARIF log, pretty-printed, ending in a newline.
pub fn render(results: &[FileResult]) -> String {
    let mut repo_paths = crate::render::RepoPaths::default();
    let mut sarif_results = Vec::new();
    let mut notifications = Vec::new();
    for file in results {
        let path = repo_paths.of(&file.path);
        let artifact = artifact_location(&path);
        let source = file.source.as_deref();
        if let Some(error) = &file.error {
            notifications.push(json!({
                "level": "error",
                "message": plain(error),
                "locations": [{ "physicalLocation": { "artifactLocation": artifact } }],
            }));
        }
        for warning in &file.report.warnings {
            let mut physical = json!({ "artifactLocation": artifact });
            if let Some(line) = warning.line {
                physical["region"] = json!({ "startLine": line });
            }
            notifications.push(json!({
                "level": "warning",
                "message": plain(&warning.message),
                "locations": [{ "physicalLocation": physical }],
            }));
        }
        let findings = &file.report.findings;
        let fps = fingerprints(&path, findings, source.unwrap_or_default());
        let lines = source.map(Lines::new);
        for (finding, fp) in findings.iter().zip(&fps) {
            let mut r = sarif_result(&artifact, lines.as_ref(), finding, fp);
            if !file.gates {
                // Test code under `--tests separate`: shown, never blocking.
                r["level"] = json!("note");
            }
            sarif_results.push(r);
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": env!("CARGO_PKG_NAME"),
                    "version": version,
                    "semanticVersion": version,
                    "informationUri": INFORMATION_URI,
                    "rules": Code::ALL.map(rule),
                },
            },
            "originalUriBaseIds": {
                SRCROOT: { "description": { "text": "The root of the git repository the files are in." } },
            },
            "columnKind": "utf16CodeUnits",
            "results": sarif_results,
            "invocations": [{
                "executionSuccessful": results.iter().all(|r| r.error.is_none()),
                "toolExecutionNotifications": notifications,
            }],
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).expect("plain data serialises");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_count_code_units_not_bytes_or_chars() {
        let column = |source: &str, at: usize| Lines::new(source).line_and_column(at).1;
        // `é` is 2 bytes and 1 unit; `🦀` is 4 bytes and 2 units (a surrogate pair).
        let source = "x = 1\ns = \"é🦀\"; conn = pool.acquire()\n";
        let call = source.find("pool").unwrap();
        let line_start = source.find('s').unwrap();
        // 21 bytes and 17 characters precede the call on its line.
        assert_eq!(call - line_start, 21);
        assert_eq!(source[line_start..call].chars().count(), 17);
        assert_eq!(column(source, call), 19);
        assert_eq!(column(source, call + "pool.acquire()".len()), 33);
        assert_eq!(column(source, 0), 1);
        assert_eq!(column(source, source.find('s').unwrap()), 1);
        // Offsets past the end or inside a character are clamped, not a panic.
        assert_eq!(column(source, source.find('🦀').unwrap() + 1), 7);
        assert_eq!(column(source, usize::MAX), 1);
    }

    #[test]
    fn paths_become_uris() {
        assert_eq!(
            artifact_location("src/app db/pay ment.py"),
            json!({ "uri": "src/app%20db/pay%20ment.py", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(artifact_location("src/café.py")["uri"], "src/caf%C3%A9.py");
        assert_eq!(
            artifact_location("/project/a b.py"),
            json!({ "uri": "file:///project/a%20b.py" })
        );
        assert_eq!(
            artifact_location("C:/project/a.py"),
            json!({ "uri": "file:///C:/project/a.py" })
        );
        assert_eq!(
            artifact_location("//server/share/a.py"),
            json!({ "uri": "file://server/share/a.py" })
        );
    }

    #[test]
    fn messages_link_the_skipped_release_and_nothing_else() {
        let step = |message: &str| crate::finding::Step {
            span: Span { start: 0, end: 0 },
            start: Position { line: 1, column: 1 },
            message: message.into(),
        };
        let finding = Finding {
            code: Code::UnreleasedOnReturn,
            resource: "r".into(),
            function: "f".into(),
            span: Span { start: 0, end: 0 },
            start: Position { line: 1, column: 1 },
            end: Position { line: 1, column: 1 },
            message: "`handlers[0](1)` leaks".into(),
            help: "close it".into(),
            steps: vec![],
            also: vec![],
            skipped_release: Some(step("released in `done[i]`")),
            kept_in: None,
        };
        assert_eq!(
            result_message(&finding)["text"],
            "`handlers[0\\](1)` leaks\n[released in `done\\[i\\]`](1)\nhelp: close it"
        );
    }

    #[test]
    fn wrapped_documentation_becomes_paragraphs() {
        assert_eq!(unwrap_lines("\none\ntwo\n\nthree\n"), "one two\n\nthree");
    }
}
