//! What analysing a project as a whole costs over analysing each file on
//! its own: the summaries of the functions of other files (`conn =
//! get_conn()` from `payments/db.py`), the pairs other files show, the
//! files reached from a command's entry point, and the order files must
//! be analysed in for all that (issue 8's "what the summaries cost").
//!
//!     cargo run --release --example cross_file_cost -- together DIR...
//!     cargo run --release --example cross_file_cost -- alone DIR...
//!
//! Each DIR is a project (a package of a corpus), checked as `unclosed
//! check DIR` checks it by default: its production files, with the default
//! settings. `together` checks each project as one, as the tool does;
//! `alone` checks every file as a project of its own. It prints the number
//! of files and of findings, and how many findings are on resources the
//! catalogue does not name (classified as bench/known_by.py does). Time
//! each mode with `/usr/bin/time` (bench/cross_file_cost.sh does).

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use unclosed::config::{CodeKind, Settings, code_kind};
use unclosed::finding::Finding;
use unclosed::runner::{FileResult, Job, RunOptions, check_jobs};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let together = match mode.as_str() {
        "together" => true,
        "alone" => false,
        _ => {
            eprintln!("usage: cross_file_cost together|alone DIR...");
            std::process::exit(2);
        }
    };
    let (mut files, mut findings, mut inferred) = (0, 0, 0);
    for dir in args.map(PathBuf::from) {
        let settings = Arc::new(Settings::defaults(dir.clone()));
        let jobs: Vec<Job> = unclosed::discover::discover(std::slice::from_ref(&dir))
            .files
            .into_iter()
            .filter(|f| {
                f.strip_prefix(&dir)
                    .is_ok_and(|relative| code_kind(relative) == CodeKind::Production)
            })
            .map(|f| Job::file(f, settings.clone(), CodeKind::Production))
            .collect();
        let results: Vec<FileResult> = if together {
            check_jobs(&jobs, RunOptions::default())
        } else {
            jobs.par_iter()
                .flat_map(|job| check_jobs(std::slice::from_ref(job), RunOptions::default()))
                .collect()
        };
        files += jobs.len();
        for finding in results.iter().flat_map(|r| &r.report.findings) {
            findings += 1;
            inferred += usize::from(is_inferred(finding));
        }
    }
    println!("files {files} findings {findings} inferred {inferred}");
}

/// A finding on a resource no catalogue entry names: learnt from its
/// release, an instance of an owner class, a class that keeps one (UC008),
/// or returned by a helper of the project.
fn is_inferred(finding: &Finding) -> bool {
    finding.resource.starts_with("learned:")
        || finding.resource.starts_with("owner:")
        || finding.code.id() == "UC008"
        || finding.message.contains("(a new one, from")
}
