//! The command line: parses arguments, runs discovery and the checks, prints,
//! and maps the outcome to an exit status.

use crate::analysis::Options;
use crate::discover::discover;
use crate::render::{self, display_path};
use crate::rules::Catalogue;
use crate::runner::check_files;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Exit statuses; each means one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything was checked and nothing leaks.
    Clean = 0,
    /// Everything was checked and something leaks.
    Findings = 1,
    /// Bad usage, or a file could not be checked: a gate must not pass on
    /// code it did not read.
    Error = 2,
}

#[derive(Debug, Parser)]
#[command(
    name = "unclosed",
    version,
    about = "Finds resource leaks in Python code: connections, files, sockets, locks and processes that some path never releases."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check Python files and directories for leaked resources.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or directories to check; directories are walked for `*.py`,
    /// honouring `.gitignore`.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// How findings are printed.
    #[arg(long, value_enum, default_value_t = OutputFormat::Full)]
    pub output_format: OutputFormat,
    /// Number of threads (default: one per core). Output is the same for any value.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also analyse module-level code.
    #[arg(long)]
    pub include_module_level: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Source snippets with the leaking path labelled.
    Full,
    /// One line per finding: `path:line:col: CODE message`.
    Concise,
}

pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> ExitStatus {
    let catalogue = Catalogue::builtin();
    let options = Options {
        include_module_level: args.include_module_level,
    };
    let discovered = discover(&args.paths);
    let results = match args.threads {
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(|| check_files(&discovered.files, &catalogue, &options)),
            Err(e) => {
                eprintln!("unclosed: error: cannot start {n} threads: {e}");
                return ExitStatus::Error;
            }
        },
        None => check_files(&discovered.files, &catalogue, &options),
    };

    let mut had_error = false;
    let mut stderr = std::io::stderr().lock();
    for err in &discovered.errors {
        had_error = true;
        let _ = writeln!(
            stderr,
            "{}: error: {}",
            display_path(&err.path),
            err.message
        );
    }
    let style = render::human::Style {
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        width: 100,
    };
    let mut out = String::new();
    let mut findings = 0;
    let mut files_with_findings = 0;
    for result in &results {
        let path = display_path(&result.path);
        if let Some(error) = &result.error {
            had_error = true;
            let _ = writeln!(stderr, "{path}: error: {error}");
        }
        for warning in &result.report.warnings {
            match warning.line {
                Some(line) => {
                    let _ = writeln!(stderr, "{path}:{line}: warning: {}", warning.message);
                }
                None => {
                    let _ = writeln!(stderr, "{path}: warning: {}", warning.message);
                }
            }
        }
        if !result.report.findings.is_empty() {
            files_with_findings += 1;
        }
        for finding in &result.report.findings {
            findings += 1;
            match args.output_format {
                OutputFormat::Concise => out.push_str(&render::concise::render(&path, finding)),
                OutputFormat::Full => {
                    let source = result.source.as_deref().unwrap_or("");
                    out.push_str(&render::human::render(&path, source, finding, &style));
                    out.push('\n');
                }
            }
        }
    }
    if args.output_format == OutputFormat::Full {
        let checked = results.iter().filter(|r| r.error.is_none()).count();
        let files = |n: usize| if n == 1 { "file" } else { "files" };
        if findings == 0 {
            out.push_str(&format!(
                "No leaks found in {checked} {}.\n",
                files(checked)
            ));
        } else {
            let leaks = if findings == 1 { "leak" } else { "leaks" };
            out.push_str(&format!(
                "Found {findings} {leaks} in {files_with_findings} {} ({checked} {} checked).\n",
                files(files_with_findings),
                files(checked)
            ));
        }
    }
    drop(stderr);
    if let Err(e) = std::io::stdout().lock().write_all(out.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("unclosed: error: cannot write output: {e}");
        return ExitStatus::Error;
    }
    if had_error {
        ExitStatus::Error
    } else if findings > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    }
}
