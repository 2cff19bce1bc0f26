//! The command line: parses arguments, resolves configuration, runs
//! discovery and the checks, prints, and maps the outcome to an exit status.

use crate::baseline::Baseline;
use crate::codes::Code;
use crate::config::{CodeKind, ConfigError, Resolver, TestsPolicy};
use crate::discover::discover;
use crate::docs;
use crate::finding::LearntKind;
use crate::render::{self, display_path};
use crate::runner::{FileResult, Job, RunOptions, check_jobs};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Exit statuses; each means one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything was checked and nothing leaks.
    Clean = 0,
    /// Everything was checked and something leaks.
    Findings = 1,
    /// Bad usage or configuration, or a file could not be checked: a gate
    /// must not pass on code it did not read.
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
    Check(Box<CheckArgs>),
    /// List the finding codes.
    Rules,
    /// Show the documentation of a code (`UC003`, or by name:
    /// `release-not-awaited`) or of a resource id (`sqlite3-connection`),
    /// offline; `--all` shows every code's.
    Rule {
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        /// Every code's documentation.
        #[arg(long, conflicts_with = "id")]
        all: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List the resource catalogue: built-in entries plus those configured.
    Resources {
        #[command(flatten)]
        config: ConfigArgs,
        /// Instead of the catalogue, list the resources inferred in PATHS:
        /// pairs learnt from a release, helpers that return a new resource,
        /// owner classes; with the configuration entry that would make a
        /// pair known in every function.
        #[arg(long)]
        learned: bool,
        /// With `--learned`: files or directories to look in.
        #[arg(default_value = ".", requires = "learned")]
        paths: Vec<PathBuf>,
    },
    /// Print the rules documentation (docs/rules.md) as Markdown.
    Docs,
    /// Audit every repository under ROOTS: the git repositories found
    /// there (or each root), checked with test code reported apart, summed
    /// up per repository and in total.
    Audit {
        /// Directories holding the repositories.
        #[arg(required = true)]
        roots: Vec<PathBuf>,
        /// `table` (Markdown, for people), `json`, or `html` (one page).
        #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
        output_format: AuditFormat,
        /// Write the report to this file instead of standard output.
        #[arg(long, value_name = "PATH")]
        output_file: Option<PathBuf>,
        /// Analyse every file, without the cache of earlier runs.
        #[arg(long)]
        no_cache: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    /// One self-contained page (no network) for managers and tech leads.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Use this configuration file (`pyproject.toml` with `[tool.unclosed]`,
    /// or `unclosed.toml`) for every file, instead of the nearest one.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ignore all configuration files.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or directories to check; directories are walked for `*.py`,
    /// honouring `.gitignore`.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// How findings are printed [default: full on a terminal, concise
    /// otherwise, as in ruff].
    #[arg(long, value_enum)]
    pub output_format: Option<OutputFormat>,
    /// Write the findings to this file instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Number of threads (default: one per core). Output is the same for any value.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also analyse module-level code (overrides `include-module-level`).
    #[arg(long)]
    pub include_module_level: bool,
    /// Test and auxiliary code (`test_*.py`, `*_test.py`, `conftest.py`,
    /// `tests/`, `test/`, `t/`, `*_tests/`, `testing/`; `examples/`, `docs/`, `benchmarks/`, `profiling/`,
    /// `scripts/`, `bin/`, `tools/`, `contrib/` unless a package, `setup.py`):
    /// not checked, checked like the rest, or checked and reported apart
    /// without failing the run [default: the `tests` setting, else exclude].
    #[arg(long, value_enum, value_name = "POLICY")]
    pub tests: Option<TestsPolicy>,
    /// Read the source from standard input, checked as if it were this file
    /// (its configuration and exclusions apply).
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in this baseline file (and exit 0).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
    /// Report suppression comments that suppress nothing or name unknown codes.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub warn_unused_suppressions: bool,
    /// Exit 0 even when leaks are found (errors still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// Print findings and errors only: no summary, no warnings.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the number of findings per code instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Print the files that would be checked, and exit.
    #[arg(long)]
    pub show_files: bool,
    /// Colour in the full output: `auto` colours a terminal unless NO_COLOR
    /// is set, or when FORCE_COLOR is.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Codes to report (comma-separated; prefixes such as `UC00`, or
    /// `ALL`), instead of the configuration's `select`.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub select: Vec<String>,
    /// Codes to report besides `select`.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Codes never to report, besides the configuration's `ignore`.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Glob patterns of files not to check, instead of the configuration's
    /// `exclude` (relative to the current directory; a bare name such as
    /// `migrations` matches that directory anywhere).
    #[arg(long, value_name = "PATTERNS", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Glob patterns of files not to check, besides `exclude`.
    #[arg(long, value_name = "PATTERNS", value_delimiter = ',')]
    pub extend_exclude: Vec<String>,
    /// `PATTERN:CODES` (`scripts/*.py:UC001,UC005`), instead of the
    /// configuration's `per-file-ignores`; may be repeated.
    #[arg(long, value_name = "PATTERN:CODES")]
    pub per_file_ignores: Vec<String>,
    /// After the findings, a total and how to go on on stderr: the command
    /// that shows each leaking path, and how to suppress one (the
    /// pre-commit hook's output).
    #[arg(long)]
    pub hints: bool,
    /// Exit 2 when part of the code could not be analysed in full (a
    /// syntax error, a function past the analysis's budgets), as for a file
    /// that could not be read: a gate that must not pass on code it did not
    /// read.
    #[arg(long)]
    pub strict: bool,
    /// Analyse every file, without reading or writing the cache of earlier
    /// runs' results (also: UNCLOSED_NO_CACHE=1).
    #[arg(long)]
    pub no_cache: bool,
    /// Check the named files on their own, without reading the rest of
    /// their git repository as context: faster on a big repository, but a
    /// finding that depends on another file (a helper there that returns a
    /// connection or closes one, a caller that makes a function a
    /// command's) may differ from a run over the whole repository.
    #[arg(long)]
    pub no_context: bool,
    /// Where to keep the cache [default: $UNCLOSED_CACHE_DIR, else
    /// $XDG_CACHE_HOME/unclosed or ~/.cache/unclosed]. Never inside a
    /// repository unless asked: a checked repository must not be able to
    /// plant results.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Source snippets with the leaking path labelled.
    Full,
    /// One line per finding: `path:line:col: CODE message`.
    Concise,
    /// One JSON document (schema in docs/json-output.md).
    Json,
    /// One JSON object per finding per line.
    JsonLines,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitLab Code Quality report.
    Gitlab,
}

pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Check(args) => check(*args),
        Command::Rules => print_out(&docs::codes_table()),
        Command::Rule { id, all, config } => match (all, id) {
            (true, _) => print_out(&Code::ALL.map(docs::code_markdown).join("\n")),
            (false, Some(id)) => rule(&id, &config),
            (false, None) => ExitStatus::Error,
        },
        Command::Resources {
            config,
            learned: true,
            paths,
        } => learned(&config, paths),
        Command::Resources { config, .. } => match catalogue_settings(&config) {
            Ok(settings) => print_out(&docs::resources_table(&settings.catalogue)),
            Err(e) => config_failure(&e),
        },
        Command::Docs => print_out(&docs::rules_markdown(&crate::rules::Catalogue::builtin())),
        Command::Audit {
            roots,
            output_format,
            output_file,
            no_cache,
        } => audit(&roots, output_format, output_file.as_deref(), no_cache),
    }
}

