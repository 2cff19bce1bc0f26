//! Configuration end to end: a project with its own resource, the nearest
//! config winning, and the diagnostics for broken config files.

mod common;

use common::{check_concise, stdout_text, unclosed, write};
use predicates::prelude::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn project() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/projects/payments_service")
}

/// `path:line CODE` for every `# expect:` comment under `dir`.
fn expectations(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("{prefix}{}", path.file_name().unwrap().to_string_lossy());
        if path.is_dir() {
            expectations(&path, &format!("{name}/"), out);
        } else if name.ends_with(".py") {
            for (i, line) in fs::read_to_string(&path).unwrap().lines().enumerate() {
                if let Some((_, codes)) = line.split_once("# expect:") {
                    for code in codes.split([',', ' ']).filter(|c| !c.is_empty()) {
                        out.insert(format!("{name}:{} {code}", i + 1));
                    }
                }
            }
        }
    }
}

#[test]
fn project_config_adds_a_resource_and_filters_findings() {
    let mut expected = BTreeSet::new();
    expectations(&project(), "", &mut expected);
    assert!(expected.len() >= 2);
    let out = check_concise(&project(), &["."])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let actual: BTreeSet<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.splitn(4, ':');
            let (path, line, _col) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            let code = parts.next().unwrap().split_whitespace().next().unwrap();
            format!("{path}:{line} {code}")
        })
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn isolated_ignores_the_project_config() {
    let out = unclosed()
        .current_dir(project())
        .args(["check", "--isolated", "--output-format", "json", "."])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    // Without the project's `ledger-session` entry, the sessions are only
    // found where a function shows it closes them (a learnt resource).
    let resources: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        resources,
        [
            "learned:open_session",
            "learned:open_session",
            "learned:ledger.open_session",
            "learned:open_session"
        ]
    );
}

#[test]
fn custom_resources_are_listed_and_documented() {
    unclosed()
        .current_dir(project())
        .arg("resources")
        .assert()
        .code(0)
        .stdout(predicates::str::contains("ledger-session"));
    unclosed()
        .current_dir(project())
        .args(["rule", "ledger-session"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(
            "payments.ledger.client.open_session",
        ));
    unclosed().args(["rule", "UC003"]).assert().code(0);
    unclosed().args(["rule", "no-such-thing"]).assert().code(2);
}

const LEAKY: &str = "def load(path):\n    f = open(path)\n    return f.read()\n";

#[test]
fn nearest_config_wins_and_explicit_config_overrides() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.unclosed]\nignore = [\"UC001\"]\n",
    );
    write(dir.path(), "top.py", LEAKY);
    write(dir.path(), "jobs/unclosed.toml", "select = [\"ALL\"]\n");
    write(dir.path(), "jobs/nightly.py", LEAKY);
    // A pyproject.toml without [tool.unclosed] is not a config: keep walking up.
    write(
        dir.path(),
        "jobs/legacy/pyproject.toml",
        "[project]\nname = \"legacy\"\n",
    );
    write(dir.path(), "jobs/legacy/old.py", LEAKY);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(
            "jobs/legacy/old.py:2:9: UC001 file from `open()` is not released when `load` returns (line 3)\n\
             jobs/nightly.py:2:9: UC001 file from `open()` is not released when `load` returns (line 3)\n",
        );
    check_concise(dir.path(), &["--config", "pyproject.toml", "."]).code(0);
}

/// A project template's `pyproject.toml` (cookiecutter's, TOML only once
/// rendered) does not configure the tool: the run goes on past it.
#[test]
fn a_template_pyproject_that_is_not_toml_is_no_config() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "template/{{cookiecutter.name}}/pyproject.toml",
        "[project]\n{%- if cookiecutter.variant %}\nname = \"{{cookiecutter.name}}\"\n{%- endif %}\n",
    );
    write(dir.path(), "template/{{cookiecutter.name}}/app.py", LEAKY);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(predicates::str::contains("app.py:2:9: UC001"));
}

