//! Findings: what the analysis reports, with the path that leaks.

use crate::codes::Code;
use serde::{Deserialize, Serialize};

/// A byte range in the (decoded, UTF-8) source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// 1-based line and column; the column counts Unicode characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One step of the path that leaks: "`validate_payment()` raises".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub span: Span,
    pub start: Position,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    /// The catalogue entry of the leaked resource.
    pub resource: String,
    /// Qualified name of the function: `PaymentService.charge`.
    pub function: String,
    /// The acquiring call.
    pub span: Span,
    pub start: Position,
    pub end: Position,
    pub message: String,
    pub help: String,
    /// The leaking path, from the acquisition to the escape.
    pub steps: Vec<Step>,
    /// Other ways the same acquisition leaks, less certain than `message`.
    pub also: Vec<String>,
    /// Where the resource is released on other paths: the release the leaking
    /// path skips (absent when nothing ever releases it).
    pub skipped_release: Option<Step>,
    /// For UC008: the class and the attribute it keeps the resource in,
    /// for the project-wide look for a release elsewhere (not reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_in: Option<(String, String)>,
}

impl Finding {
    /// The finding with control characters in its texts written as escapes:
    /// messages quote source (a condition, a call), and a raw newline or
    /// terminal escape there must not forge a line of a report or drive a
    /// terminal.
    pub fn without_control_characters(mut self) -> Finding {
        self.message = escape_controls(&self.message);
        self.help = escape_controls(&self.help);
        for step in self.steps.iter_mut().chain(self.skipped_release.as_mut()) {
            step.message = escape_controls(&step.message);
        }
        for also in &mut self.also {
            *also = escape_controls(also);
        }
        self
    }
}

/// Control characters written as escapes (`\n`, `\x1b`).
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => format!("\\x{:02x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

/// Something the analysis could not do on part of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub line: Option<usize>,
    pub message: String,
    /// Part of the file was not analysed (a syntax error, a budget): a
    /// leak there would go unreported. `--strict` fails the run on these.
    #[serde(default)]
    pub incomplete: bool,
}

/// A resource the analysis inferred (no catalogue entry names it), for
/// `unclosed resources --learned`: what was learnt, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learnt {
    pub kind: LearntKind,
    pub line: usize,
    /// The function or class it was learnt in.
    pub scope: String,
    /// "`_terminals.lease()` is released by `_terminals.release(terminal)`"
    pub what: String,
    /// For a pair: the configuration entry that would make it known in
    /// every function (`[[tool.unclosed.resource]]`).
    pub entry: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LearntKind {
    /// A call whose value the function releases.
    Pair,
    /// A function that returns a new resource.
    Helper,
    /// A class whose instances keep a resource until closed.
    Owner,
}

/// A pair one file learnt on a method call (`self._pool.checkout()`, given
/// back by `self._pool.checkin(conn)`), which holds in every file of the
/// project: the same method on a receiver of the same name
/// (`pool.checkout()`, `self.pool.checkout()`) makes the same resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedPair {
    /// The receiver's last name, leading underscores dropped: `pool`.
    pub receiver: String,
    /// `checkout`.
    pub method: String,
    pub release: crate::rules::Release,
    /// The release that showed it, and where: "`self._pool.checkin(conn)`
    /// in `Store.reserve`, line 20" (the runner adds the file).
    pub shown: String,
}

impl SharedPair {
    /// The id of the resources it makes up.
    pub fn resource_id(&self) -> String {
        format!("learned:{}.{}", self.receiver, self.method)
    }
}

/// What one file's functions did with a pair another file showed: those
/// that keep it (release the value, or hand it on), and the findings of
/// those that break it, reported only if keeping it is the project's habit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairUse {
    /// The pair's resource id (`SharedPair::resource_id`).
    pub id: String,
    pub keeping: usize,
    pub breaking: usize,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    /// What was inferred in this file.
    #[serde(skip)]
    pub learnt: Vec<Learnt>,
    /// The comments that may be suppressions (`# noqa: UC001`, `#
    /// unclosed: ignore`), with their lines.
    #[serde(skip)]
    pub suppressions: Vec<(usize, String)>,
    /// Pairs learnt here that hold in the other files too.
    #[serde(skip)]
    pub shared_pairs: Vec<SharedPair>,
    /// What this file did with the pairs other files showed (only when
    /// analysed with them).
    #[serde(skip)]
    pub pair_uses: Vec<PairUse>,
}