/// `unclosed audit`: each repository checked under its own configuration,
/// test code reported apart; a line of progress per repository on a
/// terminal.
fn audit(
    roots: &[PathBuf],
    format: AuditFormat,
    output_file: Option<&Path>,
    no_cache: bool,
) -> ExitStatus {
    for root in roots {
        if !root.is_dir() {
            eprintln!("unclosed: error: {} is not a directory", display_path(root));
            return ExitStatus::Error;
        }
    }
    let repositories = crate::audit::repositories(roots);
    let cache = open_cache(no_cache, None);
    let progress = std::io::stderr().is_terminal();
    let mut summaries = Vec::new();
    let mut page_findings = Vec::new();
    let mut failed = false;
    for (i, repository) in repositories.iter().enumerate() {
        let shown = display_path(repository);
        if progress {
            eprint!("\r\x1b[2K[{}/{}] {shown}", i + 1, repositories.len());
        }
        let mut resolver = match Resolver::new(None, false) {
            Ok(r) => r,
            Err(e) => return config_failure(&e),
        };
        let found = collect_jobs_from(
            std::slice::from_ref(repository),
            Some(TestsPolicy::Separate),
            None,
            &mut resolver,
            false,
            true,
        );
        // A repository without Python files is listed with zeros.
        let (jobs, walk_errors) = match found {
            Ok((jobs, errors, _)) => (jobs, errors),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let run = RunOptions {
            force_module_level: false,
            warn_unused_suppressions: false,
            list_learnt: false,
        };
        let mut results = crate::runner::check_jobs_cached(&jobs, run, cache.as_ref());
        results.extend(walk_errors.into_iter().map(|e| FileResult {
            path: e.path,
            source: None,
            report: crate::finding::FileReport::default(),
            error: Some(e.message),
            kind: CodeKind::Production,
            gates: true,
        }));
        let lines = results
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| crate::audit::non_blank_lines(&r.path))
            .sum();
        let catalogue = jobs.first().map(|j| j.settings.catalogue.clone());
        let noun = |id: &str| {
            catalogue
                .as_ref()
                .and_then(|c| c.get(id))
                .map_or_else(|| "inferred".to_string(), |r| r.noun.clone())
        };
        failed |= results.iter().any(|r| r.error.is_some());
        if progress {
            eprint!("\r\x1b[2K");
        }
        report_problems(&results, true);
        if format == AuditFormat::Html {
            for result in &results {
                let path = display_path(&result.path);
                for finding in &result.report.findings {
                    page_findings.push(crate::render::html::PageFinding::new(
                        &shown,
                        &path,
                        finding,
                        result.source.as_deref(),
                        result.kind,
                    ));
                }
            }
        }
        summaries.push(crate::audit::RepositorySummary::of(
            shown, &results, lines, &noun,
        ));
    }
    let output = match format {
        AuditFormat::Table => crate::audit::table(&summaries),
        AuditFormat::Json => crate::audit::json(&summaries),
        AuditFormat::Html => crate::render::html::render(&summaries, &page_findings),
    };
    if let Err(status) = write_output(&output, output_file) {
        return status;
    }
    if failed {
        ExitStatus::Error
    } else if summaries.iter().any(|s| s.production > 0) {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    }
}