/// The rendered diagnostic for a broken config file.
fn config_error(pyproject: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pyproject.toml", pyproject);
    write(dir.path(), "app.py", LEAKY);
    let out = unclosed()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["check", "app.py"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        out.stdout.is_empty(),
        "nothing is checked with a broken config"
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn misspelled_key_points_at_it_with_a_suggestion() {
    insta::assert_snapshot!(config_error("[tool.unclosed]\nselct = [\"UC001\"]\n"));
}

#[test]
fn wrong_type_points_at_the_value() {
    insta::assert_snapshot!(config_error(
        "[tool.unclosed]\ninclude-module-level = \"yes\"\n"
    ));
}

#[test]
fn malformed_toml_points_at_the_error() {
    insta::assert_snapshot!(config_error("[tool.unclosed]\nignore = [\"UC001\"\n"));
}

#[test]
fn unknown_code_suggests_the_nearest() {
    insta::assert_snapshot!(config_error("[tool.unclosed]\nignore = [\"UC010\"]\n"));
}

#[test]
fn acquire_pattern_that_cannot_match_is_rejected() {
    insta::assert_snapshot!(config_error(
        "[tool.unclosed]\n\n[[tool.unclosed.resource]]\nid = \"db\"\nname = \"db\"\nnoun = \"connection\"\nsummary = \"x\"\nacquire = { calls = [\"payments..db.acquire\"] }\nrelease = { methods = [\"close\"] }\n"
    ));
}

#[test]
fn misspelled_resource_key_is_rejected() {
    insta::assert_snapshot!(config_error(
        "[tool.unclosed]\n\n[[tool.unclosed.resource]]\nid = \"db\"\nname = \"db\"\nnoun = \"connection\"\nsummary = \"x\"\nacquire = { calls = [\"payments.db.acquire\"] }\nrelase = { methods = [\"close\"] }\n"
    ));
}

/// `unclosed resources --learned --isolated .` in `root`: what was inferred.
fn learned_listing(root: &Path) -> String {
    stdout_text(
        unclosed()
            .current_dir(root)
            .args(["resources", "--learned", "--isolated", "."])
            .assert()
            .success(),
    )
}

/// The first configuration entry a `--learned` listing suggests, as lines
/// ready to paste.
fn first_suggested_entry(listing: &str) -> String {
    listing
        .lines()
        .skip_while(|l| !l.contains("[[tool.unclosed.resource]]"))
        .take_while(|l| !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim()))
        .collect()
}

/// `unclosed check --output-format concise` of `paths` in `root`: its
/// standard output.
fn concise_findings(root: &Path, paths: &[&str]) -> String {
    let out = check_concise(root, paths).get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// `resources --learned` lists what was inferred, and the entry it suggests
/// for a learnt pair, put in the configuration, makes the pair known where
/// no function shows it (a lease never given back is then reported).
#[test]
fn a_learnt_pair_promoted_to_configuration_is_known_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "terminals.py",
        "from payments.terminals import pool\n\n\ndef charge(card):\n    t = pool.lease()\n    if not card.valid:\n        return False\n    t.charge(card)\n    pool.give_back(t)\n    return True\n",
    );
    write(
        root,
        "kiosk.py",
        "from payments.terminals import pool\n\n\ndef peek():\n    t = pool.lease()\n    return t.status_text()\n",
    );
    let learned = || learned_listing(root);
    // `give_back` is no release this tool knows: nothing is learnt yet.
    let listing = learned();
    assert!(
        listing.contains("Pairs learnt from a release in the same function (0)"),
        "{listing}"
    );

    // With a release it knows, the pair is learnt in `charge` only.
    let source = std::fs::read_to_string(root.join("terminals.py")).unwrap();
    write(
        root,
        "terminals.py",
        &source.replace("pool.give_back(t)", "pool.release(t)"),
    );
    let listing = learned();
    assert!(
        listing.contains("in `charge`: `pool.lease()` is released by `pool.release(t)`"),
        "{listing}"
    );
    let entry = first_suggested_entry(&listing);
    assert!(
        entry.contains("acquire = { methods = [\"lease\"], receivers = [\"pool\"] }"),
        "{entry}"
    );
    let concise = |root: &Path| concise_findings(root, &["kiosk.py"]);
    // `peek` never gives its lease back, and nothing in the one file
    // checked says it should (`charge`, which shows the pair, is not
    // checked).
    write(root, "pyproject.toml", "[project]\nname = \"t\"\n");
    assert!(!concise(root).contains("kiosk.py:5"));
    write(
        root,
        "pyproject.toml",
        &format!("[tool.unclosed]\n\n{entry}"),
    );
    let findings = concise(root);
    assert!(findings.contains("kiosk.py:5"), "{findings}");
}

