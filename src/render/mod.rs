//! Turning findings into output for people and machines.

pub mod concise;
pub mod human;

use std::path::Path;

/// Paths in output use `/` on every platform and drop a leading `./`, so the
/// same run prints the same bytes everywhere.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}