/// How many parts of the code were not fully analysed (warnings marked
/// incomplete).
fn incomplete_parts(results: &[FileResult]) -> usize {
    results
        .iter()
        .flat_map(|r| &r.report.warnings)
        .filter(|w| w.incomplete)
        .count()
}

/// `--hints`: the total, the command that shows the leaking paths of the
/// files with findings, and how to suppress one.
fn print_hints(results: &[FileResult]) {
    let with_findings: Vec<String> = results
        .iter()
        .filter(|r| r.gates && !r.report.findings.is_empty())
        .map(|r| display_path(&r.path))
        .collect();
    if with_findings.is_empty() {
        return;
    }
    let findings: usize = results
        .iter()
        .filter(|r| r.gates)
        .map(|r| r.report.findings.len())
        .sum();
    let leaks = if findings == 1 { "leak" } else { "leaks" };
    let files = if with_findings.len() == 1 {
        "file"
    } else {
        "files"
    };
    eprintln!(
        "unclosed: {findings} {leaks} in {} {files}. The path of each: unclosed check --output-format full {}",
        with_findings.len(),
        with_findings.join(" ")
    );
    eprintln!(
        "unclosed: a leak that is meant (a resource kept for the process's life) is silenced by `# noqa: UC001` (its code) on the acquiring line"
    );
}

