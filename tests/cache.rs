//! The cache of earlier runs' analyses (issue 9): a second run gives the
//! same output from the cache, and a change to a file, or to a file it
//! imports, is analysed again.

mod common;

use common::{stdout_text, unclosed};
use std::path::Path;

/// Copies `fixtures/project` into `dir`.
fn copy_project(dir: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    copy(&common::fixtures().join("project"), &dir.join("project"));
}

/// The JSON report of `project/`, with or without the cache in `cache`.
fn report(dir: &Path, cache: Option<&Path>) -> String {
    let mut command = unclosed();
    command
        .current_dir(dir)
        .args(["check", "--exit-zero", "--output-format", "json"]);
    match cache {
        Some(cache) => {
            command
                .env_remove("UNCLOSED_NO_CACHE")
                .arg("--cache-dir")
                .arg(cache);
        }
        None => {
            command.arg("--no-cache");
        }
    }
    stdout_text(command.arg("project").assert().success())
}

fn entries(cache: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            usize::from(e.path().extension().is_some_and(|x| x == "json"))
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    count(cache)
}

#[test]
fn a_cached_run_reports_what_a_fresh_one_does_and_follows_changes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    copy_project(dir.path());
    let fresh = report(dir.path(), None);
    assert!(fresh.contains("\"UC00"), "{fresh}");
    // The first run fills the cache, the second reads it: the same report.
    assert_eq!(report(dir.path(), Some(&cache)), fresh);
    let stored = entries(&cache);
    assert!(stored > 0);
    assert_eq!(report(dir.path(), Some(&cache)), fresh);
    assert_eq!(entries(&cache), stored, "a warm run stores nothing new");

    // A helper that now closes what it made: the files that import it are
    // analysed again, with its new summary, as a fresh run would.
    let db = dir.path().join("project/payments/db.py");
    let text = std::fs::read_to_string(&db).unwrap();
    let changed = text.replace(
        "def get_conn():\n    return psycopg2.connect(PRIMARY_DSN, application_name=\"payments\")",
        "def get_conn():\n    conn = psycopg2.connect(PRIMARY_DSN, application_name=\"payments\")\n    conn.close()\n    return None",
    );
    assert_ne!(changed, text);
    std::fs::write(&db, changed).unwrap();
    let fresh_after = report(dir.path(), None);
    assert_ne!(fresh_after, fresh, "the change must change the findings");
    assert_eq!(report(dir.path(), Some(&cache)), fresh_after);

    // An entry that does not read back is a miss, not an error.
    fn corrupt(dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().is_dir() {
                corrupt(&entry.path());
            } else if entry.path().extension().is_some_and(|x| x == "json") {
                std::fs::write(entry.path(), b"{not json").unwrap();
            }
        }
    }
    corrupt(&cache);
    assert_eq!(report(dir.path(), Some(&cache)), fresh_after);
}
