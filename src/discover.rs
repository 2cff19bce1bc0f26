//! Finding the Python files to check. A directory is walked honouring
//! `.gitignore` (also outside a git repository) and skipping virtualenvs and
//! caches; a file named on the command line is always checked.

use std::path::{Path, PathBuf};

/// Directories that hold installed or generated code, never the project's own.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    "site-packages",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pypackages__",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Discovered {
    /// Sorted and free of duplicates, so output order never depends on the walk.
    pub files: Vec<PathBuf>,
    pub errors: Vec<DiscoveryError>,
}

pub fn discover(paths: &[PathBuf]) -> Discovered {
    let mut out = Discovered::default();
    for path in paths {
        if path.is_file() {
            out.files.push(path.clone());
            continue;
        }
        if !path.exists() {
            out.errors.push(DiscoveryError {
                path: path.clone(),
                message: "no such file or directory".into(),
            });
            continue;
        }
        let walker = ignore::WalkBuilder::new(path)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|entry| {
                !(entry.file_type().is_some_and(|t| t.is_dir())
                    && entry
                        .file_name()
                        .to_str()
                        .is_some_and(|n| SKIPPED_DIRS.contains(&n)))
            })
            .build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|t| t.is_file());
                    if is_file && is_python(entry.path()) {
                        out.files.push(entry.into_path());
                    }
                }
                Err(err) => out.errors.push(DiscoveryError {
                    path: error_path(&err).unwrap_or_else(|| path.clone()),
                    message: err.to_string(),
                }),
            }
        }
    }
    out.files.sort();
    out.files.dedup();
    out
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py")
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}