/// The cache of earlier runs, unless turned off (see `cache`).
fn open_cache(no_cache: bool, dir: Option<PathBuf>) -> Option<crate::cache::Cache> {
    if no_cache || std::env::var_os("UNCLOSED_NO_CACHE").is_some_and(|v| v == "1") {
        return None;
    }
    dir.or_else(|| {
        std::env::var_os("UNCLOSED_CACHE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
    .or_else(crate::cache::Cache::default_dir)
    .and_then(|dir| crate::cache::Cache::open(&dir))
}

/// The settings that apply in the current directory.
fn catalogue_settings(
    args: &ConfigArgs,
) -> Result<std::sync::Arc<crate::config::Settings>, ConfigError> {
    let mut resolver = Resolver::new(args.config.as_deref(), args.isolated)?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    resolver.settings_for(&cwd.join("__unclosed__.py"))
}

fn rule(id: &str, config: &ConfigArgs) -> ExitStatus {
    let by_name = Code::ALL.into_iter().find(|c| c.name() == id);
    if let Some(code) = Code::parse(&id.to_uppercase()).or(by_name) {
        return print_out(&docs::code_markdown(code));
    }
    let settings = match catalogue_settings(config) {
        Ok(s) => s,
        Err(e) => return config_failure(&e),
    };
    match settings.catalogue.get(id) {
        Some(resource) => print_out(&docs::resource_markdown(resource)),
        None => {
            eprintln!(
                "unclosed: error: `{id}` is neither a code (UC001-UC008) nor a resource id; `unclosed rules` and `unclosed resources` list them"
            );
            ExitStatus::Error
        }
    }
}

fn print_out(text: &str) -> ExitStatus {
    write_output(text, None).err().unwrap_or(ExitStatus::Clean)
}

fn config_failure(error: &ConfigError) -> ExitStatus {
    let handler = miette::GraphicalReportHandler::new_themed(if stderr_color() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    })
    .with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, error).is_err() {
        out = format!("{error}\n");
    }
    eprint!("{out}");
    ExitStatus::Error
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && !no_color()
}

/// The stack of each analysis thread: deep nesting in a file is refused by
/// the analysis's own budgets long before this is reached.
const ANALYSIS_STACK_SIZE: usize = 16 * 1024 * 1024;

fn check(args: CheckArgs) -> ExitStatus {
    let mut resolver = match Resolver::new(args.config.config.as_deref(), args.config.isolated) {
        Ok(r) => r,
        Err(e) => return config_failure(&e),
    };
    match crate::config::CommandLine::parse(
        &args.select,
        &args.extend_select,
        &args.ignore,
        &args.exclude,
        &args.extend_exclude,
        &args.per_file_ignores,
    ) {
        Ok(command_line) => resolver.override_with(command_line),
        Err(e) => {
            eprintln!("unclosed: error: {e}");
            return ExitStatus::Error;
        }
    }
    let (jobs, walk_errors, skipped_tests) = match collect_jobs(&args, &mut resolver) {
        Ok(found) => found,
        Err(status) => return status,
    };
    if args.show_files {
        let listing: String = jobs
            .iter()
            .filter(|j| !j.context)
            .map(|j| format!("{}\n", display_path(&j.path)))
            .collect();
        return print_out(&listing);
    }
    let run_options = RunOptions {
        force_module_level: args.include_module_level,
        warn_unused_suppressions: args.warn_unused_suppressions,
        list_learnt: false,
    };
    let cache = open_cache(args.no_cache, args.cache_dir.clone());
    let run = || crate::runner::check_jobs_cached(&jobs, run_options, cache.as_ref());
    // One thread per core unless asked; a stack of our own size, because
    // syntax trees are walked recursively and rayon's default is small.
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(ANALYSIS_STACK_SIZE)
        .build();
    let mut results = match pool {
        Ok(pool) => pool.install(run),
        Err(e) => {
            eprintln!("unclosed: error: cannot start {threads} threads: {e}");
            return ExitStatus::Error;
        }
    };
    // Paths that could not be walked are reported like files that could not
    // be read, in every format.
    results.extend(walk_errors.into_iter().map(|e| FileResult {
        path: e.path,
        source: None,
        report: Default::default(),
        error: Some(e.message),
        kind: CodeKind::Production,
        gates: true,
    }));
    results.sort_by(|a, b| a.path.cmp(&b.path));

    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::from_results(&results);
        if let Err(status) = write_output(&baseline.to_json(), Some(path)) {
            return status;
        }
        if !args.quiet {
            eprintln!(
                "unclosed: wrote {} finding(s) to the baseline {}",
                baseline.findings.len(),
                path.display()
            );
        }
        report_problems(&results, args.quiet);
        return if results.iter().any(|r| r.error.is_some()) {
            ExitStatus::Error
        } else {
            ExitStatus::Clean
        };
    }
    if let Some(path) = &args.baseline {
        let baseline = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Baseline::parse(&text));
        match baseline {
            Ok(b) => {
                let (hidden, stale) = b.filter(&mut results);
                if !args.quiet && (hidden > 0 || stale > 0) {
                    let mut note = format!("unclosed: the baseline hid {hidden} known finding(s)");
                    if stale > 0 {
                        note.push_str(&format!(
                            "; {stale} of its entries match nothing any more (fixed?): \
                             `--write-baseline` prunes them"
                        ));
                    }
                    eprintln!("{note}");
                }
            }
            Err(e) => {
                eprintln!(
                    "unclosed: error: cannot use the baseline {}: {e}",
                    path.display()
                );
                return ExitStatus::Error;
            }
        }
    }

    let to_terminal = args.output_file.is_none() && std::io::stdout().is_terminal();
    let format = args.output_format.unwrap_or(if to_terminal {
        OutputFormat::Full
    } else {
        OutputFormat::Concise
    });
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("FORCE_COLOR").is_some_and(|v| !v.is_empty())
                || (to_terminal && !no_color())
        }
    };
    let output = if args.statistics {
        // ruff's `--statistics --output-format json`: the counts as JSON.
        match args.output_format {
            Some(OutputFormat::Json) => statistics_json(&results),
            _ => statistics(&results),
        }
    } else {
        match format {
            OutputFormat::Full => full(&results, color, args.quiet, skipped_tests),
            OutputFormat::Concise => concise(&results),
            OutputFormat::Json => render::json::render(&results),
            OutputFormat::JsonLines => render::json::render_lines(&results),
            OutputFormat::Github => render::github::render(&results),
            OutputFormat::Sarif => render::sarif::render(&results),
            OutputFormat::Gitlab => render::gitlab::render(&results),
        }
    };
    // Files that could not be checked are named on stderr whatever the
    // format: a machine format on stdout stays parseable, and a person or a
    // CI log still sees why the run failed.
    report_problems(&results, args.quiet);
    if let Err(status) = write_output(&output, args.output_file.as_deref()) {
        return status;
    }
    if args.hints && !args.quiet {
        print_hints(&results);
    }
    let incomplete = incomplete_parts(&results);
    if results.iter().any(|r| r.error.is_some()) {
        ExitStatus::Error
    } else if args.strict && incomplete > 0 {
        // A gate that must not pass on code it did not fully read.
        eprintln!(
            "unclosed: error: {incomplete} part(s) of the code were not fully analysed (--strict; see the warnings)"
        );
        ExitStatus::Error
    } else if results
        .iter()
        .any(|r| r.gates && !r.report.findings.is_empty())
        && !args.exit_zero
    {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    }
}

