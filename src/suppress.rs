//! Inline suppressions: `# noqa: UC001` (the flake8/ruff convention) and
//! `# unclosed: ignore[UC001]` on any line of the acquiring call. A bare
//! `# noqa` suppresses everything on its line. Suppressions that suppress
//! nothing, or name codes that do not exist, are reported, so they do not
//! outlive the code they were written for.

use crate::codes::Code;
use crate::finding::{Finding, Warning};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Suppression {
    line: usize,
    /// The comment as written, for messages.
    comment: String,
    /// `None`: every code.
    codes: Option<Vec<String>>,
    /// `# unclosed: ignore` is ours alone; a bare `# noqa` is shared with
    /// every other linter, so it is never reported as unused.
    ours: bool,
}

/// Removes suppressed findings; returns warnings for suppressions that are
/// unused or name unknown codes (when `warn_unused`). `comments` are the
/// file's comments that may suppress (`may_suppress`), with their lines.
pub fn apply(
    comments: &[(usize, String)],
    findings: &mut Vec<Finding>,
    warn_unused: bool,
) -> Vec<Warning> {
    let suppressions: Vec<Suppression> = comments
        .iter()
        .filter_map(|(line, comment)| parse_comment(comment, *line))
        .collect();
    if suppressions.is_empty() {
        return Vec::new();
    }
    let mut used = vec![Vec::<String>::new(); suppressions.len()];
    findings.retain(|f| {
        let (first, last) = (f.start.line, f.end.line);
        for (i, s) in suppressions.iter().enumerate() {
            if s.line < first || s.line > last {
                continue;
            }
            let covers = s
                .codes
                .as_ref()
                .is_none_or(|codes| codes.iter().any(|c| c == f.code.id()));
            if covers {
                used[i].push(f.code.id().to_string());
                return false;
            }
        }
        true
    });
    if !warn_unused {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    for (s, used) in suppressions.iter().zip(used) {
        match &s.codes {
            None if s.ours && used.is_empty() => warnings.push(Warning {
                line: Some(s.line),
                message: format!(
                    "unused suppression `{}`: nothing is reported on this line",
                    s.comment
                ),
                incomplete: false,
            }),
            None => {}
            Some(codes) => {
                for code in codes {
                    let message = if Code::parse(code).is_none() {
                        format!(
                            "`{}` names `{code}`, which is not an unclosed code",
                            s.comment
                        )
                    } else if !used.contains(code) {
                        format!(
                            "unused suppression of {code} in `{}`: no {code} finding here",
                            s.comment
                        )
                    } else {
                        continue;
                    };
                    warnings.push(Warning {
                        line: Some(s.line),
                        message,
                        incomplete: false,
                    });
                }
            }
        }
    }
    warnings
}

/// Whether a comment may be a suppression: the analysis keeps those of
/// each file (it has the syntax tree), so that they are not looked for in
/// strings.
pub fn may_suppress(comment: &str) -> bool {
    let lower = comment.to_ascii_lowercase();
    lower.contains("noqa") || lower.contains("unclosed:")
}

/// The directive `# <name>` in a comment: a `#` followed by optional
/// blanks and `name` (ASCII case-insensitive), not a longer word, as ruff
/// reads `# noqa`. `# not a noqa comment` is no directive. Returns the byte
/// offsets of the `#` and of the end of the name.
fn find_directive(comment: &str, name: &str) -> Option<(usize, usize)> {
    let bytes = comment.as_bytes();
    for (hash, _) in comment.match_indices('#') {
        let mut at = hash + 1;
        while at < bytes.len() && (bytes[at] == b' ' || bytes[at] == b'\t') {
            at += 1;
        }
        let end = at + name.len();
        let Some(word) = comment.get(at..end) else {
            continue;
        };
        let word_ends = bytes
            .get(end)
            .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
        if word.eq_ignore_ascii_case(name) && word_ends {
            return Some((hash, end));
        }
    }
    None
}

fn parse_comment(comment: &str, line: usize) -> Option<Suppression> {
    if let Some((hash, end)) = find_directive(comment, "unclosed: ignore") {
        let codes = comment[end..]
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map(|(inside, _)| split_codes(inside));
        return Some(Suppression {
            line,
            comment: comment[hash..].trim().to_string(),
            codes,
            ours: true,
        });
    }
    let (hash, end) = find_directive(comment, "noqa")?;
    let codes = match comment[end..].strip_prefix(':') {
        // Only our codes: `# noqa: E501, UC001` also speaks to flake8.
        Some(list) => {
            let ours: Vec<String> = split_codes(list)
                .into_iter()
                .map(|c| c.to_ascii_uppercase())
                .filter(|c| c.starts_with("UC"))
                .collect();
            if ours.is_empty() {
                return None;
            }
            Some(ours)
        }
        None => None,
    };
    Some(Suppression {
        line,
        comment: comment[hash..].trim().to_string(),
        codes,
        ours: false,
    })
}

fn split_codes(list: &str) -> Vec<String> {
    list.split([',', ' '])
        .map(|c| c.trim().to_string())
        .take_while(|c| !c.starts_with('#'))
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms() {
        let s = parse_comment("# noqa: UC001, E501", 3).unwrap();
        assert_eq!(s.codes, Some(vec!["UC001".to_string()]));
        assert_eq!(parse_comment("# noqa: E501", 3), None);
        assert_eq!(parse_comment("# noqa", 3).unwrap().codes, None);
        let ours = parse_comment("# unclosed: ignore[UC003,UC004]", 1).unwrap();
        assert_eq!(
            ours.codes,
            Some(vec!["UC003".to_string(), "UC004".to_string()])
        );
        assert!(ours.ours);
        assert_eq!(parse_comment("# unclosed: ignore", 1).unwrap().codes, None);
    }

    #[test]
    fn only_a_directive_suppresses() {
        // A word in prose is not a directive.
        assert_eq!(parse_comment("# not a noqa comment", 3), None);
        assert_eq!(parse_comment("# see noqa: UC001 in the docs", 3), None);
        assert_eq!(parse_comment("# noqanother", 3), None);
        assert_eq!(parse_comment("# unclosed: ignored on purpose", 3), None);
        // Case-insensitive and after another directive, as ruff reads it.
        let upper = parse_comment("# NOQA: uc001", 3).unwrap();
        assert_eq!(upper.codes, Some(vec!["UC001".to_string()]));
        assert!(may_suppress("# NOQA"));
        let chained = parse_comment("# type: ignore  #noqa:UC002", 3).unwrap();
        assert_eq!(chained.codes, Some(vec!["UC002".to_string()]));
        assert_eq!(chained.comment, "#noqa:UC002");
    }
}
