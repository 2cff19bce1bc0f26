//! Turning findings into output for people and machines.

pub mod concise;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod sarif;

use crate::finding::Finding;
use std::path::Path;

/// Paths in output use `/` on every platform and drop a leading `./`, so the
/// same run prints the same bytes everywhere.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let s = match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    };
    // A file named with a newline or a terminal escape must not forge a
    // line of the report or drive the terminal.
    crate::finding::escape_controls(&s)
}

/// What a single-text format (SARIF, GitHub annotations) adds after a
/// finding's message: the fix and the other ways it leaks, each on a line of
/// its own, as the human output shows them.
pub(crate) fn details(finding: &Finding) -> String {
    let mut text = String::new();
    if !finding.help.is_empty() {
        text.push_str("\nhelp: ");
        text.push_str(&finding.help);
    }
    for also in &finding.also {
        text.push_str("\nalso: it ");
        text.push_str(also);
    }
    text
}