/// `unclosed resources --learned`: what the analysis inferred in the
/// production code under `paths`, grouped by kind, in path order.
fn learned(config: &ConfigArgs, paths: Vec<PathBuf>) -> ExitStatus {
    let mut resolver = match Resolver::new(config.config.as_deref(), config.isolated) {
        Ok(r) => r,
        Err(e) => return config_failure(&e),
    };
    let discovered = discover(&paths);
    let mut jobs = Vec::new();
    for path in discovered.files {
        let settings = match resolver.settings_for(&path) {
            Ok(s) => s,
            Err(e) => return config_failure(&e),
        };
        let kind = settings.code_kind(&path);
        if settings.excludes(&path) || kind != CodeKind::Production {
            continue;
        }
        jobs.push(Job::file(path, settings, kind));
    }
    let run = RunOptions {
        list_learnt: true,
        ..RunOptions::default()
    };
    let mut results = check_jobs(&jobs, run);
    results.sort_by(|a, b| a.path.cmp(&b.path));
    let mut sections = [
        (
            LearntKind::Pair,
            "Pairs learnt from a release in the same function",
            String::new(),
            0,
        ),
        (
            LearntKind::Helper,
            "Functions that return a new resource",
            String::new(),
            0,
        ),
        (
            LearntKind::Owner,
            "Classes whose instances keep a resource",
            String::new(),
            0,
        ),
    ];
    // Pairs that would make the same entry are shown once, with each place
    // they were learnt.
    let mut entries: Vec<(&str, Vec<String>)> = Vec::new();
    for result in &results {
        let path = display_path(&result.path);
        for l in &result.report.learnt {
            let place = format!("  {path}:{}  in `{}`: {}\n", l.line, l.scope, l.what);
            if let Some(entry) = &l.entry {
                match entries.iter_mut().find(|(e, _)| e == entry) {
                    Some((_, places)) => places.push(place),
                    None => entries.push((entry, vec![place])),
                }
                continue;
            }
            let Some((_, _, text, count)) = sections.iter_mut().find(|s| s.0 == l.kind) else {
                continue;
            };
            *count += 1;
            text.push_str(&place);
        }
    }
    for (entry, places) in &entries {
        let (_, _, text, count) = &mut sections[0];
        *count += 1;
        places.iter().for_each(|p| text.push_str(p));
        for line in entry.lines() {
            text.push_str(&format!("      {line}\n"));
        }
        text.push('\n');
    }
    let mut out = String::new();
    for (_, title, text, count) in &sections {
        out.push_str(&format!("{title} ({count}):\n"));
        out.push_str(if text.is_empty() { "  none\n" } else { text });
        out.push('\n');
    }
    out.push_str(
        "A pair learnt in one function holds in the other functions of its file and, when \
         it is a method on a named receiver (`pool.checkout()`), in every checked file where \
         keeping it is the habit. To make one known wherever the tool runs (a pre-commit run \
         checks a few files), review its entry, add it to the configuration (see \
         rules/README.md) and adjust its summary.\n",
    );
    print_out(&out)
}

