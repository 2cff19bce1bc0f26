//! Project configuration: `[tool.unclosed]` in `pyproject.toml`, or
//! `unclosed.toml` / `.unclosed.toml`, found by walking up from each checked
//! file (the nearest wins, as in ruff). A bad file is an error with the exact
//! span in the TOML, never a panic and never silently ignored.

use crate::codes::Code;
use crate::rules::{Calls, Catalogue, Ownership, Programs, Resource, RuleFile};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// Config file names, in the order they win within one directory.
pub const CONFIG_FILES: &[&str] = &[".unclosed.toml", "unclosed.toml", "pyproject.toml"];

/// The `[tool.unclosed]` table, or the whole of `unclosed.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Codes (or prefixes such as `UC00`, or `ALL`) to report. Default: all.
    pub select: Option<Vec<Spanned<String>>>,
    /// Codes added to `select`.
    #[serde(default)]
    pub extend_select: Vec<Spanned<String>>,
    /// Codes never reported.
    #[serde(default)]
    pub ignore: Vec<Spanned<String>>,
    /// Glob patterns (relative to the config file's directory) of files not
    /// to check.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    #[serde(default)]
    pub extend_exclude: Vec<Spanned<String>>,
    /// Glob pattern to codes ignored in the matching files.
    #[serde(default)]
    pub per_file_ignores: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    pub include_module_level: Option<bool>,
    /// What to do with test and auxiliary code: `exclude` (default),
    /// `include`, `separate`.
    #[serde(default)]
    pub tests: Option<TestsPolicy>,
    /// Resources in the format of `rules/`.
    #[serde(default)]
    pub resource: Vec<Resource>,
    #[serde(default)]
    pub ownership: Option<Ownership>,
    /// How ordinary calls behave, in the format of `rules/calls.toml`.
    #[serde(default)]
    pub calls: Option<Calls>,
    /// Files that run as one-shot programs, in the format of
    /// `rules/programs.toml`.
    #[serde(default)]
    pub programs: Option<Programs>,
    /// More rule files, relative to the config file.
    #[serde(default)]
    pub extend_rules: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
struct PyProject {
    tool: Option<PyProjectTools>,
}

#[derive(Deserialize)]
struct PyProjectTools {
    unclosed: Option<ConfigFile>,
}

/// What a run does with code that does not ship: tests (the files pytest
/// would collect: `test_*.py`, `*_test.py`, `conftest.py`, and everything
/// under a `tests/`, `test/` or `t/` directory) and auxiliary code
/// (`examples/`, `docs/`, `benchmarks/`, `scripts/`, `bin/`, `tools/`, `contrib/`,
/// `setup.py`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TestsPolicy {
    /// Not checked: a gate on a service blocks leaks in what ships. The
    /// summary says how many files were skipped.
    #[default]
    Exclude,
    /// Checked, and its findings fail the run like any other.
    Include,
    /// Checked and reported, marked as test or auxiliary code; its findings
    /// do not fail the run.
    Separate,
}

/// What a file is, as far as the gate cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeKind {
    #[default]
    Production,
    /// Run by a test runner: an exception there is a failing test.
    Test,
    /// Examples, documentation, benchmarks, scripts, tools, contributed
    /// extras, build scripts: shipped with the project, not its product.
    Auxiliary,
}

/// `examples/`, `docs/`, `scripts/` and the like, also with a suffix
/// (`scripts-dev/`, `docs_src/`).
fn is_auxiliary_dir(name: &str) -> bool {
    const STEMS: &[&str] = &[
        "examples",
        "example",
        "samples",
        "sample",
        "demos",
        "demo",
        "docs",
        "doc",
        "benchmarks",
        "benchmark",
        "profiling",
        "scripts",
        "script",
        "bin",
        "tools",
        "contrib",
        "extra",
        "extras",
    ];
    has_stem(name, STEMS)
}

/// `contrib/`, `extras/`: add-ons a package may ship for its users to
/// import (unlike examples, documentation, benchmarks or scripts, which
/// stay auxiliary even when they are packages).
fn names_add_ons(name: &str) -> bool {
    has_stem(name, &["contrib", "extra", "extras"])
}

