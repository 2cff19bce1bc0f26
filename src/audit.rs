//! `unclosed audit ROOT...`: the one-off audit across a company's service
//! repositories. Finds each git repository under the roots (or takes a root
//! with none as one), checks it as `check --tests separate` would, and
//! sums up per repository: files, lines, findings per code and per kind of
//! resource, in production and in test code; repositories with no finding
//! are listed too.

use crate::codes::Code;
use crate::config::CodeKind;
use crate::discover::SKIPPED_DIRS;
use crate::runner::FileResult;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How deep below a root repositories are looked for.
const DEEPEST_REPOSITORY: usize = 6;

/// The repositories under `roots`: directories that hold `.git`, not
/// looked into further (a submodule belongs to its repository); a root
/// with none is a repository of its own. Sorted, without duplicates.
pub fn repositories(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in roots {
        let before = out.len();
        find(root, 0, &mut out);
        if out.len() == before {
            out.push(root.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

fn find(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if dir.join(".git").exists() {
        out.push(dir.to_path_buf());
        return;
    }
    if depth >= DEEPEST_REPOSITORY {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| !SKIPPED_DIRS.contains(&n))
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        find(&d, depth + 1, out);
    }
}

/// One repository's figures.
#[derive(Debug, Default, Serialize)]
pub struct RepositorySummary {
    pub repository: String,
    pub files: usize,
    /// Non-blank lines of the checked files.
    pub lines: usize,
    /// Files that could not be checked.
    pub errors: usize,
    pub findings: usize,
    pub production: usize,
    /// In test and auxiliary code.
    pub tests: usize,
    pub by_code: BTreeMap<String, usize>,
    /// By the noun of the resource: connection, file, socket, ...
    pub by_kind: BTreeMap<String, usize>,
}

impl RepositorySummary {
    /// Sums up the results of one repository; `noun` names a resource id's
    /// kind.
    pub fn of(
        repository: String,
        results: &[FileResult],
        lines: usize,
        noun: &dyn Fn(&str) -> String,
    ) -> RepositorySummary {
        let mut summary = RepositorySummary {
            repository,
            files: results.iter().filter(|r| r.error.is_none()).count(),
            lines,
            errors: results.iter().filter(|r| r.error.is_some()).count(),
            ..RepositorySummary::default()
        };
        for result in results {
            for finding in &result.report.findings {
                summary.findings += 1;
                if result.kind == CodeKind::Production {
                    summary.production += 1;
                } else {
                    summary.tests += 1;
                }
                *summary
                    .by_code
                    .entry(finding.code.id().to_string())
                    .or_default() += 1;
                *summary.by_kind.entry(noun(&finding.resource)).or_default() += 1;
            }
        }
        summary
    }
}

/// The audit as a table for people: one row per repository, then totals.
pub fn table(summaries: &[RepositorySummary]) -> String {
    let mut out = String::new();
    let header: Vec<String> = [
        "repository",
        "files",
        "lines",
        "findings",
        "production",
        "tests",
    ]
    .into_iter()
    .map(String::from)
    .chain(Code::ALL.iter().map(|c| c.id().to_string()))
    .chain(["kinds of resource".to_string()])
    .collect();
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|---|{}---|\n", "---:|".repeat(header.len() - 2)));
    let row = |s: &RepositorySummary| {
        let mut cells = vec![
            crate::finding::escape_controls(&s.repository),
            s.files.to_string(),
            s.lines.to_string(),
            s.findings.to_string(),
            s.production.to_string(),
            s.tests.to_string(),
        ];
        cells.extend(
            Code::ALL
                .iter()
                .map(|c| s.by_code.get(c.id()).copied().unwrap_or(0).to_string()),
        );
        let mut kinds: Vec<(&String, &usize)> = s.by_kind.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        cells.push(if kinds.is_empty() {
            "-".into()
        } else {
            kinds.join(", ")
        });
        format!("| {} |\n", cells.join(" | "))
    };
    for s in summaries {
        out.push_str(&row(s));
    }
    out.push_str(&row(&total(summaries)));
    let errors: usize = summaries.iter().map(|s| s.errors).sum();
    if errors > 0 {
        out.push_str(&format!(
            "\n{errors} file(s) could not be checked (see the errors above).\n"
        ));
    }
    out
}

/// The sum over all repositories, named `total`.
pub fn total(summaries: &[RepositorySummary]) -> RepositorySummary {
    let mut total = RepositorySummary {
        repository: format!("total ({} repositories)", summaries.len()),
        ..RepositorySummary::default()
    };
    for s in summaries {
        total.files += s.files;
        total.lines += s.lines;
        total.errors += s.errors;
        total.findings += s.findings;
        total.production += s.production;
        total.tests += s.tests;
        for (k, n) in &s.by_code {
            *total.by_code.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &s.by_kind {
            *total.by_kind.entry(k.clone()).or_default() += n;
        }
    }
    total
}

/// The audit as JSON: `{"repositories": [...], "total": {...}}`.
pub fn json(summaries: &[RepositorySummary]) -> String {
    #[derive(Serialize)]
    struct Audit<'a> {
        repositories: &'a [RepositorySummary],
        total: RepositorySummary,
    }
    let mut out = serde_json::to_string_pretty(&Audit {
        repositories: summaries,
        total: total(summaries),
    })
    .expect("plain data serialises");
    out.push('\n');
    out
}

/// Non-blank lines of a file (0 when it cannot be read).
pub fn non_blank_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|bytes| {
            bytes
                .split(|&b| b == b'\n')
                .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
                .count()
        })
        .unwrap_or(0)
}
