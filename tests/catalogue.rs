//! Lints the built-in catalogue itself: every entry is documented well
//! enough to generate its docs, cites the library's documentation, and is
//! exercised by a fixture with a leaking and a safe function.

use std::path::Path;
use unclosed::analysis::{Options, analyze_source};
use unclosed::rules::Catalogue;

#[test]
fn every_entry_is_documented() {
    for r in Catalogue::builtin().resources {
        for (field, value) in [
            ("why", &r.why),
            ("example", &r.example),
            ("fix", &r.fix),
            ("reference", &r.reference),
        ] {
            assert!(
                value.as_deref().is_some_and(|v| !v.trim().is_empty()),
                "resource `{}` has no `{field}`",
                r.id
            );
        }
        assert!(
            r.reference.as_deref().unwrap().starts_with("https://"),
            "{}: reference is not a URL",
            r.id
        );
    }
}

#[test]
fn every_entry_has_a_fixture_that_leaks_and_one_that_does_not() {
    let catalogue = Catalogue::builtin();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/catalogue");
    for r in &catalogue.resources {
        let path = dir.join(format!("{}.py", r.id));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("resource `{}` has no fixture {}", r.id, path.display()));
        let report = analyze_source(&source, &catalogue, &Options::default());
        assert!(
            report.findings.iter().any(|f| f.resource == r.id),
            "fixtures/catalogue/{}.py has no finding of `{}` itself",
            r.id,
            r.id
        );
        let functions = source
            .lines()
            .filter(|l| {
                l.trim_start().starts_with("def ") || l.trim_start().starts_with("async def ")
            })
            .count();
        let leaking = source.matches("# expect:").count();
        assert!(
            functions > leaking,
            "fixtures/catalogue/{}.py has no safe function",
            r.id
        );
    }
}

#[test]
fn the_examples_in_the_docs_leak_and_the_fixes_do_not() {
    let catalogue = Catalogue::builtin();
    for r in &catalogue.resources {
        let (Some(example), Some(fix)) = (&r.example, &r.fix) else {
            continue;
        };
        let leaks = analyze_source(example, &catalogue, &Options::default());
        assert!(
            !leaks.findings.is_empty(),
            "the `example` of `{}` does not leak:\n{example}",
            r.id
        );
        let fixed = analyze_source(fix, &catalogue, &Options::default());
        assert!(
            fixed.findings.is_empty(),
            "the `fix` of `{}` still leaks: {:?}",
            r.id,
            fixed.findings.first().map(|f| &f.message)
        );
    }
    for code in unclosed::codes::Code::ALL {
        let doc = code.doc();
        let leaks = analyze_source(&doc.example, &catalogue, &Options::default());
        assert!(
            leaks.findings.iter().any(|f| f.code == code),
            "the example of {code} does not report {code}: {:?}",
            leaks.findings.iter().map(|f| f.code).collect::<Vec<_>>()
        );
        let fixed = analyze_source(&doc.fix, &catalogue, &Options::default());
        assert!(fixed.findings.is_empty(), "the fix of {code} still leaks");
    }
}