/// Whether `name` is one of `stems`, alone or with a suffix after `-` or
/// `_` (`scripts-dev`, `docs_src`), in any case (CPython's layout, which
/// projects forked from it keep, has `Doc/` and `Tools/`).
fn has_stem(name: &str, stems: &[&str]) -> bool {
    let name = name.to_ascii_lowercase();
    stems.iter().any(|stem| {
        name.strip_prefix(stem)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_']))
    })
}

/// The directories of `relative` (a path below the project root) named
/// like auxiliary code, each as a path below the root: `docs`,
/// `docs/examples`.
fn auxiliary_dirs(relative: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dir = PathBuf::new();
    for component in relative.parent().unwrap_or(Path::new("")).components() {
        dir.push(component);
        if component.as_os_str().to_str().is_some_and(is_auxiliary_dir) {
            out.push(dir.clone());
        }
    }
    out
}

/// A directory of tests: `tests/`, `test/`, `t/` (celery's and kombu's),
/// `unittests/` (meson's), `selftests/` (Avocado's), `testsuite/` (Borg's,
/// PyVISA's),
/// suites named for their kind or package (`e2e_tests/`,
/// `integration-tests/`, `tests_unit/`, `mycli_test/`), and the `testing/` package a library ships for test
/// suites (`sqlalchemy.testing`, `gevent.testing`: fixtures and helpers
/// that run only under a test runner), in any case.
fn is_test_dir(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "tests"
            | "test"
            | "t"
            | "testing"
            | "unittests"
            | "unittest"
            | "selftests"
            | "selftest"
            | "testsuite"
            | "testsuites"
            | "test_suite"
            | "test_suites"
    ) || ["_tests", "-tests", "_test", "-test"]
        .iter()
        .any(|s| name.ends_with(s))
        // OpenStack's `heat_integrationtests/`, `*_functionaltests/`.
        || ["integrationtests", "functionaltests"]
            .iter()
            .any(|s| name.ends_with(s))
        || ["tests_", "tests-"].iter().any(|p| name.starts_with(p))
}

/// What `relative` (a path below the project root) is, by its name alone:
/// test code as pytest finds it (`test_*.py`, `*_test.py`, `conftest.py`,
/// Django's `tests.py`, test runners such as `run_tests.py`, anything under
/// a directory of tests: `tests/`, `test/`, `t/`, `unittests/`,
/// `e2e_tests/`...), auxiliary code (anything under `examples/`,
/// `example/`, `samples/`, `sample/`, `demos/`, `demo/`, `docs/`, `doc/`, `benchmarks/`,
/// `benchmark/`, `profiling/`, `scripts/`, `script/`, `bin/`, `tools/`, `contrib/`, `extra/`, `extras/`, or
/// one of these with a suffix such as `scripts-dev/`, and `setup.py`), or
/// production code. `Settings::code_kind` also looks at the disk (a
/// `contrib/` package is production code).
pub fn code_kind(relative: &Path) -> CodeKind {
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = name.strip_suffix(".py").unwrap_or(&name);
    // Also Django's `tests.py`, test runners (`run_tests.py`,
    // `run_project_tests.py`, `run_unittests.py`), and the `testing` module
    // a library ships for test suites, as it does a `testing/` package
    // (`zc.buildout.testing`, `pyramid.testing`).
    if stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem == "conftest"
        || stem == "tests"
        || stem == "testing"
        || stem.ends_with("_tests")
        || stem.ends_with("_unittests")
    {
        return CodeKind::Test;
    }
    let parent = relative.parent().unwrap_or(Path::new(""));
    let dirs: Vec<&str> = parent
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    if dirs.iter().any(|d| is_test_dir(d)) {
        CodeKind::Test
    } else if stem == "setup" || dirs.iter().any(|d| is_auxiliary_dir(d)) {
        CodeKind::Auxiliary
    } else {
        CodeKind::Production
    }
}

/// Whether a directory holds what a test runner collects: a `conftest.py`
/// (pytest's fixtures) or a `test_*.py` module.
fn holds_tests(dir: &Path) -> bool {
    dir.join("conftest.py").is_file()
        || std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("test_") && name.ends_with(".py")
            })
        })
}

