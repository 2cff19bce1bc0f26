//! `--output-format github`: GitHub Actions workflow commands, which the
//! runner turns into annotations on the pull request's diff.

use crate::render::details;
use crate::runner::FileResult;
use std::fmt::Write;

/// Escapes a command's message the way GitHub's toolkit does
/// (`escapeData` in `@actions/core`).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`, ...): as a message, plus the
/// `:` and `,` that delimit properties (`escapeProperty`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One command per line: per file, its error, then its warnings, then its
/// findings. Columns count characters, as in the other text formats.
pub fn render(results: &[FileResult]) -> String {
    let mut repo_paths = crate::render::RepoPaths::default();
    let mut out = String::new();
    for result in results {
        let file = escape_property(&repo_paths.of(&result.path));
        if let Some(error) = &result.error {
            let _ = writeln!(out, "::error file={file}::{}", escape_data(error));
        }
        for warning in &result.report.warnings {
            let line = warning
                .line
                .map(|l| format!(",line={l}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "::warning file={file}{line}::{}",
                escape_data(&warning.message)
            );
        }
        for f in &result.report.findings {
            let title = escape_property(&format!("{} {}", f.code.id(), f.code.name()));
            // The level SARIF gives the code; test code under `--tests
            // separate`: a notice, never blocking.
            let command = if result.gates {
                f.code.level()
            } else {
                "notice"
            };
            let _ = writeln!(
                out,
                "::{command} file={file},line={},col={},endLine={},endColumn={},title={title}::{}",
                f.start.line,
                f.start.column,
                f.end.line,
                f.end.column,
                escape_data(&format!("{}{}", f.message, details(f))),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(escape_data("100% a:b,c\r\nd"), "100%25 a:b,c%0D%0Ad");
        assert_eq!(
            escape_property("100% a:b,c\r\nd"),
            "100%25 a%3Ab%2Cc%0D%0Ad"
        );
    }
}