/// The files to check with their settings, after exclusions, the walk's
/// errors, and how many test files `--tests exclude` left out.
fn collect_jobs(
    args: &CheckArgs,
    resolver: &mut Resolver,
) -> Result<(Vec<Job>, Vec<crate::discover::DiscoveryError>, usize), ExitStatus> {
    collect_jobs_from(
        &args.paths,
        args.tests,
        args.stdin_filename.as_ref(),
        resolver,
        true,
        !args.no_context,
    )
}

/// The files under `paths` to check, with their settings (see
/// `collect_jobs`).
fn collect_jobs_from(
    paths: &[PathBuf],
    tests: Option<TestsPolicy>,
    stdin_filename: Option<&PathBuf>,
    resolver: &mut Resolver,
    nothing_is_an_error: bool,
    with_context: bool,
) -> Result<(Vec<Job>, Vec<crate::discover::DiscoveryError>, usize), ExitStatus> {
    let mut jobs = Vec::new();
    let mut skipped_tests = 0;
    // `None`: excluded; otherwise the job with its test classification.
    let mut job = |path: PathBuf, settings: std::sync::Arc<crate::config::Settings>, stdin| {
        if settings.excludes(&path) {
            return None;
        }
        let kind = settings.code_kind(&path);
        let shipped = kind == CodeKind::Production;
        let policy = tests.unwrap_or(settings.tests);
        if !shipped && policy == TestsPolicy::Exclude {
            skipped_tests += 1;
            return None;
        }
        Some(Job {
            path,
            settings,
            stdin,
            kind,
            gates: shipped || policy == TestsPolicy::Include,
            context: false,
        })
    };
    // `check -` reads standard input, as ruff does; `--stdin-filename`
    // names it (for its configuration, exclusions and messages).
    let reads_stdin = paths.len() == 1 && paths[0] == Path::new("-");
    let stdin_name = stdin_filename
        .cloned()
        .or_else(|| reads_stdin.then(|| PathBuf::from("-")));
    if let Some(name) = &stdin_name {
        // The same bytes-to-text rules as a file: coding lines, NUL bytes,
        // line endings, the size cap.
        let mut bytes = Vec::new();
        let limit = crate::runner::LARGEST_SOURCE;
        if let Err(e) = std::io::Read::read_to_end(
            &mut std::io::Read::take(std::io::stdin(), limit + 1),
            &mut bytes,
        ) {
            eprintln!("unclosed: error: cannot read standard input: {e}");
            return Err(ExitStatus::Error);
        }
        let source = match crate::runner::source_text(&bytes) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{}: error: {e}", display_path(name));
                return Err(ExitStatus::Error);
            }
        };
        let settings = resolver
            .settings_for(name)
            .map_err(|e| config_failure(&e))?;
        jobs.extend(job(name.clone(), settings, Some(source)));
        // An editor's buffer, named: the rest of its repository is context
        // as for a named file (the buffer replaces the file on disk).
        if with_context && stdin_filename.is_some() && !jobs.is_empty() {
            let context = project_context(&[name], &[name.as_path()], tests, resolver)?;
            jobs.extend(context);
        }
        return Ok((jobs, Vec::new(), skipped_tests));
    }
    let discovered = discover(paths);
    if nothing_is_an_error && discovered.files.is_empty() && discovered.errors.is_empty() {
        // A gate that checked nothing must not pass as clean: the paths are
        // wrong, or ignore files outside the project emptied the walk.
        // (Files found and then left out by the configuration are fine.)
        let paths: Vec<String> = paths.iter().map(|p| display_path(p)).collect();
        eprintln!(
            "unclosed: error: no Python files found under {}: nothing was checked",
            paths.join(", ")
        );
        return Err(ExitStatus::Error);
    }
    // Which files each configuration saw, to name its `exclude` patterns
    // that match none of them (only on a walk of directories: a list of a
    // few files, as pre-commit gives, says nothing of the patterns).
    let walked = paths.iter().all(|p| p.is_dir());
    let mut seen: Vec<(std::sync::Arc<crate::config::Settings>, Vec<PathBuf>)> = Vec::new();
    for path in discovered.files {
        let settings = resolver
            .settings_for(&path)
            .map_err(|e| config_failure(&e))?;
        if walked {
            match seen
                .iter_mut()
                .find(|(s, _)| std::sync::Arc::ptr_eq(s, &settings))
            {
                Some((_, files)) => files.push(path.clone()),
                None => seen.push((settings.clone(), vec![path.clone()])),
            }
        }
        jobs.extend(job(path, settings, None));
    }
    for (settings, files) in &seen {
        for (pattern, origin) in settings.unmatched_excludes(files.iter().map(PathBuf::as_path)) {
            let cwd = std::env::current_dir().unwrap_or_default();
            let origin = origin.map_or_else(
                || "the configuration".to_string(),
                |o| display_path(o.strip_prefix(&cwd).unwrap_or(&o)),
            );
            eprintln!(
                "unclosed: warning: `exclude` pattern `{pattern}` in {origin} matches no file under the checked paths"
            );
        }
    }
    let named: Vec<&PathBuf> = paths.iter().filter(|p| p.is_file()).collect();
    if with_context && !named.is_empty() {
        let checked: Vec<&Path> = jobs.iter().map(|j| j.path.as_path()).collect();
        let context = project_context(&named, &checked, tests, resolver)?;
        jobs.extend(context);
    }
    Ok((jobs, discovered.errors, skipped_tests))
}

