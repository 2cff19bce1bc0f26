//! Runs the analysis over many files in parallel. Each file is read, decoded
//! and analysed on its own; an unreadable file or a panic in the analysis
//! becomes an error for that file and the run goes on. Results come back in
//! the order of the input list, whatever the thread count.

use crate::analysis::{Options, analyze_source};
use crate::config::{CodeKind, Settings};
use crate::finding::FileReport;
use crate::rules::Catalogue;
use crate::source::decode;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    /// The decoded source, kept only when there is something to show in it.
    pub source: Option<String>,
    pub report: FileReport,
    /// Why the file could not be checked.
    pub error: Option<String>,
    /// Production, test or auxiliary code.
    pub kind: CodeKind,
    /// Whether its findings make the run fail (test code under `--tests
    /// separate` does not).
    pub gates: bool,
}

pub fn check_files(files: &[PathBuf], catalogue: &Catalogue, options: &Options) -> Vec<FileResult> {
    files
        .par_iter()
        .map(|path| check_file(path, catalogue, options))
        .collect()
}

/// A file with the settings that apply to it.
pub struct Job {
    pub path: PathBuf,
    pub settings: Arc<Settings>,
    /// Source given on standard input (`--stdin-filename`), instead of
    /// reading `path`.
    pub stdin: Option<String>,
    /// Production, test or auxiliary code; test code is checked with test
    /// semantics (an exception is a failing test).
    pub kind: CodeKind,
    /// Whether this file's findings make the run fail.
    pub gates: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// `--include-module-level`, over what the config says.
    pub force_module_level: bool,
    pub warn_unused_suppressions: bool,
}

/// Checks each file under its own settings, keeps only the findings its
/// settings report (`select`, `ignore`, `per-file-ignores`) and that no
/// inline suppression silences.
pub fn check_jobs(jobs: &[Job], run: RunOptions) -> Vec<FileResult> {
    jobs.par_iter().map(|job| check_job(job, run)).collect()
}

fn check_job(job: &Job, run: RunOptions) -> FileResult {
    let options = Options {
        include_module_level: run.force_module_level || job.settings.include_module_level,
        test_code: job.kind == CodeKind::Test,
    };
    let source = match &job.stdin {
        Some(text) => Ok(text.clone()),
        None => read_source(&job.path),
    };
    let source = match source {
        Ok(s) => s,
        Err(error) => return failed(&job.path, error),
    };
    let mut result = check_source(job.path.clone(), source, &job.settings.catalogue, &options);
    result.kind = job.kind;
    result.gates = job.gates;
    let Some(source) = result.source.take() else {
        return result;
    };
    let findings = &mut result.report.findings;
    findings.retain(|f| job.settings.reports(f.code, &job.path));
    let warnings = crate::suppress::apply(&source, findings, run.warn_unused_suppressions);
    result.report.warnings.extend(warnings);
    result.report.warnings.sort_by_key(|w| w.line);
    if !result.report.findings.is_empty() {
        result.source = Some(source);
    }
    result
}

fn failed(path: &std::path::Path, error: String) -> FileResult {
    FileResult {
        path: path.to_path_buf(),
        source: None,
        report: FileReport::default(),
        error: Some(error),
        kind: CodeKind::Production,
        gates: true,
    }
}

fn read_source(path: &std::path::Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    decode(&bytes).map_err(|e| e.to_string())
}

fn check_file(path: &std::path::Path, catalogue: &Catalogue, options: &Options) -> FileResult {
    let mut result = match read_source(path) {
        Ok(source) => check_source(path.to_path_buf(), source, catalogue, options),
        Err(error) => return failed(path, error),
    };
    if result.report.findings.is_empty() {
        result.source = None;
    }
    result
}

/// Analyses source text already in memory; the result keeps the source.
pub fn check_source(
    path: PathBuf,
    source: String,
    catalogue: &Catalogue,
    options: &Options,
) -> FileResult {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        analyze_source(&source, catalogue, options)
    }));
    match outcome {
        Ok(report) => FileResult {
            path,
            source: Some(source),
            report,
            error: None,
            kind: CodeKind::Production,
            gates: true,
        },
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            FileResult {
                path,
                source: None,
                report: FileReport::default(),
                error: Some(format!(
                    "internal error while analysing (please report it): {why}"
                )),
                kind: CodeKind::Production,
                gates: true,
            }
        }
    }
}
