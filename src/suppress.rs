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
    comment.contains("noqa") || comment.contains("unclosed:")
}

fn parse_comment(comment: &str, line: usize) -> Option<Suppression> {
    let lower = comment.to_ascii_lowercase();
    if let Some(pos) = lower.find("unclosed: ignore") {
        let rest = &comment[pos + "unclosed: ignore".len()..];
        let codes = rest
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map(|(inside, _)| split_codes(inside));
        return Some(Suppression {
            line,
            comment: comment[pos..].trim().to_string(),
            codes,
            ours: true,
        });
    }
    let pos = lower.find("noqa")?;
    let rest = comment[pos + 4..].trim_start();
    let codes = match rest.strip_prefix(':') {
        // Only our codes: `# noqa: E501, UC001` also speaks to flake8.
        Some(list) => {
            let ours: Vec<String> = split_codes(list)
                .into_iter()
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
        comment: comment[pos..].trim().to_string(),
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
}
