//! `--output-format gitlab`: GitLab's Code Quality report (a JSON array of
//! issues), for merge-request widgets.

use crate::codes::Code;
use crate::fingerprint::fingerprints;
use crate::runner::FileResult;
use serde_json::json;

pub fn render(results: &[FileResult]) -> String {
    let mut repo_paths = crate::render::RepoPaths::default();
    let mut issues = Vec::new();
    for result in results {
        let path = repo_paths.of(&result.path);
        let source = result.source.as_deref().unwrap_or("");
        let prints = fingerprints(&path, &result.report.findings, source);
        for (finding, fingerprint) in result.report.findings.iter().zip(prints) {
            // Leaks that need an exception or a cancellation are less certain.
            let severity = match finding.code {
                _ if !result.gates => "info", // test code under `--tests separate`
                Code::UnreleasedOnException | Code::UnreleasedOnCancellation => "minor",
                _ => "major",
            };
            issues.push(json!({
                "description": format!("{}: {}", finding.code, finding.message),
                "check_name": finding.code.id(),
                "fingerprint": fingerprint,
                "severity": severity,
                "location": {
                    "path": path,
                    "lines": { "begin": finding.start.line, "end": finding.end.line },
                },
            }));
        }
    }
    let mut out = serde_json::to_string_pretty(&issues).expect("issues serialize");
    out.push('\n');
    out
}
