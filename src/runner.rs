//! Runs the analysis over many files in parallel. Each file is read, decoded
//! and analysed on its own; an unreadable file or a panic in the analysis
//! becomes an error for that file and the run goes on. Results come back in
//! the order of the input list, whatever the thread count.

use crate::analysis::{Options, analyze_source};
use crate::config::Settings;
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
}

/// Checks each file under its own settings and keeps only the findings its
/// settings report (`select`, `ignore`, `per-file-ignores`).
pub fn check_jobs(jobs: &[Job], force_module_level: bool) -> Vec<FileResult> {
    jobs.par_iter()
        .map(|job| {
            let options = Options {
                include_module_level: force_module_level || job.settings.include_module_level,
            };
            let mut result = check_file(&job.path, &job.settings.catalogue, &options);
            result
                .report
                .findings
                .retain(|f| job.settings.reports(f.code, &job.path));
            if result.report.findings.is_empty() {
                result.source = None;
            }
            result
        })
        .collect()
}

fn check_file(path: &std::path::Path, catalogue: &Catalogue, options: &Options) -> FileResult {
    let failed = |error: String| FileResult {
        path: path.to_path_buf(),
        source: None,
        report: FileReport::default(),
        error: Some(error),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return failed(format!("cannot be read: {e}")),
    };
    let source = match decode(&bytes) {
        Ok(s) => s,
        Err(e) => return failed(e.to_string()),
    };
    check_source(path.to_path_buf(), source, catalogue, options)
}

/// Analyses source text already in memory (also used for `--stdin-filename`).
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
            source: (!report.findings.is_empty()).then_some(source),
            report,
            error: None,
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
            }
        }
    }
}
