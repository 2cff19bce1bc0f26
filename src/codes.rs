//! The registry of finding codes. Codes are stable and never reused: a code
//! that is retired stays here, marked as such, so old suppressions keep their
//! meaning.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
}

impl Code {
    pub const ALL: [Code; 7] = [
        Code::UnreleasedOnReturn,
        Code::UnreleasedOnException,
        Code::ReleaseNotAwaited,
        Code::UnreleasedOnCancellation,
        Code::ResourceDiscarded,
        Code::ResourceOverwritten,
        Code::UnprotectedYield,
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
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            Code::UnreleasedOnReturn => {
                "a return, fall-through or break reaches the end of the function with the resource held"
            }
            Code::UnreleasedOnException => {
                "an exception raised after the acquisition leaves the function with the resource held"
            }
            Code::ReleaseNotAwaited => "the release is a coroutine and is called without `await`",
            Code::UnreleasedOnCancellation => {
                "the release runs only in `except Exception` handlers, which cancellation skips"
            }
            Code::ResourceDiscarded => {
                "the acquired resource is never bound, so nothing can release it"
            }
            Code::ResourceOverwritten => {
                "the variable holding an unreleased resource is reassigned"
            }
            Code::UnprotectedYield => {
                "a context-manager generator yields the resource outside `try/finally`"
            }
        }
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
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}
