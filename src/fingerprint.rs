//! Stable identities for findings, for baselines and for code scanning's
//! alert tracking (SARIF `partialFingerprints`).
//!
//! A fingerprint hashes what the leak *is* (file, function, resource, code
//! and the text of the acquiring call), never where it sits: an edit above the
//! function moves every line number but keeps every fingerprint.

use crate::finding::Finding;

/// 64-bit FNV-1a, written out because `std`'s hashers may change between Rust
/// releases and a fingerprint must not.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        // 0xFF never occurs in UTF-8, so it separates the parts unambiguously:
        // ("ab", "c") and ("a", "bc") hash differently.
        for &byte in part.as_bytes().iter().chain(&[0xFF]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The fingerprint of one finding, as 16 lowercase hex digits. `path` is the
/// path as displayed (relative to where the tool runs, `/`-separated), so the
/// same checkout gives the same fingerprints on every machine.
pub fn fingerprint(path: &str, finding: &Finding, source: &str) -> String {
    // Reformatting the call (line breaks inside its arguments) is not a new leak.
    let call = source
        .get(finding.span.start..finding.span.end)
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let hash = fnv1a(&[
        path,
        &finding.function,
        &finding.resource,
        finding.code.id(),
        &call,
    ]);
    format!("{hash:016x}")
}

/// The fingerprints of a file's findings, in order. Findings that hash alike
/// (the same call leaking twice in one function) are told apart by their
/// order: the first keeps the bare hash, later ones get `:1`, `:2`, ... so
/// adding a second copy never changes the first one's fingerprint.
pub fn fingerprints(path: &str, findings: &[Finding], source: &str) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    findings
        .iter()
        .map(|finding| {
            let base = fingerprint(path, finding, source);
            let count = seen.entry(base.clone()).or_insert(0);
            *count += 1;
            match *count {
                1 => base,
                n => format!("{base}:{}", n - 1),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Code;
    use crate::finding::{Position, Span};

    /// A finding on the first `call` at or after `from` in `source`.
    fn finding_at(source: &str, call: &str, from: usize, code: Code, function: &str) -> Finding {
        let start = from + source[from..].find(call).unwrap();
        let line = source[..start].matches('\n').count() + 1;
        Finding {
            code,
            resource: "pool-connection".into(),
            function: function.into(),
            span: Span {
                start,
                end: start + call.len(),
            },
            start: Position { line, column: 12 },
            end: Position { line, column: 26 },
            message: "leaks".into(),
            help: String::new(),
            steps: vec![],
            also: vec![],
            skipped_release: None,
            kept_in: None,
        }
    }

    fn finding_in(source: &str, from: usize, code: Code, function: &str) -> Finding {
        finding_at(source, "pool.acquire()", from, code, function)
    }

    const SOURCE: &str = "def f(pool):\n    conn = pool.acquire()\n    return 1\n";

    #[test]
    fn inserting_lines_above_keeps_the_fingerprint() {
        let before = finding_in(SOURCE, 0, Code::UnreleasedOnReturn, "f");
        let shifted = format!("import os\n\n\n{SOURCE}");
        let after = finding_in(&shifted, 0, Code::UnreleasedOnReturn, "f");
        assert_ne!(before.start.line, after.start.line);
        assert_eq!(
            fingerprint("app/db.py", &before, SOURCE),
            fingerprint("app/db.py", &after, &shifted)
        );
    }

    #[test]
    fn reformatting_the_call_keeps_the_fingerprint() {
        let one_line = "def f(pool):\n    conn = pool.acquire( timeout=1 )\n";
        let wrapped = "def f(pool):\n    conn = pool.acquire(\n        timeout=1\n    )\n";
        let a = finding_at(
            one_line,
            "pool.acquire( timeout=1 )",
            0,
            Code::UnreleasedOnReturn,
            "f",
        );
        let b = finding_at(
            wrapped,
            "pool.acquire(\n        timeout=1\n    )",
            0,
            Code::UnreleasedOnReturn,
            "f",
        );
        assert_eq!(
            fingerprint("a.py", &a, one_line),
            fingerprint("a.py", &b, wrapped)
        );
    }

    #[test]
    fn code_function_and_path_change_the_fingerprint() {
        let base = finding_in(SOURCE, 0, Code::UnreleasedOnReturn, "f");
        let other_code = finding_in(SOURCE, 0, Code::UnreleasedOnException, "f");
        let other_function = finding_in(SOURCE, 0, Code::UnreleasedOnReturn, "g");
        let fp = |path, f: &Finding| fingerprint(path, f, SOURCE);
        assert_ne!(fp("a.py", &base), fp("a.py", &other_code));
        assert_ne!(fp("a.py", &base), fp("a.py", &other_function));
        assert_ne!(fp("a.py", &base), fp("b.py", &base));
    }

    #[test]
    fn the_hash_is_fixed_across_builds() {
        // Pinned values: if this changes, every stored baseline breaks.
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(format!("{:016x}", fnv1a(&["a"])), "089bc907b544c769");
    }

    #[test]
    fn identical_findings_are_numbered_in_order() {
        let source = "def f(pool):\n    conn = pool.acquire()\n    conn = pool.acquire()\n";
        let first = finding_in(source, 0, Code::ResourceOverwritten, "f");
        let second = finding_in(source, first.span.end, Code::ResourceOverwritten, "f");
        let other = finding_in(source, 0, Code::UnreleasedOnReturn, "f");
        let fps = fingerprints(
            "a.py",
            &[first.clone(), other, second.clone(), first],
            source,
        );
        let base = fingerprint("a.py", &second, source);
        assert_eq!(fps[0], base);
        assert_ne!(fps[1], base);
        assert_eq!(fps[2], format!("{base}:1"));
        assert_eq!(fps[3], format!("{base}:2"));
    }
}
