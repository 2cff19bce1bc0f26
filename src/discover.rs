//! Finding the Python files to check. A directory is walked honouring
//! `.gitignore` (also outside a git repository, but never the user's global
//! one, which is not the project's) and skipping ruff's default exclusions
//! (virtualenvs, caches, VCS metadata, build output); other dot-directories
//! (`.evergreen/`, `.github/`) are walked, as ruff does. A file named on the
//! command line is always checked.

use std::path::{Path, PathBuf};

/// Directories that hold installed or generated code, never the project's
/// own: ruff's default `exclude`, plus `__pycache__`.
pub const SKIPPED_DIRS: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
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
        // Ignore files above the walked directory count only inside its
        // project (up to the git root): a `.gitignore` of `*` in a home or
        // workspace directory must not empty the walk.
        let absolute = path.canonicalize().unwrap_or_else(|_| path.clone());
        let above = project_ignores(&absolute);
        let walked = path.clone();
        let walker = ignore::WalkBuilder::new(path)
            .require_git(false)
            .hidden(false)
            .git_global(false)
            .parents(false)
            .follow_links(false)
            .filter_entry(move |entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if is_dir
                    && entry
                        .file_name()
                        .to_str()
                        .is_some_and(|n| SKIPPED_DIRS.contains(&n))
                {
                    return false;
                }
                if above.is_empty() {
                    return true;
                }
                let full = match entry.path().strip_prefix(&walked) {
                    Ok(rest) => absolute.join(rest),
                    Err(_) => entry.path().to_path_buf(),
                };
                !above.iter().any(|g| g.matched(&full, is_dir).is_ignore())
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

/// The `.gitignore` files of the directories above `dir` up to the root
/// of its git repository (none when it is not in one: then only the walk's
/// own ignore files count).
fn project_ignores(dir: &Path) -> Vec<ignore::gitignore::Gitignore> {
    let Some(root) = git_root(dir) else {
        return Vec::new();
    };
    dir.ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(root))
        .filter_map(|d| {
            let file = d.join(".gitignore");
            file.is_file()
                .then(|| ignore::gitignore::Gitignore::new(&file).0)
        })
        .collect()
}

/// The root of the git repository `dir` is in: the nearest directory at
/// or above it that holds `.git`.
pub fn git_root(dir: &Path) -> Option<&Path> {
    dir.ancestors().find(|d| d.join(".git").exists())
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