/// A pair whose release is a function of the project (`put_conn(conn)`)
/// is suggested with that function, by its qualified name, and the entry
/// works as written.
#[test]
fn a_pair_released_by_a_project_function_is_suggested_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "settle/__init__.py", "");
    write(
        root,
        "settle/pool.py",
        "def lease_conn():\n    return _idle.pop()\n\n\ndef put_conn(conn):\n    _idle.append(conn)\n",
    );
    write(
        root,
        "settle/jobs.py",
        "from settle.pool import lease_conn, put_conn\n\n\ndef total(day):\n    conn = lease_conn()\n    try:\n        return conn.query(day)\n    finally:\n        put_conn(conn)\n",
    );
    write(
        root,
        "settle/report.py",
        "from settle.pool import lease_conn\n\n\ndef peek(day):\n    conn = lease_conn()\n    return conn.query(day)\n",
    );
    let listing = learned_listing(root);
    let entry = first_suggested_entry(&listing);
    assert!(
        entry.contains("release = { functions = [\"settle.pool.put_conn\"] }"),
        "{entry}"
    );
    write(
        root,
        "pyproject.toml",
        &format!("[tool.unclosed]\n\n{entry}"),
    );
    let findings = concise_findings(root, &["settle/report.py"]);
    assert!(
        findings.contains("settle/report.py:5:12: UC001"),
        "{findings}"
    );
}

/// A configured resource with `lazy = { started-by = ["start"] }` holds
/// nothing until `start()` has returned: a start that fails leaks nothing,
/// a path after it that skips the release does.
#[test]
fn a_resource_started_by_a_method_holds_nothing_until_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "pyproject.toml",
        "[tool.unclosed]\n\n[[tool.unclosed.resource]]\nid = \"worker\"\nname = \"render worker\"\nnoun = \"worker\"\nsummary = \"A render worker process.\"\nacquire = { calls = [\"render.Worker\"] }\nrelease = { methods = [\"join\", \"terminate\"] }\nlazy = { started-by = [\"start\"] }\n",
    );
    write(
        root,
        "jobs.py",
        "from render import Worker\n\n\ndef run(job):\n    w = Worker(job)\n    w.start()\n    w.send(job)\n    w.join()\n\n\ndef run_quietly(job):\n    w = Worker(job)\n    w.start()\n    w.join()\n",
    );
    let findings = concise_findings(root, &["jobs.py"]);
    assert!(
        findings.contains("jobs.py:5:9: UC002 worker from `Worker()` is not released when `w.send()` raises (line 7)"),
        "{findings}"
    );
    assert!(!findings.contains("jobs.py:12"), "{findings}");
}

/// An `exclude` pattern that matches no file (a misspelt directory) is
/// named, so it does not silently exclude nothing.
#[test]
fn an_exclude_pattern_that_matches_nothing_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.unclosed]\nexclude = [\"migratons\", \"migrations\"]\n",
    );
    write(dir.path(), "app/migrations/m1.py", "x = 1\n");
    write(dir.path(), "app/core.py", "x = 1\n");
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "concise", "."])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "`exclude` pattern `migratons` in pyproject.toml matches no file",
        ))
        .stderr(predicate::str::contains("`migrations`").not());
}

