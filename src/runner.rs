//! Runs the analysis over many files in parallel. Each file is read, decoded
//! and analysed on its own, after the files it imports; an unreadable file
//! or a panic in the analysis becomes an error for that file and the run
//! goes on. Results come back in the order of the input list, whatever the
//! thread count.

use crate::analysis::{Export, FunctionSummary, NoProject, Options, Project, analyze_module};
use crate::cache::Cache;
use crate::codes::Code;
use crate::config::{CodeKind, Settings};
use crate::finding::{FileReport, Finding, PairUse, SharedPair};
use crate::modules::{Dependencies, Imported, ModuleFile, Modules, scan_imports};
use crate::one_shot::Ends;
use crate::rules::Catalogue;
use crate::source::decode;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// Analysed only for what the other files need (its summaries, the
    /// pairs it shows, the calls it makes), not reported: the rest of the
    /// project around the files a pre-commit run names.
    pub context: bool,
}

impl Job {
    /// A file read from disk, reported, whose findings fail the run.
    pub fn file(path: PathBuf, settings: Arc<Settings>, kind: CodeKind) -> Job {
        Job {
            path,
            settings,
            stdin: None,
            kind,
            gates: true,
            context: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// `--include-module-level`, over what the config says.
    pub force_module_level: bool,
    pub warn_unused_suppressions: bool,
    /// List every helper and owner class learnt (`resources --learned`).
    pub list_learnt: bool,
}

/// Checks each file under its own settings, keeps only the findings its
/// settings report (`select`, `ignore`, `per-file-ignores`) and that no
/// inline suppression silences.
///
/// A file is analysed after the checked files it imports (see `modules`),
/// so that calls to their functions use their summaries (`conn =
/// get_conn()` from `payments/db.py` acquires a connection); files that
/// import each other are analysed without each other's, then those with
/// findings again with them (see `Schedule::recheck`). Each file starts as
/// soon as what it imports is done, on any thread: what it sees depends only
/// on the files and their imports, never on the thread count or the order
/// the threads finish in.
pub fn check_jobs(jobs: &[Job], run: RunOptions) -> Vec<FileResult> {
    check_jobs_cached(jobs, run, None)
}

/// `check_jobs`, reusing the analysis of files that did not change since a
/// run cached them (see `cache`).
pub fn check_jobs_cached(jobs: &[Job], run: RunOptions, cache: Option<&Cache>) -> Vec<FileResult> {
    let mut packages: HashMap<PathBuf, bool> = HashMap::new();
    let module_files: Vec<ModuleFile> = jobs
        .iter()
        .map(|job| {
            ModuleFile::new(&job.path, &mut |dir: &Path| {
                *packages
                    .entry(dir.to_path_buf())
                    .or_insert_with(|| dir.join("__init__.py").is_file())
            })
        })
        .collect();
    // Imports are read up front; each file's text is read again when it is
    // analysed, so only the files in progress are held in memory.
    // (And the names each defines with `def`, for `drop_command_exceptions`,
    // while the text is at hand.)
    let (imported, defined): (Vec<Vec<Imported>>, Vec<Vec<String>>) = jobs
        .par_iter()
        .zip(&module_files)
        .map(|(job, module)| match source_of(job) {
            Ok(text) => (
                scan_imports(&text, &module.package),
                crate::one_shot::defined_names(&text),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        })
        .unzip();
    let defined: HashSet<String> = defined.into_iter().flatten().collect();
    let modules = Modules::new(module_files);
    let dependencies = Dependencies::new(&modules, &imported);
    let (groups, group_of) = dependencies.groups();
    let mut needs: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    let mut needed_by: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (file, imports) in dependencies.imports.iter().enumerate() {
        for &dep in imports {
            let (g, d) = (group_of[file], group_of[dep]);
            if g != d && !needs[g].contains(&d) {
                needs[g].push(d);
                needed_by[d].push(g);
            }
        }
    }
    let mut schedule = Schedule {
        jobs,
        run,
        cache,
        modules: &modules,
        defined,
        dependencies: &dependencies,
        groups: &groups,
        group_of: &group_of,
        needed_by: &needed_by,
        waiting: needs.iter().map(|n| AtomicUsize::new(n.len())).collect(),
        unfinished: groups.iter().map(|g| AtomicUsize::new(g.len())).collect(),
        summaries: (0..jobs.len()).map(|_| OnceLock::new()).collect(),
        digests: (0..jobs.len()).map(|_| OnceLock::new()).collect(),
        results: (0..jobs.len()).map(|_| OnceLock::new()).collect(),
        rechecked: (0..jobs.len()).map(|_| OnceLock::new()).collect(),
        in_cycle_view: Vec::new(),
    };
    rayon::scope(|scope| {
        for (group, needs) in needs.iter().enumerate() {
            if needs.is_empty() {
                schedule.start(scope, group);
            }
        }
    });
    let rechecked = std::mem::take(&mut schedule.rechecked);
    schedule.in_cycle_view = rechecked.iter().map(|r| r.get().is_some()).collect();
    let mut results: Vec<Option<FileResult>> = std::mem::take(&mut schedule.results)
        .into_iter()
        .zip(rechecked)
        .map(|(first, second)| second.into_inner().or(first.into_inner()))
        .collect();
    schedule.share_pairs(&mut results);
    schedule.drop_command_exceptions(&mut results);
    schedule.drop_kept_released_elsewhere(&mut results);
    results
        .into_iter()
        .zip(jobs)
        .filter(|(_, job)| !job.context)
        .filter_map(|(result, _)| result)
        .collect()
}

/// The codes of the findings that only an exception makes, which a
/// one-shot program does not have (see `one_shot`). (A value dropped at once
/// is closed at once there too, but reviewers took such findings in a
/// library's command for fixes still worth making.)
const COMMAND_FREE: [Code; 3] = [
    Code::UnreleasedOnException,
    Code::UnreleasedOnCancellation,
    Code::UnprotectedYield,
];

/// Which way out of its function a finding of `code` leaks by, when a
/// one-shot program may end there: an exception, or the return (UC001).
fn ends_asked(code: Code) -> Option<Ends> {
    if COMMAND_FREE.contains(&code) {
        Some(Ends::Exceptions)
    } else if code == Code::UnreleasedOnReturn {
        Some(Ends::Returns)
    } else {
        None
    }
}

/// `src/mycli/main.py` as `src.mycli.main` (a package's `__init__.py` as
/// the package).
fn dotted_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .with_extension("")
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .filter(|n| n != "__init__")
        .collect::<Vec<_>>()
        .join(".")
}

/// The files a Python project's packaging is declared in.
const PACKAGING: [&str; 3] = ["pyproject.toml", "setup.cfg", "setup.py"];

/// The console scripts of the packaging files (`pyproject.toml`,
/// `setup.cfg`, `setup.py`) in the directories of the checked files, up to
/// their project's root, and the functions the scripts `setup.py` installs
/// as they are (`scripts=["ajenti-panel"]`, Python files with no `.py`)
/// call. Only regular files of a bounded size are read.
fn console_scripts(jobs: &[Job]) -> (Vec<String>, Vec<String>) {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for job in jobs {
        let path = std::path::absolute(&job.path).unwrap_or_else(|_| job.path.clone());
        // A file outside the project root the settings came from (`check
        // ../service` with no config there): its own repository bounds the
        // search, or else the nearest directory holding a packaging file.
        let root = if path.starts_with(&job.settings.root) {
            job.settings.root.clone()
        } else {
            let parent = path.parent().unwrap_or(&path);
            crate::discover::git_root(parent)
                .or_else(|| {
                    parent
                        .ancestors()
                        .find(|d| PACKAGING.iter().any(|name| d.join(name).is_file()))
                })
                .unwrap_or(parent)
                .to_path_buf()
        };
        for dir in path.ancestors().skip(1) {
            if !dir.starts_with(&root) || !dirs.insert(dir.to_path_buf()) {
                break;
            }
        }
    }
    let mut out = Vec::new();
    let mut called = Vec::new();
    for dir in dirs {
        for name in PACKAGING {
            if let Some(text) = read_small(&dir.join(name)) {
                out.extend(crate::one_shot::entry_points(&text));
                if name == "setup.py" {
                    for script in crate::one_shot::declared_scripts(&text) {
                        // (Inside the project only: no `..`, no absolute path.)
                        let relative = Path::new(&script);
                        let inside = relative
                            .components()
                            .all(|c| matches!(c, std::path::Component::Normal(_)));
                        if let Some(text) =
                            inside.then(|| read_small(&dir.join(relative))).flatten()
                        {
                            called.extend(crate::one_shot::script_calls(&text));
                        }
                    }
                }
            }
        }
    }
    (out, called)
}

/// The text of a regular file (no symlink) of at most 1 MiB.
fn read_small(path: &Path) -> Option<String> {
    let regular = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() <= 1 << 20);
    regular
        .then(|| std::fs::read_to_string(path).ok())
        .flatten()
}

/// A pair some files showed, for the others.
struct ProjectPair {
    pair: SharedPair,
    /// How many functions showed it.
    shown_by: usize,
}

impl Schedule<'_> {
    /// UC008 findings whose attribute another production file gives back
    /// (`udp_getter.health_executor.shutdown()` where the command that made
    /// the listener stops it, a subclass's `close()`): the class's users
    /// release it, as its design asks (see `analysis::releases_kept`).
    fn drop_kept_released_elsewhere(&self, results: &mut [Option<FileResult>]) {
        let kept: BTreeSet<(String, String)> = results
            .iter()
            .flatten()
            .filter(|r| r.kind == CodeKind::Production)
            .flat_map(|r| &r.report.findings)
            .filter(|f| f.code == Code::OwnerNeverReleases)
            .filter_map(|f| f.kept_in.clone())
            .collect();
        if kept.is_empty() {
            return;
        }
        let released: BTreeSet<(String, String)> = self
            .jobs
            .par_iter()
            .map(|job| match source_of(job) {
                Ok(text) if job.kind == CodeKind::Production => kept
                    .iter()
                    .filter(|(class, attr)| crate::analysis::releases_kept(&text, class, attr))
                    .cloned()
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .flatten()
            .collect();
        if released.is_empty() {
            return;
        }
        for result in results.iter_mut().flatten() {
            result.report.findings.retain(|f| {
                f.code != Code::OwnerNeverReleases
                    || !f.kept_in.as_ref().is_some_and(|k| released.contains(k))
            });
        }
    }

    /// Findings that only an exception makes, in functions that run only
    /// inside a one-shot program (a command's entry point and what only it
    /// calls): an exception there ends the command (see `one_shot`).
    fn drop_command_exceptions(&self, results: &mut [Option<FileResult>]) {
        let candidates: Vec<(usize, String, Ends)> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, r.as_ref()?)))
            .filter(|(_, r)| r.kind == CodeKind::Production)
            .flat_map(|(i, r)| {
                r.report
                    .findings
                    .iter()
                    .filter_map(move |f| Some((i, f.function.clone(), ends_asked(f.code)?)))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if candidates.is_empty() {
            return;
        }
        // The files are read again rather than held: where the names they
        // define are.
        let defined = &self.defined;
        let words: Vec<Vec<String>> = self
            .jobs
            .par_iter()
            .map(|job| match source_of(job) {
                Ok(text) if job.kind == CodeKind::Production => {
                    crate::one_shot::words_in(&text, defined)
                }
                _ => Vec::new(),
            })
            .collect();
        let index = crate::one_shot::WordIndex::new(words);
        let dotted: Vec<String> = self.jobs.iter().map(|job| dotted_path(&job.path)).collect();
        let files: Vec<crate::one_shot::ProgramFile> = self
            .jobs
            .iter()
            .enumerate()
            .map(|(i, job)| crate::one_shot::ProgramFile {
                module: &dotted[i],
                production: job.kind == CodeKind::Production,
                one_shot: job.settings.runs_as_one_shot(&job.path),
            })
            .collect();
        let load = |i: usize| source_of(&self.jobs[i]).ok();
        let (scripts, script_calls) = console_scripts(self.jobs);
        let commands = crate::one_shot::only_in_commands(
            &files,
            &load,
            &index,
            &scripts,
            &script_calls,
            &candidates,
        );
        if commands.is_empty() {
            return;
        }
        for (i, result) in results.iter_mut().enumerate() {
            let Some(result) = result else { continue };
            result.report.findings.retain(|f| {
                !ends_asked(f.code)
                    .is_some_and(|ends| commands.contains(&(i, f.function.clone(), ends)))
            });
        }
    }

    /// Pairs learnt in one file hold in the others: the files that make the
    /// same call are analysed again with them. Their findings are reported
    /// only where keeping the pair is the project's habit (the functions
    /// that keep it, including those that showed it, are at least as many
    /// as those that break it), as within one file.
    fn share_pairs(&self, results: &mut [Option<FileResult>]) {
        let mut pairs: BTreeMap<(String, String), ProjectPair> = BTreeMap::new();
        for result in results.iter().flatten() {
            let path = crate::render::display_path(&result.path);
            for shared in &result.report.shared_pairs {
                let key = (shared.receiver.clone(), shared.method.clone());
                pairs
                    .entry(key)
                    .or_insert_with(|| ProjectPair {
                        pair: SharedPair {
                            shown: format!("{} of {path}", shared.shown),
                            ..shared.clone()
                        },
                        shown_by: 0,
                    })
                    .shown_by += 1;
            }
        }
        // A value closed after `x.open()` in one function says little about
        // a project (`opener.open()`, `archive.open()` are of every kind);
        // a value taken back to where it came from (`pool.checkin(conn)`)
        // says more. A pair shown only by closing its value is shared once
        // two functions show it.
        pairs.retain(|_, p| {
            let release = &p.pair.release;
            !release.receiver_methods.is_empty() || !release.functions.is_empty() || p.shown_by >= 2
        });
        if pairs.is_empty() {
            return;
        }
        let uses: Vec<Option<(String, Vec<PairUse>)>> = (0..self.jobs.len())
            .into_par_iter()
            .map(|i| {
                let result = results[i].as_ref()?;
                if result.error.is_some() {
                    return None;
                }
                let text = source_of(&self.jobs[i]).ok()?;
                let own = &result.report.shared_pairs;
                let relevant: Vec<SharedPair> = pairs
                    .values()
                    .map(|p| &p.pair)
                    .filter(|p| text.contains(&format!("{}.{}(", p.receiver, p.method)))
                    .filter(|p| {
                        !own.iter()
                            .any(|o| o.receiver == p.receiver && o.method == p.method)
                    })
                    .cloned()
                    .collect();
                if relevant.is_empty() {
                    return None;
                }
                let project = self.project_view(i, self.in_cycle_view[i]);
                let options = Options {
                    shared_pairs: relevant,
                    ..self.options(i)
                };
                let job = &self.jobs[i];
                let (again, _) = check_module(
                    job.path.clone(),
                    text,
                    &job.settings.catalogue,
                    &options,
                    &project,
                );
                let source = again.source?;
                (again.error.is_none()).then_some((source, again.report.pair_uses))
            })
            .collect();
        // The project's habit, per pair.
        let mut keeping: HashMap<String, usize> = pairs
            .values()
            .map(|p| (p.pair.resource_id(), p.shown_by))
            .collect();
        let mut breaking: HashMap<String, usize> = HashMap::new();
        for (_, file_uses) in uses.iter().flatten() {
            for u in file_uses {
                *keeping.entry(u.id.clone()).or_default() += u.keeping;
                *breaking.entry(u.id.clone()).or_default() += u.breaking;
            }
        }
        for (i, file) in uses.into_iter().enumerate() {
            let (Some((source, file_uses)), Some(result)) = (file, results[i].as_mut()) else {
                continue;
            };
            let job = &self.jobs[i];
            let mut found: Vec<Finding> = file_uses
                .into_iter()
                .filter(|u| keeping.get(&u.id).copied().unwrap_or(0) >= breaking[&u.id])
                .flat_map(|u| u.findings)
                .filter(|f| job.settings.reports(f.code, &job.path))
                .collect();
            crate::suppress::apply(&result.report.suppressions, &mut found, false);
            if found.is_empty() {
                continue;
            }
            let findings = &mut result.report.findings;
            findings.extend(found);
            findings.sort_by(|a, b| {
                (a.span.start, a.code, &a.message).cmp(&(b.span.start, b.code, &b.message))
            });
            // A test file's own pair and the same pair shared by the
            // project's code find the same leak: one finding.
            findings.dedup_by(|b, a| {
                (a.span.start, a.code, &a.message) == (b.span.start, b.code, &b.message)
            });
            result.source.get_or_insert(source);
        }
    }
}

/// The analysis of the checked files, each group of files as soon as the
/// groups it imports are done.
struct Schedule<'a> {
    jobs: &'a [Job],
    run: RunOptions,
    cache: Option<&'a Cache>,
    modules: &'a Modules,
    /// The names the checked files define with `def`.
    defined: HashSet<String>,
    dependencies: &'a Dependencies,
    groups: &'a [Vec<usize>],
    group_of: &'a [usize],
    /// Per group, the groups that import it.
    needed_by: &'a [Vec<usize>],
    /// Per group, how many groups it imports are not done yet.
    waiting: Vec<AtomicUsize>,
    /// Per group, how many of its files are not done yet.
    unfinished: Vec<AtomicUsize>,
    summaries: Vec<OnceLock<BTreeMap<String, FunctionSummary>>>,
    /// Per file, the digest of its summaries (only with a cache).
    digests: Vec<OnceLock<String>>,
    results: Vec<OnceLock<FileResult>>,
    /// Per file in an import cycle, its findings analysed again with the
    /// summaries of the files of its cycle (see `recheck`).
    rechecked: Vec<OnceLock<FileResult>>,
    /// Per file, once all are done: whether its findings came from
    /// `recheck` (the passes after the analysis see what it saw).
    in_cycle_view: Vec<bool>,
}