/// The rest of the project around the files named on the command line (a
/// pre-commit run's staged files): the files a check of the whole git
/// repository would check, analysed for what the named files need (the
/// summaries of what they import, the pairs other functions show, the
/// callers that make a function a command's) and not reported, so that a
/// named file gets the findings a CI run over the repository gives it. A
/// file outside any git repository is checked on its own.
fn project_context(
    named: &[&PathBuf],
    checked: &[&Path],
    tests: Option<TestsPolicy>,
    resolver: &mut Resolver,
) -> Result<Vec<Job>, ExitStatus> {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    // (Also a named file the configuration excludes: it is not checked,
    // and it is no context either.)
    let already: std::collections::HashSet<PathBuf> = checked
        .iter()
        .map(|p| canonical(p))
        .chain(named.iter().map(|p| canonical(p)))
        .collect();
    let mut roots: Vec<PathBuf> = named
        .iter()
        .filter_map(|p| {
            let dir = canonical(p).parent()?.to_path_buf();
            crate::discover::git_root(&dir).map(Path::to_path_buf)
        })
        .collect();
    roots.sort();
    roots.dedup();
    // The root as the named files are written (`.` in pre-commit, which
    // runs at the top of the repository), so that both kinds of file are
    // named alike.
    let cwd = canonical(Path::new("."));
    let walked: Vec<PathBuf> = roots
        .into_iter()
        .map(|root| match root.strip_prefix(&cwd) {
            Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from("."),
            Ok(rest) => rest.to_path_buf(),
            Err(_) => root,
        })
        .collect();
    let mut jobs = Vec::new();
    for path in discover(&walked).files {
        if already.contains(&canonical(&path)) {
            continue;
        }
        let path = match path.strip_prefix(".") {
            Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
            _ => path,
        };
        let settings = resolver
            .settings_for(&path)
            .map_err(|e| config_failure(&e))?;
        let kind = settings.code_kind(&path);
        let policy = tests.unwrap_or(settings.tests);
        if settings.excludes(&path)
            || (kind != CodeKind::Production && policy == TestsPolicy::Exclude)
        {
            continue;
        }
        jobs.push(Job {
            gates: false,
            context: true,
            ..Job::file(path, settings, kind)
        });
    }
    Ok(jobs)
}

/// `--statistics --output-format json`: `[{"code", "name", "count"}]`,
/// most frequent first.
fn statistics_json(results: &[FileResult]) -> String {
    let counts: Vec<serde_json::Value> = code_counts(results)
        .into_iter()
        .map(|(n, code)| serde_json::json!({"code": code.id(), "name": code.name(), "count": n}))
        .collect();
    let mut out = serde_json::to_string_pretty(&counts).expect("plain data serialises");
    out.push('\n');
    out
}

