//! The audit's HTML page in a real headless browser (Debian's `chromium`):
//! it loads with no console message, shows the numbers of the JSON audit,
//! and a screenshot is kept as a test artifact
//! (`target/test-artifacts/audit-report.png`). Needs chromium, so it is
//! ignored by `cargo test`; `.ci/run` installs chromium and runs it.

mod common;

use std::path::Path;
use std::process::Command;

fn chromium(args: &[&str], page: &Path) -> (String, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--log-level=0",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs (Debian's package `chromium`)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The text of the element with this id in the dumped DOM.
fn text_of(dom: &str, id: &str) -> String {
    let start = dom
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &dom[start + id.len() + 6..];
    rest[..rest.find('<').unwrap()].to_string()
}

#[test]
#[ignore = "needs chromium; run by .ci/run"]
fn the_audit_page_loads_cleanly_and_shows_the_audit_numbers() {
    let dir = tempfile::tempdir().unwrap();
    common::audit_roots(dir.path());
    let json = common::unclosed()
        .current_dir(dir.path())
        .args(["audit", "--output-format", "json", "."])
        .output()
        .unwrap()
        .stdout;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let page = dir.path().join("report.html");
    common::unclosed()
        .current_dir(dir.path())
        .args(["audit", "--output-format", "html", "--output-file"])
        .arg(&page)
        .arg(".")
        .assert()
        .code(1);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page fetches nothing"
    );

    let (dom, log) = chromium(&["--dump-dom"], &page);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let total = &json["total"];
    for (id, key) in [
        ("total-files", "files"),
        ("total-lines", "lines"),
        ("total-findings", "findings"),
        ("total-production", "production"),
        ("total-tests", "tests"),
    ] {
        assert_eq!(text_of(&dom, id), total[key].to_string(), "{id}");
    }
    assert_eq!(text_of(&dom, "total-repositories"), "3");
    let findings = total["findings"].as_u64().unwrap();
    assert!(
        dom.contains(&format!("({findings} of {findings})")),
        "{dom}"
    );
    for repo in json["repositories"].as_array().unwrap() {
        let name = repo["repository"].as_str().unwrap();
        let bar = format!(
            "data-repository=\"{name}\" data-findings=\"{}\"",
            repo["findings"]
        );
        assert!(dom.contains(&bar), "{bar}");
    }
    assert!(
        dom.contains("class=\"step\""),
        "the path is drawn on the source"
    );

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("audit-report.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    chromium(&[&arg, "--window-size=1280,1600"], &page);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "screenshot of {size} bytes");
}