impl<'a> Schedule<'a> {
    fn start<'s>(&'s self, scope: &rayon::Scope<'s>, group: usize) {
        for &file in &self.groups[group] {
            scope.spawn(move |scope| {
                self.check(file);
                if self.unfinished[group].fetch_sub(1, Ordering::AcqRel) == 1 {
                    if self.groups[group].len() > 1 {
                        for &member in &self.groups[group] {
                            scope.spawn(move |_| self.recheck(member));
                        }
                    }
                    for &next in &self.needed_by[group] {
                        if self.waiting[next].fetch_sub(1, Ordering::AcqRel) == 1 {
                            self.start(scope, next);
                        }
                    }
                }
            });
        }
    }

    /// The summaries file `i` sees: those of the files it imports (and,
    /// with `cycle`, those of the files of its import cycle too).
    fn project_view(&self, i: usize, cycle: bool) -> ProjectView<'_> {
        ProjectView {
            modules: self.modules,
            summaries: &self.summaries,
            imports: &self.dependencies.imports[i],
            group_of: self.group_of,
            from: i,
            cycle,
        }
    }

    /// What file `i` is analysed with.
    fn options(&self, i: usize) -> Options {
        let dependencies = self.dependencies;
        let export = if dependencies.wanted_all[i] {
            Export::All
        } else if dependencies.wanted[i].is_empty() {
            Export::Nothing
        } else {
            Export::Names(dependencies.wanted[i].clone())
        };
        let job = &self.jobs[i];
        Options {
            include_module_level: self.run.force_module_level || job.settings.include_module_level,
            test_code: job.kind == CodeKind::Test,
            // (A test of a command, `tests/management/commands/test_x.py`,
            // is test code, not the command.)
            one_shot: job.kind != CodeKind::Test && job.settings.runs_as_one_shot(&job.path),
            package: Some(self.modules.file(i).package.clone()),
            export,
            list_learnt: self.run.list_learnt,
            shared_pairs: Vec::new(),
        }
    }

    /// Files that import each other are first analysed without each
    /// other's summaries. Once all of a cycle is done, a file of it with
    /// findings that imports another of it is analysed again with their
    /// summaries (one step towards the fixed point: `safe_unlock_and_close(fd)`
    /// in a module that imports this one closes `fd`). Only the findings
    /// change: the summaries others see stay the first ones, so what any
    /// file sees still depends on nothing but the files.
    fn recheck(&self, i: usize) {
        let Some(first) = self.results[i].get() else {
            return;
        };
        let group = self.group_of[i];
        let in_cycle = self.dependencies.imports[i]
            .iter()
            .any(|&d| d != i && self.group_of[d] == group);
        if first.report.findings.is_empty() || first.error.is_some() || !in_cycle {
            return;
        }
        let project = self.project_view(i, true);
        let options = self.options(i);
        let job = &self.jobs[i];
        let source = source_of(job);
        let cached = self.cache_entry(i, &options, &source, true);
        let (result, _) = check_job(job, source, self.run, &options, &project, cached);
        let _ = self.rechecked[i].set(result);
    }

    fn check(&self, i: usize) {
        let project = self.project_view(i, false);
        let options = self.options(i);
        let job = &self.jobs[i];
        let source = source_of(job);
        let cached = self.cache_entry(i, &options, &source, false);
        let (result, mut exports) = check_job(job, source, self.run, &options, &project, cached);
        // "`psycopg2.connect()` on line 12 of payments/db.py"
        let path = crate::render::display_path(&job.path);
        for summary in exports.values_mut() {
            if let Some(r) = summary.body.as_mut().and_then(|b| b.returns.as_mut()) {
                r.made_by = if r.owner.is_some() {
                    format!("{}, in {path}", r.made_by)
                } else {
                    format!("{} of {path}", r.made_by)
                };
            }
        }
        self.add_reexports(i, &mut exports);
        if self.cache.is_some() {
            let _ = self.digests[i].set(crate::cache::exports_digest(&exports));
        }
        let _ = self.summaries[i].set(exports);
        let _ = self.results[i].set(result);
    }

    /// Offers what file `i` takes from the files it imports as its own
    /// (`from .server import *`, `from .db import get_conn` in a package's
    /// `__init__.py`), so that `pkg.get_conn()` elsewhere is the helper of
    /// `pkg/db.py`. Its own definitions win; files that import each other
    /// are not done yet and offer nothing.
    fn add_reexports(&self, i: usize, exports: &mut BTreeMap<String, FunctionSummary>) {
        for (m, names) in &self.dependencies.reexports[i] {
            if self.group_of[*m] == self.group_of[i] {
                continue;
            }
            let Some(theirs) = self.summaries[*m].get() else {
                continue;
            };
            for (name, summary) in theirs {
                let taken = match names {
                    Some(names) => names.contains(name),
                    None => !name.starts_with('_') && !name.contains('.'),
                };
                if taken && !exports.contains_key(name) {
                    exports.insert(name.clone(), summary.clone());
                }
            }
        }
    }

    /// The cache and the key of file `i`'s analysis, when there is a cache
    /// and the file was read from disk.
    fn cache_entry(
        &self,
        i: usize,
        options: &Options,
        source: &Result<String, String>,
        cycle: bool,
    ) -> Option<(&Cache, String)> {
        match (self.cache, source) {
            (Some(cache), Ok(text)) if self.jobs[i].stdin.is_none() => {
                Some((cache, self.cache_key(i, options, text, cycle)))
            }
            _ => None,
        }
    }

    /// The key of file `i`'s analysis: what it is, what it is analysed
    /// with, and the summaries of the files it imports (from other groups;
    /// the only ones it sees), each done before it starts.
    fn cache_key(&self, i: usize, options: &Options, text: &str, cycle: bool) -> String {
        let job = &self.jobs[i];
        let mut export = match &options.export {
            Export::Nothing => vec!["-".to_string()],
            Export::All => vec!["*".to_string()],
            Export::Names(names) => names.clone(),
        };
        export.sort();
        let mut key = Cache::key()
            .part(crate::render::display_path(&job.path).as_bytes())
            .part(job.settings.catalogue_digest.as_bytes())
            .part(
                format!(
                    "{} {} {} {:?} {:?} {}",
                    options.include_module_level,
                    options.test_code,
                    options.one_shot,
                    options.package,
                    export,
                    options.list_learnt
                )
                .as_bytes(),
            )
            .part(text.as_bytes());
        if cycle {
            key = key.part(b"with its cycle's summaries");
        }
        for &dep in &self.dependencies.imports[i] {
            if self.group_of[dep] == self.group_of[i] && !cycle {
                continue;
            }
            let digest = self.digests[dep].get().map_or("", String::as_str);
            key = key
                .part(crate::render::display_path(&self.jobs[dep].path).as_bytes())
                .part(digest.as_bytes());
        }
        key.finish()
    }
}