/// `--statistics`: findings per code, most frequent first.
fn statistics(results: &[FileResult]) -> String {
    code_counts(results)
        .iter()
        .map(|(n, code)| format!("{n:>6}  {}  {}\n", code.id(), code.name()))
        .collect()
}

fn code_counts(results: &[FileResult]) -> Vec<(usize, Code)> {
    let mut counts: Vec<(usize, Code)> = Code::ALL
        .into_iter()
        .map(|code| {
            let n = results
                .iter()
                .flat_map(|r| &r.report.findings)
                .filter(|f| f.code == code)
                .count();
            (n, code)
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    counts
}

/// File errors and warnings on stderr, for the formats meant for people;
/// the machine formats carry them in their own structure.
fn report_problems(results: &[FileResult], quiet: bool) {
    let mut stderr = std::io::stderr().lock();
    for result in results {
        let path = display_path(&result.path);
        if let Some(error) = &result.error {
            let _ = writeln!(stderr, "{path}: error: {error}");
        }
        if quiet {
            continue;
        }
        for warning in &result.report.warnings {
            let _ = match warning.line {
                Some(line) => writeln!(stderr, "{path}:{line}: warning: {}", warning.message),
                None => writeln!(stderr, "{path}: warning: {}", warning.message),
            };
        }
    }
}

fn concise(results: &[FileResult]) -> String {
    let mut out = String::new();
    for result in results {
        let path = display_path(&result.path);
        for finding in &result.report.findings {
            out.push_str(&render::concise::render(&path, finding));
        }
    }
    out
}

fn full(results: &[FileResult], color: bool, quiet: bool, skipped_tests: usize) -> String {
    let style = render::human::Style { color, width: 100 };
    let mut out = String::new();
    let mut findings = 0;
    let mut files_with_findings = 0;
    let mut not_gating = 0;
    for result in results {
        let path = display_path(&result.path);
        let source = result.source.as_deref().unwrap_or("");
        if !result.report.findings.is_empty() {
            files_with_findings += 1;
        }
        for finding in &result.report.findings {
            findings += 1;
            if !result.gates {
                not_gating += 1;
            }
            out.push_str(&render::human::render(
                &path,
                source,
                finding,
                &style,
                result.gates,
            ));
            out.push('\n');
        }
    }
    if quiet {
        return out;
    }
    if not_gating > 0 {
        out.push_str(&format!(
            "{not_gating} of the findings are in test or auxiliary code and do not fail the run (--tests separate).\n"
        ));
    }
    if skipped_tests > 0 {
        let files = if skipped_tests == 1 { "file" } else { "files" };
        out.push_str(&format!(
            "{skipped_tests} test or auxiliary {files} not checked (--tests include or separate checks them).\n"
        ));
    }
    let checked = results.iter().filter(|r| r.error.is_none()).count();
    let files = |n: usize| if n == 1 { "file" } else { "files" };
    let incomplete = incomplete_parts(results);
    if incomplete > 0 {
        out.push_str(&format!(
            "{incomplete} part(s) of the code were not fully analysed (see the warnings; --strict fails the run on them).\n"
        ));
    }
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
    out
}

/// Writes the report. A reader that closed the pipe early (`| head`) got
/// what it wanted: the run goes on to its usual exit status, so that leaks
/// found still fail it.
fn write_output(output: &str, file: Option<&Path>) -> Result<(), ExitStatus> {
    let result = match file {
        Some(path) => write_atomically(path, output),
        None => std::io::stdout().lock().write_all(output.as_bytes()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("unclosed: error: cannot write output: {e}");
            Err(ExitStatus::Error)
        }
    }
}

/// Writes `path` as a whole or not at all: a new file (created exclusively,
/// so never through a symlink planted under a predictable name) in the same
/// directory, renamed over `path`. The rename replaces a symlink at `path`
/// itself instead of writing where it points. A device or a pipe at `path`
/// (`/dev/null`, `/dev/stdout`, a FIFO a script reads) is written to, never
/// replaced: renaming over `/dev/null` as root turned it into a file.
fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let special = std::fs::symlink_metadata(path).is_ok_and(|m| {
        let kind = m.file_type();
        !kind.is_file() && !kind.is_symlink() && !kind.is_dir()
    });
    if special {
        let mut target = std::fs::OpenOptions::new().write(true).open(path)?;
        return target.write_all(contents.as_bytes());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".unclosed-").suffix(".tmp");
    // A report is for others to read too, as a file the shell made would be
    // (the temporary file would otherwise keep its private 0600).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(contents.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