/// A pair one file shows holds in the other files of the project, where
/// keeping it is the habit: a lease another file never gives back is
/// reported, naming the release that showed the pair, until the files that
/// break it outnumber those that keep it.
#[test]
fn a_pair_one_file_shows_holds_in_the_others_where_it_is_the_habit() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "terminals.py",
        "from payments.terminals import pool\n\n\ndef charge(card):\n    t = pool.lease()\n    try:\n        t.charge(card)\n    finally:\n        pool.release(t)\n",
    );
    write(
        root,
        "kiosk.py",
        "from payments.terminals import pool\n\n\ndef lend():\n    t = pool.lease()\n    return t\n\n\ndef status():\n    t = pool.lease()\n    return t.status_text()\n",
    );
    let findings = || concise_findings(root, &["."]);
    let shown = findings();
    assert!(
        shown.contains("kiosk.py:10:9: UC001 `t` from `pool.lease()` (released by `pool.release(t)` in `charge`, line 9 of terminals.py) is not released when `status` returns"),
        "{shown}"
    );
    // Three more files that lease and never give back: the two functions
    // that keep the pair are the exception, not the rule.
    for name in ["screen.py", "printer.py", "scanner.py"] {
        write(
            root,
            name,
            "from payments.terminals import pool\n\n\ndef busy():\n    t = pool.lease()\n    return t.busy\n",
        );
    }
    let shown = findings();
    assert!(!shown.contains("pool.lease()"), "{shown}");
}

/// A pair shown only by closing the value (`f = self.opener.open(name)`
/// ... `f.close()`) says little of a project: `open()` and `close()` are
/// on objects of every kind. It is shared with the other files once two
/// functions show it, not on one.
#[test]
fn a_pair_shown_by_closing_is_shared_once_two_functions_show_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let closes = |name: &str| {
        format!(
            "def {name}(self, path):\n    f = self.opener.open(path)\n    try:\n        return f.read()\n    finally:\n        f.close()\n"
        )
    };
    write(root, "journal.py", &closes("replay"));
    write(
        root,
        "static.py",
        "def fetch(self, path):\n    f = self.opener.open(path)\n    return f.read()\n",
    );
    let findings = || concise_findings(root, &["."]);
    let shown = findings();
    assert!(!shown.contains("static.py"), "{shown}");
    write(root, "backups.py", &closes("restore"));
    let shown = findings();
    assert!(
        shown.contains("static.py:2:9: UC001 `f` from `self.opener.open()`"),
        "{shown}"
    );
}

/// Files the configuration names as one-shot programs are analysed as such:
/// an exception that leaves a function ends the program, so only paths
/// that complete are leaks there.
#[test]
fn configured_one_shot_programs_keep_only_paths_that_complete() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let job = "import json\n\n\ndef load(path):\n    f = open(path)\n    data = json.load(f)\n    f.close()\n    return data\n";
    write(root, "jobs/nightly.py", job);
    write(root, "app/views.py", job);
    write(
        root,
        "pyproject.toml",
        "[tool.unclosed.programs]\none-shot = [\"jobs/**\"]\n",
    );
    let out = check_concise(root, &["."])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let shown = String::from_utf8(out).unwrap();
    assert!(shown.contains("app/views.py:5:9: UC002"), "{shown}");
    assert!(!shown.contains("jobs/nightly.py"), "{shown}");
}

/// `[calls.never-raise-on]` is one table or several (`[[...]]`): a
/// configuration written either way adds its group.
#[test]
fn never_raise_on_is_one_table_or_several() {
    let source = "import socket\n\n\ndef ping(host):\n    sock = socket.create_connection((host, 7))\n    sock.start_probe()\n    sock.close()\n";
    for config in [
        "[tool.unclosed.calls.never-raise-on]\nmethods = [\"start_probe\"]\nreceivers = [\"socket\"]\n",
        "[[tool.unclosed.calls.never-raise-on]]\nmethods = [\"start_probe\"]\nreceivers = [\"socket\"]\n\n[[tool.unclosed.calls.never-raise-on]]\nmethods = [\"flush\"]\nreceivers = [\"file\"]\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "ping.py", source);
        check_concise(dir.path(), &["."]).code(1);
        write(dir.path(), "pyproject.toml", config);
        check_concise(dir.path(), &["."]).code(0);
    }
}
