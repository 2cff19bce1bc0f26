//! Turning findings into output for people and machines.

pub mod concise;
pub mod github;
pub mod gitlab;
pub mod html;
pub mod human;
pub mod json;
pub mod sarif;

use crate::finding::Finding;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Paths as a repository knows them, for the formats a code host reads
/// (SARIF, GitHub annotations, GitLab, baselines): relative to the root of
/// the git repository the file is in, whatever directory the tool runs
/// from, so that a report made in a subdirectory still points at the right
/// files and never carries an absolute path of the machine. A file in no
/// repository is shown as given.
#[derive(Default)]
pub struct RepoPaths {
    /// Directory to the root of its repository, as found.
    roots: HashMap<PathBuf, Option<PathBuf>>,
}

impl RepoPaths {
    pub fn of(&mut self, path: &Path) -> String {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let root = absolute.parent().and_then(|dir| self.root_of(dir));
        match root.as_deref().and_then(|r| absolute.strip_prefix(r).ok()) {
            Some(relative) => display_path(relative),
            None => display_path(path),
        }
    }

    fn root_of(&mut self, dir: &Path) -> Option<PathBuf> {
        self.roots
            .entry(dir.to_path_buf())
            .or_insert_with(|| crate::discover::git_root(dir).map(Path::to_path_buf))
            .clone()
    }
}

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
