//! Baselines, for adopting `unclosed` on an old repository: record today's
//! findings once, then report only new ones. Entries match by file,
//! function, resource and code — not by line — so an edit above a function
//! does not bring its old findings back.

use crate::runner::FileResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const BASELINE_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub function: String,
    pub resource: String,
    pub code: String,
    /// For the people reading the file; not used for matching.
    #[serde(default)]
    pub message: String,
}

type Key = (String, String, String, String);

fn key(path: &str, function: &str, resource: &str, code: &str) -> Key {
    (
        path.to_string(),
        function.to_string(),
        resource.to_string(),
        code.to_string(),
    )
}

impl Baseline {
    pub fn from_results(results: &[FileResult]) -> Baseline {
        let mut findings = Vec::new();
        let mut repo_paths = crate::render::RepoPaths::default();
        for result in results {
            let path = repo_paths.of(&result.path);
            for f in &result.report.findings {
                findings.push(Entry {
                    path: path.clone(),
                    function: f.function.clone(),
                    resource: f.resource.clone(),
                    code: f.code.id().to_string(),
                    message: f.message.clone(),
                });
            }
        }
        Baseline {
            version: BASELINE_VERSION,
            findings,
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a baseline serializes");
        text.push('\n');
        text
    }

    pub fn parse(text: &str) -> Result<Baseline, String> {
        let baseline: Baseline = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if baseline.version != BASELINE_VERSION {
            return Err(format!(
                "baseline version {} is not supported (expected {BASELINE_VERSION})",
                baseline.version
            ));
        }
        Ok(baseline)
    }

    /// Removes the findings the baseline already knows. Each entry absorbs
    /// one finding, so a second leak of the same kind in the same function is
    /// new. Returns how many findings were removed, and how many entries of
    /// the checked files matched nothing (leaks fixed since: stale entries).
    pub fn filter(&self, results: &mut [FileResult]) -> (usize, usize) {
        let mut budget: BTreeMap<Key, usize> = BTreeMap::new();
        for e in &self.findings {
            *budget
                .entry(key(&e.path, &e.function, &e.resource, &e.code))
                .or_default() += 1;
        }
        let mut removed = 0;
        let mut repo_paths = crate::render::RepoPaths::default();
        for result in results.iter_mut() {
            let path = repo_paths.of(&result.path);
            result.report.findings.retain(|f| {
                let k = key(&path, &f.function, &f.resource, f.code.id());
                match budget.get_mut(&k) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        removed += 1;
                        false
                    }
                    _ => true,
                }
            });
            if result.report.findings.is_empty() {
                result.source = None;
            }
        }
        // Entries of files this run did not check (a pre-commit run on a
        // few files) are not stale.
        let checked: std::collections::HashSet<String> = results
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| repo_paths.of(&r.path))
            .collect();
        let stale = budget
            .iter()
            .filter(|(k, _)| checked.contains(&k.0))
            .map(|(_, n)| n)
            .sum();
        (removed, stale)
    }
}