/// What a file that its path names production code is, once the disk is
/// looked at: under an `integration/` directory that holds a `conftest.py`
/// or `test_*.py` modules it is a test suite (Tahoe-LAFS's, weaviate's,
/// pylxd's: the helpers there serve the tests), under a `misc/` directory that is no package it is auxiliary
/// code (build helpers, developer scripts). A package `integration/` or
/// `misc/` (`py2neo/integration/`) is the project's own.
fn kind_on_disk(base: &Path, relative: &Path) -> CodeKind {
    let mut dir = base.to_path_buf();
    let mut kind = CodeKind::Production;
    for component in relative.parent().unwrap_or(Path::new("")).components() {
        dir.push(component);
        let name = component.as_os_str().to_str().unwrap_or("");
        if name.eq_ignore_ascii_case("integration") && holds_tests(&dir) {
            return CodeKind::Test;
        }
        if name.eq_ignore_ascii_case("misc") && !dir.join("__init__.py").is_file() {
            kind = CodeKind::Auxiliary;
        }
    }
    kind
}

/// The settings that apply to one file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file they came from (`None`: built-in defaults).
    pub origin: Option<PathBuf>,
    /// Directory patterns are relative to.
    pub root: PathBuf,
    pub catalogue: Arc<Catalogue>,
    /// What the catalogue was made from (the config text and its
    /// `extend-rules` files), for the cache: two settings with the same
    /// digest analyse alike.
    pub catalogue_digest: String,
    pub enabled: Vec<Code>,
    pub include_module_level: bool,
    pub tests: TestsPolicy,
    exclude: GlobSet,
    /// The patterns of `exclude`, in the order of the set, as written.
    exclude_patterns: Vec<String>,
    per_file_ignores: Vec<(GlobSet, Vec<Code>)>,
    /// Patterns given on the command line, relative to where the tool
    /// runs (as in ruff): `--exclude`/`--extend-exclude`, and
    /// `--per-file-ignores`, which replaces the file's.
    command_line: Option<Arc<CommandLine>>,
}

/// The `check` options that override the configuration files, with ruff's
/// meaning: `--select` replaces `select`, `--extend-select` and `--ignore`
/// add, `--exclude` and `--per-file-ignores` replace, `--extend-exclude`
/// adds; patterns are relative to the current directory.
#[derive(Debug, Default)]
pub struct CommandLine {
    pub select: Option<Vec<Code>>,
    pub extend_select: Vec<Code>,
    pub ignore: Vec<Code>,
    pub exclude: Option<GlobSet>,
    pub extend_exclude: Option<GlobSet>,
    pub per_file_ignores: Option<Vec<(GlobSet, Vec<Code>)>>,
    pub cwd: PathBuf,
}

impl CommandLine {
    /// Reads the options as written (`UC001,UC002`, `scripts/*.py:UC001`).
    pub fn parse(
        select: &[String],
        extend_select: &[String],
        ignore: &[String],
        exclude: &[String],
        extend_exclude: &[String],
        per_file_ignores: &[String],
    ) -> Result<CommandLine, String> {
        let split = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        let codes = |values: &[String]| -> Result<Vec<Code>, String> {
            let mut out = Vec::new();
            for selector in split(values) {
                let matched = select_codes(&selector);
                if matched.is_empty() {
                    return Err(format!(
                        "`{selector}` is not a code, a code prefix or `ALL`"
                    ));
                }
                out.extend(matched);
            }
            Ok(out)
        };
        let globs = |patterns: &[String]| -> Result<Option<GlobSet>, String> {
            if patterns.is_empty() {
                return Ok(None);
            }
            let mut builder = GlobSetBuilder::new();
            for pattern in split(patterns) {
                builder.add(
                    Glob::new(&pattern)
                        .map_err(|e| format!("bad glob pattern `{pattern}`: {}", e.kind()))?,
                );
            }
            builder.build().map(Some).map_err(|e| e.to_string())
        };
        let per_file_ignores = if per_file_ignores.is_empty() {
            None
        } else {
            let mut out = Vec::new();
            for entry in per_file_ignores {
                let Some((pattern, list)) = entry.rsplit_once(':') else {
                    return Err(format!(
                        "`{entry}`: write a glob pattern, a colon and codes (`scripts/*.py:UC001,UC005`)"
                    ));
                };
                let glob = Glob::new(pattern)
                    .map_err(|e| format!("bad glob pattern `{pattern}`: {}", e.kind()))?;
                let set = GlobSetBuilder::new()
                    .add(glob)
                    .build()
                    .map_err(|e| e.to_string())?;
                out.push((set, codes(&[list.to_string()])?));
            }
            Some(out)
        };
        Ok(CommandLine {
            select: if select.is_empty() {
                None
            } else {
                Some(codes(select)?)
            },
            extend_select: codes(extend_select)?,
            ignore: codes(ignore)?,
            exclude: globs(exclude)?,
            extend_exclude: globs(extend_exclude)?,
            per_file_ignores,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        })
    }