fn source_of(job: &Job) -> Result<String, String> {
    match &job.stdin {
        Some(text) => Ok(text.clone()),
        None => read_source(&job.path),
    }
}

/// The summaries of the files one file imports (from other groups: those
/// are done before it starts, whatever the threads do).
struct ProjectView<'a> {
    modules: &'a Modules,
    summaries: &'a [OnceLock<BTreeMap<String, FunctionSummary>>],
    /// The files it imports, sorted.
    imports: &'a [usize],
    group_of: &'a [usize],
    from: usize,
    /// Whether the files of its import cycle are seen too (see `recheck`).
    cycle: bool,
}

impl Project for ProjectView<'_> {
    fn function(&self, qualified: &str) -> Option<&FunctionSummary> {
        let (file, name) = self.modules.function(self.from, qualified)?;
        if (self.group_of[file] == self.group_of[self.from] && !self.cycle)
            || file == self.from
            || self.imports.binary_search(&file).is_err()
        {
            return None;
        }
        self.summaries[file].get()?.get(name)
    }
}

fn check_job(
    job: &Job,
    source: Result<String, String>,
    run: RunOptions,
    options: &Options,
    project: &dyn Project,
    cached: Option<(&Cache, String)>,
) -> (FileResult, BTreeMap<String, FunctionSummary>) {
    let source = match source {
        Ok(s) => s,
        Err(error) => return (failed(&job.path, error), BTreeMap::new()),
    };
    let hit = cached.as_ref().and_then(|(cache, key)| cache.get(key));
    let (mut result, exports) = match hit {
        Some(entry) => (
            FileResult {
                path: job.path.clone(),
                source: Some(source),
                report: FileReport {
                    findings: entry.findings,
                    warnings: entry.warnings,
                    learnt: entry.learnt,
                    suppressions: entry.suppressions,
                    shared_pairs: entry.shared_pairs,
                    pair_uses: Vec::new(),
                },
                error: None,
                kind: CodeKind::Production,
                gates: true,
            },
            entry.exports,
        ),
        None => {
            let (result, exports) = check_module(
                job.path.clone(),
                source,
                &job.settings.catalogue,
                options,
                project,
            );
            // What the analysis gave, before the settings filter it (an
            // internal error is never cached: it is tried again).
            if let Some((cache, key)) = &cached
                && result.error.is_none()
            {
                cache.put(
                    key,
                    &crate::cache::Entry {
                        findings: result.report.findings.clone(),
                        warnings: result.report.warnings.clone(),
                        learnt: result.report.learnt.clone(),
                        suppressions: result.report.suppressions.clone(),
                        shared_pairs: result.report.shared_pairs.clone(),
                        exports: exports.clone(),
                    },
                );
            }
            (result, exports)
        }
    };
    result.kind = job.kind;
    result.gates = job.gates;
    let Some(source) = result.source.take() else {
        return (result, exports);
    };
    let findings = &mut result.report.findings;
    findings.retain(|f| job.settings.reports(f.code, &job.path));
    let warnings = crate::suppress::apply(
        &result.report.suppressions,
        findings,
        run.warn_unused_suppressions,
    );
    result.report.warnings.extend(warnings);
    result.report.warnings.sort_by_key(|w| w.line);
    if !result.report.findings.is_empty() {
        result.source = Some(source);
    }
    (result, exports)
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

/// Python files larger than this are not checked (with an error naming
/// them): source of this size is generated, and reading it whole would let
/// one file hold the run's memory.
pub const LARGEST_SOURCE: u64 = 16 * 1024 * 1024;

fn read_source(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file: not checked".into());
    }
    if meta.len() > LARGEST_SOURCE {
        return Err(too_large());
    }
    // The size can change between the look and the read.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(LARGEST_SOURCE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    source_text(&bytes)
}

