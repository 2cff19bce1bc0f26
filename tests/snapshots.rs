//! Snapshot tests: the rendered diagnostics for the incident fixtures and the
//! control-flow graphs of small functions. A change in wording or in the
//! graph shows up as a diff; `cargo insta review` (or `INSTA_UPDATE=always
//! cargo test`) blesses it.

use std::path::Path;
use unclosed::analysis::{Options, analyze_source};
use unclosed::render::human::{Style, render};
use unclosed::rules::Catalogue;

fn rendered(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let source = std::fs::read_to_string(path).unwrap();
    let report = analyze_source(&source, &Catalogue::builtin(), &Options::default());
    let style = Style {
        color: false,
        width: 100,
    };
    report
        .findings
        .iter()
        .map(|f| render(relative, &source, f, &style, true))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn incident_release_on_success_only() {
    insta::assert_snapshot!(rendered("fixtures/incident/release_on_success_only.py"));
}

#[test]
fn incident_release_not_awaited() {
    insta::assert_snapshot!(rendered("fixtures/incident/release_not_awaited.py"));
}

#[test]
fn incident_except_exception() {
    insta::assert_snapshot!(rendered("fixtures/incident/except_exception.py"));
}

#[test]
fn incident_handed_out_on_success() {
    insta::assert_snapshot!(rendered("fixtures/incident/handed_out_on_success.py"));
}

/// A resource learnt from its give-back: the help names that call rather
/// than advising a `with` the object may not support.
#[test]
fn learnt_pair_help_names_the_give_back() {
    insta::assert_snapshot!(rendered("fixtures/inventory/reservations.py"));
}

#[test]
fn postmortem_snippet_renders_nothing() {
    assert_eq!(rendered("fixtures/incident/postmortem_snippet.py"), "");
}

#[test]
fn cfg_return_in_except_runs_finally() {
    let source = "def f(pool):\n    conn = pool.acquire()\n    try:\n        work(conn)\n    except ValueError:\n        return None\n    finally:\n        pool.release(conn)\n    return 1\n";
    let graph = unclosed::cfg::mermaid_for(source, "f", &Catalogue::builtin()).unwrap();
    insta::assert_snapshot!(graph);
}

#[test]
fn cfg_loop_with_break_and_else() {
    let source = "def f(items):\n    for item in items:\n        if item:\n            break\n        use(item)\n    else:\n        done()\n    return 2\n";
    let graph = unclosed::cfg::mermaid_for(source, "f", &Catalogue::builtin()).unwrap();
    insta::assert_snapshot!(graph);
}

#[test]
fn headline_names_the_likeliest_raiser() {
    insta::assert_snapshot!(rendered("fixtures/notifications/listener_setup.py"));
}

#[test]
fn a_handler_raising_again_is_no_headline_of_its_own() {
    let relative = "fixtures/catalogue/urlopen-response.py";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let source = std::fs::read_to_string(path).unwrap();
    let report = analyze_source(&source, &Catalogue::builtin(), &Options::default());
    let logged = report
        .findings
        .iter()
        .find(|f| f.function == "fetch_logged")
        .expect("fetch_logged leaks");
    assert!(
        logged
            .message
            .ends_with("when `resp.read()` raises (line 92)"),
        "{}",
        logged.message
    );
}

/// A `yield` inside `try/finally` whose `finally` releases only on some
/// paths is not "outside `try/finally`": the other way out is named as it is.
#[test]
fn yield_under_a_finally_that_releases_on_some_paths() {
    let source = r#"
from contextlib import contextmanager


@contextmanager
def job_output(path, keep_open=False):
    out = open(path, "w")
    try:
        yield out
    finally:
        if not keep_open:
            out.close()
"#;
    let report = analyze_source(source, &Catalogue::builtin(), &Options::default());
    let texts: Vec<String> = report
        .findings
        .iter()
        .flat_map(|f| std::iter::once(f.message.clone()).chain(f.also.iter().cloned()))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("is yielded inside `try/finally`")),
        "{texts:#?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("outside `try/finally`")),
        "{texts:#?}"
    );
}