    fn is_empty(&self) -> bool {
        self.select.is_none()
            && self.extend_select.is_empty()
            && self.ignore.is_empty()
            && self.exclude.is_none()
            && self.extend_exclude.is_none()
            && self.per_file_ignores.is_none()
    }
}

impl Settings {
    /// These settings with the command line's overrides.
    fn overridden(&self, command_line: &Arc<CommandLine>) -> Settings {
        let mut out = self.clone();
        if let Some(select) = &command_line.select {
            out.enabled = select.clone();
        }
        out.enabled.extend(&command_line.extend_select);
        out.enabled.retain(|c| !command_line.ignore.contains(c));
        out.enabled.sort();
        out.enabled.dedup();
        if command_line.exclude.is_some() {
            out.exclude = GlobSet::empty();
            out.exclude_patterns.clear();
        }
        if command_line.per_file_ignores.is_some() {
            out.per_file_ignores.clear();
        }
        out.command_line = Some(command_line.clone());
        out
    }

    pub fn defaults(root: PathBuf) -> Settings {
        Settings {
            origin: None,
            root,
            catalogue: Arc::new(Catalogue::builtin()),
            catalogue_digest: "built-in".into(),
            enabled: Code::ALL.to_vec(),
            include_module_level: false,
            tests: TestsPolicy::default(),
            exclude: GlobSet::empty(),
            exclude_patterns: Vec::new(),
            per_file_ignores: Vec::new(),
            command_line: None,
        }
    }

    /// The patterns of the configuration's `exclude` that match none of
    /// `paths` (a misspelt directory, a path from another layout), with
    /// the file they are written in.
    pub fn unmatched_excludes<'p>(
        &self,
        paths: impl Iterator<Item = &'p Path>,
    ) -> Vec<(String, Option<PathBuf>)> {
        if self.exclude_patterns.is_empty() {
            return Vec::new();
        }
        let mut matched = vec![false; self.exclude_patterns.len()];
        for path in paths {
            let absolute = absolute(path);
            let relative = absolute.strip_prefix(&self.root).unwrap_or(&absolute);
            for a in relative.ancestors().filter(|a| !a.as_os_str().is_empty()) {
                for i in self.exclude.matches(a) {
                    matched[i] = true;
                }
                if let Some(name) = a.file_name() {
                    for i in self.exclude.matches(name) {
                        matched[i] = true;
                    }
                }
            }
        }
        self.exclude_patterns
            .iter()
            .zip(matched)
            .filter(|(_, m)| !m)
            .map(|(p, _)| (p.clone(), self.origin.clone()))
            .collect()
    }

    /// Whether `path` is excluded by `exclude` / `extend-exclude`.
    pub fn excludes(&self, path: &Path) -> bool {
        matches_any(&self.exclude, &self.root, path)
            || self.command_line.as_ref().is_some_and(|c| {
                [&c.exclude, &c.extend_exclude]
                    .into_iter()
                    .flatten()
                    .any(|globs| matches_any(globs, &c.cwd, path))
            })
    }

    /// What `path` is, judged from below the project root (a `test/`
    /// directory above the project does not make it test code). A
    /// `contrib/` or `extras/` directory that is a package of the project
    /// (it has an `__init__.py`: `django/contrib/`, `urllib3/contrib/`) is
    /// shipped and imported: production code.
    pub fn code_kind(&self, path: &Path) -> CodeKind {
        let absolute = absolute(path);
        let (base, relative) = match absolute.strip_prefix(&self.root) {
            Ok(relative) => (self.root.as_path(), relative),
            Err(_) => (Path::new(""), path),
        };
        let kind = code_kind(relative);
        match kind {
            CodeKind::Test => return kind,
            CodeKind::Production => return kind_on_disk(base, relative),
            CodeKind::Auxiliary => {}
        }
        let auxiliary = auxiliary_dirs(relative);
        let add_on_packages = !auxiliary.is_empty()
            && auxiliary.iter().all(|dir| {
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(names_add_ons)
                    && base.join(dir).join("__init__.py").is_file()
            });
        if add_on_packages {
            CodeKind::Production
        } else {
            kind
        }
    }

    /// Whether `path` runs as a one-shot program of its own (an Ansible
    /// module), judged from below the project root.
    pub fn runs_as_one_shot(&self, path: &Path) -> bool {
        let absolute = absolute(path);
        let relative = absolute.strip_prefix(&self.root).unwrap_or(path);
        self.catalogue.runs_as_one_shot(relative)
    }

    /// Whether findings of `code` are reported for `path`.
    pub fn reports(&self, code: Code, path: &Path) -> bool {
        let ignored_by = |entries: &[(GlobSet, Vec<Code>)], root: &Path| {
            entries
                .iter()
                .any(|(globs, codes)| codes.contains(&code) && matches_any(globs, root, path))
        };
        self.enabled.contains(&code)
            && !ignored_by(&self.per_file_ignores, &self.root)
            && !self.command_line.as_ref().is_some_and(|c| {
                c.per_file_ignores
                    .as_deref()
                    .is_some_and(|entries| ignored_by(entries, &c.cwd))
            })
    }
}

