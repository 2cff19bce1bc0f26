//! The analysis cache (as ruff keeps one): a file whose text, settings and
//! imported summaries are unchanged since the last run is not analysed
//! again. Each entry is keyed by a SHA-256 of everything the analysis of
//! the file depends on: this build of the tool, the file's path and text,
//! the catalogue its settings make, the options it is analysed with, and
//! the summaries of the checked files it imports. Nothing is trusted that
//! the key does not cover, and an entry that does not read back is a miss.
//!
//! The cache lives in the user's cache directory (`$XDG_CACHE_HOME/unclosed`
//! or `~/.cache/unclosed`), never inside the checked repository by default:
//! a repository anyone can send a pull request to must not be able to plant
//! entries that hide its leaks. `--cache-dir` (or `UNCLOSED_CACHE_DIR`) puts
//! it elsewhere, for a CI cache; `--no-cache` (or `UNCLOSED_NO_CACHE=1`)
//! turns it off.

use crate::analysis::FunctionSummary;
use crate::finding::{Finding, Learnt, Warning};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The identity of this build: entries of other builds are never read.
const BUILD_ID: &str = env!("UNCLOSED_BUILD_ID");

/// What the analysis of one file gives, before the settings filter it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    pub learnt: Vec<Learnt>,
    pub suppressions: Vec<(usize, String)>,
    pub shared_pairs: Vec<crate::finding::SharedPair>,
    pub exports: BTreeMap<String, FunctionSummary>,
}

#[derive(Debug)]
pub struct Cache {
    /// The directory of this build's entries.
    dir: PathBuf,
}

/// Builds a key from the parts the analysis depends on, each delimited so
/// that no two lists of parts hash alike.
#[derive(Default)]
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    pub fn part(mut self, bytes: &[u8]) -> Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn finish(self) -> String {
        format!("{:x}", self.0.finalize())
    }
}

impl Cache {
    /// Where the cache goes when the user says nothing.
    pub fn default_dir() -> Option<PathBuf> {
        let home_cache = |var: &str, below: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(|v| PathBuf::from(v).join(below))
        };
        home_cache("XDG_CACHE_HOME", "unclosed").or_else(|| home_cache("HOME", ".cache/unclosed"))
    }

    /// Opens (creating) the cache under `root`, keeping only this build's
    /// entries. `None` when it cannot be created: the run goes on without.
    pub fn open(root: &Path) -> Option<Cache> {
        std::fs::create_dir_all(root).ok()?;
        // Marks for tools that copy or back up directories (and for git,
        // should the cache be put inside a checkout).
        let tag = root.join("CACHEDIR.TAG");
        if !tag.exists() {
            let _ = std::fs::write(
                &tag,
                "Signature: 8a477f597d28d172789f06886806bc55\n# unclosed's analysis cache\n",
            );
        }
        let ignore = root.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(&ignore, "*\n");
        }
        let dir = root.join(format!("build-{BUILD_ID}"));
        std::fs::create_dir_all(&dir).ok()?;
        // Marks this build's entries as used now, for the pruning below.
        let _ = std::fs::write(dir.join("last-used"), b"");
        prune_other_builds(root, &dir);
        Some(Cache { dir })
    }

    /// A key starting from this build's identity.
    pub fn key() -> KeyBuilder {
        KeyBuilder::default().part(BUILD_ID.as_bytes())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{}.json", &key[2..]))
    }

    pub fn get(&self, key: &str) -> Option<Entry> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores an entry; a failure to write only costs the next run time.
    pub fn put(&self, key: &str, entry: &Entry) {
        let path = self.path(key);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let Ok(json) = serde_json::to_vec(entry) else {
            return;
        };
        // Written whole, then renamed: a reader never sees half an entry.
        if let Ok(mut file) = tempfile::NamedTempFile::new_in(dir)
            && file.write_all(&json).is_ok()
        {
            let _ = file.persist(&path);
        }
    }
}

/// How many other builds' entries are kept besides this build's: two tools
/// on one machine (the pre-commit hook's and a newer one, say) must not
/// keep wiping each other's cache.
const OTHER_BUILDS_KEPT: usize = 2;

/// Removes the entries of all but the most recently used other builds.
fn prune_other_builds(root: &Path, current: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let mut others: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("build-"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.path() != current)
        .map(|e| {
            let used = std::fs::metadata(e.path().join("last-used"))
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (used, e.path())
        })
        .collect();
    others.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, path) in others.into_iter().skip(OTHER_BUILDS_KEPT) {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// The digest of a file's exported summaries, for the keys of the files
/// that import it.
pub fn exports_digest(exports: &BTreeMap<String, FunctionSummary>) -> String {
    let json = serde_json::to_vec(exports).unwrap_or_default();
    KeyBuilder::default().part(&json).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_recently_used_other_builds_are_kept() {
        let root = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        for (i, name) in ["build-a", "build-b", "build-c"].iter().enumerate() {
            let dir = root.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let marker = std::fs::File::create(dir.join("last-used")).unwrap();
            marker
                .set_modified(old + std::time::Duration::from_secs(i as u64 * 60))
                .unwrap();
        }
        let cache = Cache::open(root.path()).unwrap();
        assert!(cache.dir.is_dir());
        let mut left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("build-"))
            .collect();
        left.sort();
        // This build's, and the two most recently used of the others.
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(left.contains(&"build-b".to_string()) && left.contains(&"build-c".to_string()));
        assert!(!left.contains(&"build-a".to_string()));
    }
}