/// Source text from bytes read (at most `LARGEST_SOURCE + 1` of them), for
/// files and standard input alike: the size cap, then decoding.
pub fn source_text(bytes: &[u8]) -> Result<String, String> {
    if bytes.len() as u64 > LARGEST_SOURCE {
        return Err(too_large());
    }
    decode(bytes).map_err(|e| e.to_string())
}

fn too_large() -> String {
    format!(
        "is larger than {} MiB: not checked (generated code?)",
        LARGEST_SOURCE / 1024 / 1024
    )
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

/// Analyses source text already in memory, on its own; the result keeps
/// the source.
pub fn check_source(
    path: PathBuf,
    source: String,
    catalogue: &Catalogue,
    options: &Options,
) -> FileResult {
    check_module(path, source, catalogue, options, &NoProject).0
}

/// Analyses one file among others (`project`); a panic in the analysis
/// becomes an error for this file.
fn check_module(
    path: PathBuf,
    source: String,
    catalogue: &Catalogue,
    options: &Options,
    project: &dyn Project,
) -> (FileResult, BTreeMap<String, FunctionSummary>) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        analyze_module(&source, catalogue, options, project)
    }));
    match outcome {
        Ok(analysis) => (
            FileResult {
                path,
                source: Some(source),
                report: analysis.report,
                error: None,
                kind: CodeKind::Production,
                gates: true,
            },
            analysis.exports,
        ),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            (
                FileResult {
                    path,
                    source: None,
                    report: FileReport::default(),
                    error: Some(format!(
                        "internal error while analysing (please report it): {why}"
                    )),
                    kind: CodeKind::Production,
                    gates: true,
                },
                BTreeMap::new(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project whose every answer panics, standing in for a bug in the
    /// analysis.
    struct Broken;

    impl Project for Broken {
        fn function(&self, qualified: &str) -> Option<&FunctionSummary> {
            panic!("no summary for {qualified}")
        }
    }

    #[test]
    fn a_panic_in_the_analysis_is_an_error_for_that_file_only() {
        let source = "from payments import db\n\n\ndef charge():\n    conn = db.get_conn()\n    conn.close()\n";
        let (result, exports) = check_module(
            PathBuf::from("payments/handlers.py"),
            source.to_string(),
            &Catalogue::builtin(),
            &Options::default(),
            &Broken,
        );
        let error = result
            .error
            .expect("the panic is reported as the file's error");
        assert!(
            error.starts_with("internal error while analysing (please report it): no summary for"),
            "{error}"
        );
        assert!(result.report.findings.is_empty());
        assert!(exports.is_empty());
        // The next file is analysed as usual.
        let (next, _) = check_module(
            PathBuf::from("payments/other.py"),
            "def f(path):\n    return open(path).read()\n".to_string(),
            &Catalogue::builtin(),
            &Options::default(),
            &NoProject,
        );
        assert!(next.error.is_none());
        assert_eq!(next.report.findings.len(), 1);
    }
}