/// Whether a pattern matches the path, as ruff reads `exclude`: the path
/// relative to `root` or one of its directories (`migrations/**`,
/// `scripts/*.py`, `legacy`), or the name of the file or of any directory
/// on the way (`tests`, `.mypy_cache`, `*_pb2.py`).
fn matches_any(globs: &GlobSet, root: &Path, path: &Path) -> bool {
    if globs.is_empty() {
        return false;
    }
    let absolute = absolute(path);
    let relative = absolute.strip_prefix(root).unwrap_or(&absolute);
    relative
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .any(|a| globs.is_match(a) || a.file_name().is_some_and(|name| globs.is_match(name)))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A path as shown to the user: relative to the current directory when it is
/// inside it, as the user would have typed it.
fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    crate::render::display_path(path.strip_prefix(&cwd).unwrap_or(path))
}

/// A configuration error, pointing into the file that caused it.
#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    /// The file's text, named by its path, for the snippet.
    pub source: Box<miette::NamedSource<String>>,
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl ConfigError {
    fn new(
        path: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: String,
        help: Option<String>,
    ) -> ConfigError {
        ConfigError {
            path: path.to_path_buf(),
            source: Box::new(
                miette::NamedSource::new(shown(path), text.to_string()).with_language("toml"),
            ),
            span,
            message,
            help,
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid configuration in {}: {}",
            shown(&self.path),
            self.message
        )
    }
}

impl std::error::Error for ConfigError {}

impl miette::Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("unclosed::config"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.span
            .as_ref()
            .map(|_| self.source.as_ref() as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        let label = miette::LabeledSpan::new_primary_with_span(Some("here".into()), span);
        Some(Box::new(std::iter::once(label)))
    }
}

/// Finds and loads the settings for each file, caching per directory.
pub struct Resolver {
    /// `--config PATH` or `--isolated`: one settings for every file.
    fixed: Option<Arc<Settings>>,
    by_dir: HashMap<PathBuf, Arc<Settings>>,
    defaults: Arc<Settings>,
    /// Options of `check` over every configuration.
    command_line: Option<Arc<CommandLine>>,
}

impl Resolver {
    /// `config`: an explicit file (`--config`); `isolated`: ignore all files.
    pub fn new(config: Option<&Path>, isolated: bool) -> Result<Resolver, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let defaults = Arc::new(Settings::defaults(cwd));
        let fixed = if isolated {
            Some(defaults.clone())
        } else if let Some(path) = config {
            let settings = load(path, Trust::Named)?.ok_or_else(|| {
                let help = "add a `[tool.unclosed]` table, or point --config at an unclosed.toml";
                let message = "has no [tool.unclosed] table".to_string();
                ConfigError::new(path, "", None, message, Some(help.into()))
            })?;
            Some(Arc::new(settings))
        } else {
            None
        };
        Ok(Resolver {
            fixed,
            by_dir: HashMap::new(),
            defaults,
            command_line: None,
        })
    }

    /// Applies the command line's options over every configuration.
    pub fn override_with(&mut self, command_line: CommandLine) {
        if command_line.is_empty() {
            return;
        }
        let command_line = Arc::new(command_line);
        self.defaults = Arc::new(self.defaults.overridden(&command_line));
        if let Some(fixed) = &self.fixed {
            self.fixed = Some(Arc::new(fixed.overridden(&command_line)));
        }
        self.by_dir.clear();
        self.command_line = Some(command_line);
    }

    /// The settings for `file`: those of the nearest config file above it.
    pub fn settings_for(&mut self, file: &Path) -> Result<Arc<Settings>, ConfigError> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let start = absolute(file);
        let mut visited = Vec::new();
        let mut dir = start.parent();
        let mut found = None;
        while let Some(d) = dir {
            if let Some(s) = self.by_dir.get(d) {
                found = Some(s.clone());
                break;
            }
            visited.push(d.to_path_buf());
            if let Some(s) = find_in_dir(d)? {
                found = Some(Arc::new(match &self.command_line {
                    Some(c) => s.overridden(c),
                    None => s,
                }));
                break;
            }
            dir = d.parent();
        }
        let settings = found.unwrap_or_else(|| self.defaults.clone());
        for d in visited {
            self.by_dir.insert(d, settings.clone());
        }
        Ok(settings)
    }
}

