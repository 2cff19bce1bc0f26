//! The registry of finding codes. Codes are stable and never reused: a code
//! that is retired stays here, marked as such, so old suppressions keep their
//! meaning.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The documentation of every code, embedded from `rules/codes.toml`.
const CODES_TOML: &str = include_str!("../rules/codes.toml");

/// One code's documentation: the single source for `unclosed rule`, the docs
/// page and the SARIF rule help.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CodeDoc {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub why: String,
    pub example: String,
    pub fix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodesFile {
    code: Vec<CodeDoc>,
}

fn docs() -> &'static [CodeDoc] {
    static DOCS: OnceLock<Vec<CodeDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        toml::from_str::<CodesFile>(CODES_TOML)
            .expect("rules/codes.toml is validated by tests")
            .code
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Code {
    #[serde(rename = "UC001")]
    UnreleasedOnReturn,
    #[serde(rename = "UC002")]
    UnreleasedOnException,
    #[serde(rename = "UC003")]
    ReleaseNotAwaited,
    #[serde(rename = "UC004")]
    UnreleasedOnCancellation,
    #[serde(rename = "UC005")]
    ResourceDiscarded,
    #[serde(rename = "UC006")]
    ResourceOverwritten,
    #[serde(rename = "UC007")]
    UnprotectedYield,
    #[serde(rename = "UC008")]
    OwnerNeverReleases,
}

impl Code {
    pub const ALL: [Code; 8] = [
        Code::UnreleasedOnReturn,
        Code::UnreleasedOnException,
        Code::ReleaseNotAwaited,
        Code::UnreleasedOnCancellation,
        Code::ResourceDiscarded,
        Code::ResourceOverwritten,
        Code::UnprotectedYield,
        Code::OwnerNeverReleases,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Code::UnreleasedOnReturn => "UC001",
            Code::UnreleasedOnException => "UC002",
            Code::ReleaseNotAwaited => "UC003",
            Code::UnreleasedOnCancellation => "UC004",
            Code::ResourceDiscarded => "UC005",
            Code::ResourceOverwritten => "UC006",
            Code::UnprotectedYield => "UC007",
            Code::OwnerNeverReleases => "UC008",
        }
    }

    /// How serious a finding is, in SARIF's words (`error`, `warning`),
    /// the same in every format: a leak on a normal path is an error; one
    /// that needs an exception or a cancellation is a warning.
    pub fn level(self) -> &'static str {
        match self {
            Code::UnreleasedOnException | Code::UnreleasedOnCancellation => "warning",
            _ => "error",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Code::UnreleasedOnReturn => "unreleased-on-return",
            Code::UnreleasedOnException => "unreleased-on-exception",
            Code::ReleaseNotAwaited => "release-not-awaited",
            Code::UnreleasedOnCancellation => "unreleased-on-cancellation",
            Code::ResourceDiscarded => "resource-discarded",
            Code::ResourceOverwritten => "resource-overwritten",
            Code::UnprotectedYield => "unprotected-yield",
            Code::OwnerNeverReleases => "owner-never-releases",
        }
    }

    /// The code's documentation from `rules/codes.toml`.
    pub fn doc(self) -> &'static CodeDoc {
        docs()
            .iter()
            .find(|d| d.id == self.id())
            .expect("every code is documented (tested)")
    }

    pub fn summary(self) -> &'static str {
        &self.doc().summary
    }

    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.id() == text)
    }

    /// How sure a leak of this kind is: when one acquisition leaks several
    /// ways we report the most certain (a path every run can take beats one
    /// that needs an exception).
    pub fn certainty_rank(self) -> u8 {
        match self {
            Code::ReleaseNotAwaited => 0,
            Code::ResourceDiscarded => 1,
            Code::UnreleasedOnReturn => 2,
            Code::ResourceOverwritten => 3,
            Code::UnprotectedYield => 4,
            Code::UnreleasedOnException => 5,
            Code::UnreleasedOnCancellation => 6,
            Code::OwnerNeverReleases => 7,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented_once_under_its_own_name() {
        assert_eq!(docs().len(), Code::ALL.len(), "one entry per code");
        for code in Code::ALL {
            let doc = code.doc();
            assert_eq!(doc.name, code.name(), "{code}");
            for (field, text) in [
                ("summary", &doc.summary),
                ("why", &doc.why),
                ("example", &doc.example),
                ("fix", &doc.fix),
            ] {
                assert!(!text.trim().is_empty(), "{code}: empty {field}");
            }
        }
    }
}