fn find_in_dir(dir: &Path) -> Result<Option<Settings>, ConfigError> {
    for name in CONFIG_FILES {
        let path = dir.join(name);
        // Anything by that name, so that a FIFO, a device or a symlink out
        // of the project is refused out loud rather than skipped.
        if path.symlink_metadata().is_ok()
            && let Some(settings) = load(&path, Trust::Found)?
        {
            return Ok(Some(settings));
        }
    }
    Ok(None)
}

/// How a config file was chosen: named by the user on the command line, or
/// found in the checked tree, which anyone who can send a pull request
/// controls.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    Named,
    Found,
}

/// Config and rule files larger than this are refused: they are a few
/// kilobytes, and a hostile one must not grow memory without bound.
const LARGEST_CONFIG_FILE: u64 = 1 << 20;

/// The project a config file belongs to: the nearest directory at or above
/// `dir` that holds `.git`, else `dir` itself. Files it refers to must lie
/// inside it.
fn project_root(dir: &Path) -> PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    crate::discover::git_root(&dir)
        .unwrap_or(&dir)
        .to_path_buf()
}

/// Reads a config or rule file: a regular file (never a FIFO or a device,
/// which would block or never end) of at most `LARGEST_CONFIG_FILE` bytes,
/// and, when `inside` is given, one that resolves (through any symlink)
/// to a file inside that directory, so that a committed symlink to
/// `/proc/self/environ` is refused rather than read and quoted back.
fn read_config_text(path: &Path, inside: Option<&Path>) -> Result<String, String> {
    use std::io::Read;
    if let Some(root) = inside {
        let target = path
            .canonicalize()
            .map_err(|e| format!("cannot be read: {e}"))?;
        if !target.starts_with(root) {
            return Err(format!(
                "is outside the project ({}): refused",
                if path.is_symlink() {
                    "a symlink pointing out of it"
                } else {
                    "config files may only refer to files inside it"
                }
            ));
        }
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file: refused".into());
    }
    if meta.len() > LARGEST_CONFIG_FILE {
        return Err(format!(
            "is larger than {} KiB: refused",
            LARGEST_CONFIG_FILE / 1024
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(LARGEST_CONFIG_FILE + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot be read: {e}"))?;
    if text.len() as u64 > LARGEST_CONFIG_FILE {
        return Err(format!(
            "is larger than {} KiB: refused",
            LARGEST_CONFIG_FILE / 1024
        ));
    }
    Ok(text)
}

/// Loads one config file; `None` for a `pyproject.toml` without
/// `[tool.unclosed]`.
pub fn load(path: &Path, trust: Trust) -> Result<Option<Settings>, ConfigError> {
    let dir = absolute(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let project = project_root(&dir);
    let inside = (trust == Trust::Found).then_some(project.as_path());
    let text = read_config_text(path, inside)
        .map_err(|message| ConfigError::new(path, "", None, message, None))?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    // A `pyproject.toml` that never names the tool configures it not at
    // all, whatever else it holds: a project template's
    // (`{{cookiecutter.name}}/pyproject.toml`, not TOML until rendered)
    // must not stop the run.
    if is_pyproject && !text.contains("unclosed") {
        return Ok(None);
    }
    let parsed = if is_pyproject {
        toml::from_str::<PyProject>(&text).map(|p| p.tool.and_then(|t| t.unclosed))
    } else {
        toml::from_str::<ConfigFile>(&text).map(Some)
    };
    let file = match parsed {
        Ok(Some(file)) => file,
        Ok(None) => return Ok(None),
        Err(e) => return Err(toml_error(path, &text, &e)),
    };
    let root = absolute(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    settings_from(file, path, &text, root, &project).map(Some)
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().to_string();
    let help = did_you_mean(&message);
    ConfigError::new(path, text, e.span(), message, help)
}

/// "unknown field `selct`, expected one of `select`, `ignore`" → "did you
/// mean `select`?"
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field ")?;
    let names: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let (unknown, candidates) = names.split_first()?;
    let best = candidates
        .iter()
        .map(|c| (edit_distance(unknown, c), *c))
        .min()
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))?;
    Some(format!("did you mean `{}`?", best.1))
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

fn settings_from(
    file: ConfigFile,
    path: &Path,
    text: &str,
    root: PathBuf,
    project: &Path,
) -> Result<Settings, ConfigError> {
    let error = |span: Option<Range<usize>>, message: String, help: Option<String>| {
        ConfigError::new(path, text, span, message, help)
    };
    let codes = |list: &[Spanned<String>]| -> Result<Vec<Code>, ConfigError> {
        let mut out = Vec::new();
        for item in list {
            let selector = item.get_ref();
            let matched = select_codes(selector);
            if matched.is_empty() {
                let ids: Vec<&str> = Code::ALL.iter().map(|c| c.id()).collect();
                let suggestion = ids
                    .iter()
                    .min_by_key(|id| edit_distance(selector, id))
                    .copied();
                return Err(error(
                    Some(item.span()),
                    format!("`{selector}` is not a code, a code prefix or `ALL`"),
                    suggestion
                        .map(|s| format!("codes are {}; did you mean `{s}`?", ids.join(", "))),
                ));
            }
            out.extend(matched);
        }
        Ok(out)
    };
    let mut enabled = match &file.select {
        Some(list) => codes(list)?,
        None => Code::ALL.to_vec(),
    };
    enabled.extend(codes(&file.extend_select)?);
    let ignored = codes(&file.ignore)?;
    enabled.retain(|c| !ignored.contains(c));
    enabled.sort();
    enabled.dedup();

    let globs = |list: &[Spanned<String>]| -> Result<GlobSet, ConfigError> {
        let mut builder = GlobSetBuilder::new();
        for item in list {
            let glob = Glob::new(item.get_ref()).map_err(|e| {
                error(
                    Some(item.span()),
                    format!("bad glob pattern: {}", e.kind()),
                    None,
                )
            })?;
            builder.add(glob);
        }
        builder
            .build()
            .map_err(|e| error(None, format!("bad glob patterns: {e}"), None))
    };
    let exclude_list: Vec<Spanned<String>> = file
        .exclude
        .iter()
        .chain(&file.extend_exclude)
        .cloned()
        .collect();
    let exclude = globs(&exclude_list)?;
    let exclude_patterns = exclude_list.iter().map(|p| p.get_ref().clone()).collect();
    let mut per_file_ignores = Vec::new();
    for (pattern, list) in &file.per_file_ignores {
        let glob = Glob::new(pattern).map_err(|e| {
            let span = text.find(pattern.as_str()).map(|s| s..s + pattern.len());
            error(
                span,
                format!("bad glob pattern `{pattern}`: {}", e.kind()),
                None,
            )
        })?;
        let set = GlobSetBuilder::new()
            .add(glob)
            .build()
            .map_err(|e| error(None, format!("bad glob pattern: {e}"), None))?;
        per_file_ignores.push((set, codes(list)?));
    }

    let mut catalogue = Catalogue::builtin();
    catalogue.add(
        file.resource,
        file.ownership.unwrap_or_default(),
        file.calls.unwrap_or_default(),
    );
    catalogue.add_programs(file.programs.unwrap_or_default());
    let mut digest = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut digest, text.as_bytes());
    for rules_path in &file.extend_rules {
        // Relative to the config file, and inside its project: a committed
        // config must not make the tool read (and quote) files elsewhere.
        let full = root.join(rules_path.get_ref());
        let rules_text = read_config_text(&full, Some(project)).map_err(|e| {
            error(
                Some(rules_path.span()),
                format!("`{}` {e}", rules_path.get_ref()),
                None,
            )
        })?;
        sha2::Digest::update(&mut digest, [0xFF]);
        sha2::Digest::update(&mut digest, rules_text.as_bytes());
        let parsed: RuleFile =
            toml::from_str(&rules_text).map_err(|e| toml_error(&full, &rules_text, &e))?;
        catalogue.add(
            parsed.resource,
            parsed.ownership.unwrap_or_default(),
            parsed.calls.unwrap_or_default(),
        );
        catalogue.add_programs(parsed.programs.unwrap_or_default());
    }
    catalogue.validate().map_err(|e| {
        let span = e.needle.as_ref().and_then(|needle| {
            let quoted = format!("\"{needle}\"");
            text.find(&quoted)
                .or_else(|| text.find(&format!("'{needle}'")))
                .map(|start| start..start + quoted.len())
        });
        error(span, format!("{}: {}", e.file, e.message), None)
    })?;

    Ok(Settings {
        origin: Some(path.to_path_buf()),
        root,
        catalogue: Arc::new(catalogue),
        catalogue_digest: format!("{:x}", sha2::Digest::finalize(digest)),
        enabled,
        include_module_level: file.include_module_level.unwrap_or(false),
        tests: file.tests.unwrap_or_default(),
        exclude,
        exclude_patterns,
        per_file_ignores,
        command_line: None,
    })
}

/// `UC001`, a prefix such as `UC00`, or `ALL`.
fn select_codes(selector: &str) -> Vec<Code> {
    if selector == "ALL" {
        return Code::ALL.to_vec();
    }
    if selector.len() < 2 {
        return Vec::new();
    }
    Code::ALL
        .into_iter()
        .filter(|c| c.id().starts_with(selector))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_suites_of_any_kind_are_test_code() {
        for path in [
            "tests/test_db.py",
            "pkg/t/unit/helpers.py",
            "e2e_tests/run_db_tests.py",
            "integration-tests/conftest.py",
            "tests_unit/fixtures.py",
            "pkg/db_test.py",
            // Test support a package ships runs under a test runner.
            "nameko/testing/utils.py",
            "src/gevent/testing/sockets.py",
            "src/zc/buildout/testing.py",
            "Lib/Tests/db.py",
            "mycli_test/features/db_utils.py",
            // meson's suites and runners, Django's test modules.
            "unittests/linuxliketests.py",
            "run_project_tests.py",
            "run_unittests.py",
            "polls/tests.py",
            "heat_integrationtests/common/test.py",
            "src/borg/testsuite/archiver.py",
            "pyvisa/testsuite/keysight_assisted_tests/messagebased_resource_utils.py",
            "selftests/unit/utils/process.py",
        ] {
            assert_eq!(code_kind(Path::new(path)), CodeKind::Test, "{path}");
        }
        for path in [
            "pkg/testing_tools.py",
            "pkg/latest/db.py",
            "contests/db.py",
            "pkg/attests.py",
        ] {
            assert_eq!(code_kind(Path::new(path)), CodeKind::Production, "{path}");
        }
    }

    #[test]
    fn scripts_shipped_beside_the_code_are_auxiliary() {
        for path in [
            "spyne/bin/distribute_setup.py",
            "execnet/script/shell.py",
            "scripts-dev/release.py",
            "Doc/includes/mp_synchronize.py",
            "Tools/scripts/run.py",
            "profiling/pyspy.py",
            "setup.py",
        ] {
            assert_eq!(code_kind(Path::new(path)), CodeKind::Auxiliary, "{path}");
        }
        for path in ["pkg/binary.py", "pkg/binding/client.py", "pkg/scripting.py"] {
            assert_eq!(code_kind(Path::new(path)), CodeKind::Production, "{path}");
        }
    }

    #[test]
    fn suggests_the_nearest_key() {
        let msg = "unknown field `selct`, expected one of `select`, `extend-select`, `ignore`";
        assert_eq!(did_you_mean(msg).as_deref(), Some("did you mean `select`?"));
        let far = "unknown field `zzzzzzzz`, expected one of `select`, `ignore`";
        assert_eq!(did_you_mean(far), None);
    }

    #[test]
    fn selectors_accept_codes_prefixes_and_all() {
        assert_eq!(select_codes("UC003"), vec![Code::ReleaseNotAwaited]);
        assert_eq!(select_codes("UC00").len(), 8);
        assert_eq!(select_codes("ALL").len(), 8);
        assert!(select_codes("E501").is_empty());
    }
}
