//! The test-code policy: test files (as pytest finds them) are skipped by
//! default, checked like the rest with `--tests include`, and reported apart
//! without failing the run with `--tests separate`. In test code an
//! exception is a failing test, so only paths that complete are leaks.

mod common;

use common::{check_concise, project, unclosed};
use predicates::prelude::*;

const SERVICE: &str = "\
def read_config(path):
    f = open(path)
    return f.read()
";

const TEST_LEAKS: &str = "\
def test_reads_config(tmp_path):
    f = open(tmp_path / 'config.ini')
    assert f.read() == ''
";

/// Leaks only if `f.read()` raises, that is only in a failing test.
const TEST_LEAKS_ONLY_WHEN_FAILING: &str = "\
def test_reads_and_closes(tmp_path):
    f = open(tmp_path / 'config.ini')
    data = parse(f.read())
    f.close()
    assert data == {}
";

/// `unclosed check --tests separate --output-format FORMAT .` in `dir`,
/// which must exit 0; its standard output.
fn separate_output(dir: &std::path::Path, format: &str) -> String {
    let out = unclosed()
        .current_dir(dir)
        .args([
            "check",
            "--tests",
            "separate",
            "--output-format",
            format,
            ".",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn test_files_are_skipped_by_default_and_counted() {
    let dir = project(&[
        ("app/config.py", SERVICE),
        ("tests/test_config.py", TEST_LEAKS),
        ("app/config_test.py", TEST_LEAKS),
        ("conftest.py", TEST_LEAKS),
    ]);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(predicate::str::contains("app/config.py:2:9: UC001"))
        .stdout(predicate::str::contains("test").not());
    unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "full", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "3 test or auxiliary files not checked (--tests include or separate checks them).",
        ));
    check_concise(dir.path(), &["--show-files", "."])
        .code(0)
        .stdout("app/config.py\n");
}

#[test]
fn auxiliary_code_is_skipped_by_default_and_checked_as_production_on_request() {
    let dir = project(&[
        ("examples/quickstart.py", TEST_LEAKS_ONLY_WHEN_FAILING),
        ("docs/conf_helper.py", SERVICE),
        ("scripts-dev/release.py", SERVICE),
        ("demo/unix_daemon.py", SERVICE),
        ("samples/sync_samples/renew.py", SERVICE),
        ("setup.py", SERVICE),
    ]);
    check_concise(dir.path(), &["."]).code(0).stdout("");
    // Unlike test code, an exception in an example is a real path.
    check_concise(dir.path(), &["--tests", "include", "."])
        .code(1)
        .stdout(predicate::str::contains(
            "examples/quickstart.py:2:9: UC002",
        ))
        .stdout(predicate::str::contains("docs/conf_helper.py:2:9: UC001"))
        .stdout(predicate::str::contains(
            "scripts-dev/release.py:2:9: UC001",
        ))
        .stdout(predicate::str::contains("demo/unix_daemon.py:2:9: UC001"))
        .stdout(predicate::str::contains(
            "samples/sync_samples/renew.py:2:9: UC001",
        ))
        .stdout(predicate::str::contains("setup.py:2:9: UC001"));
    let json: serde_json::Value =
        serde_json::from_str(&separate_output(dir.path(), "json")).unwrap();
    assert_eq!(json["findings"][0]["code_kind"], "auxiliary");
}

/// A `contrib/` directory that is a package of the project
/// (`django/contrib/`, `urllib3/contrib/`: it has an `__init__.py`) holds
/// add-ons its users import: production code. Developer scripts beside the
/// package (`contrib/`, `extra/` without one) are not, nor are examples or
/// scripts that happen to be packages.
#[test]
fn contrib_packages_are_production_code() {
    let dir = project(&[
        ("mylib/__init__.py", ""),
        ("mylib/contrib/__init__.py", ""),
        ("mylib/contrib/socks.py", SERVICE),
        ("mylib/scripts/__init__.py", ""),
        ("mylib/scripts/admin.py", SERVICE),
        ("contrib/git_hook.py", SERVICE),
        ("extra/update_spec.py", SERVICE),
    ]);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout("mylib/contrib/socks.py:2:9: UC001 file from `open()` is not released when `read_config` returns (line 3)\n");
}

/// An `integration/` directory that holds a `conftest.py` or `test_*.py`
/// modules is a test suite (its other modules need not be named
/// `test_*`); a `misc/` directory of
/// developer scripts that is no package is auxiliary code. Packages of
/// those names are the project's own.
#[test]
fn integration_suites_and_misc_scripts_are_told_apart_on_disk() {
    let dir = project(&[
        ("integration/__init__.py", ""),
        ("integration/conftest.py", ""),
        ("integration/grid.py", SERVICE),
        ("lxd/integration/__init__.py", ""),
        ("lxd/integration/test_images.py", ""),
        ("lxd/integration/busybox.py", SERVICE),
        ("misc/build_helpers/check_pkg.py", SERVICE),
        ("mylib/__init__.py", ""),
        ("mylib/integration/__init__.py", ""),
        ("mylib/integration/pandas.py", SERVICE),
        ("mylib/misc/__init__.py", ""),
        ("mylib/misc/paths.py", SERVICE),
    ]);
    check_concise(dir.path(), &["."]).code(1).stdout(
        "mylib/integration/pandas.py:2:9: UC001 file from `open()` is not released when `read_config` returns (line 3)\n\
         mylib/misc/paths.py:2:9: UC001 file from `open()` is not released when `read_config` returns (line 3)\n",
    );
    let out = unclosed()
        .current_dir(dir.path())
        .args([
            "check",
            "--tests",
            "separate",
            "--output-format",
            "json",
            ".",
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["code_kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("integration/grid.py", "test")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("lxd/integration/busybox.py", "test")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("misc/build_helpers/check_pkg.py", "auxiliary")),
        "{kinds:?}"
    );
}

#[test]
fn a_test_directory_above_the_project_does_not_make_it_test_code() {
    let dir = project(&[
        ("test/service/pyproject.toml", "[tool.unclosed]\n"),
        ("test/service/app.py", SERVICE),
    ]);
    check_concise(&dir.path().join("test/service"), &["."])
        .code(1)
        .stdout(predicate::str::contains("app.py:2:9: UC001"));
}

#[test]
fn include_checks_test_code_and_fails_on_it() {
    let dir = project(&[("tests/test_config.py", TEST_LEAKS)]);
    check_concise(dir.path(), &["--tests", "include", "."])
        .code(1)
        .stdout(predicate::str::contains("tests/test_config.py:2:9: UC001"));
}

#[test]
fn separate_reports_test_code_without_failing() {
    let dir = project(&[("tests/test_config.py", TEST_LEAKS)]);
    check_concise(dir.path(), &["--tests", "separate", "."])
        .code(0)
        .stdout(predicate::str::contains("tests/test_config.py:2:9: UC001"));
    let json: serde_json::Value =
        serde_json::from_str(&separate_output(dir.path(), "json")).unwrap();
    let finding = &json["findings"][0];
    assert_eq!(finding["code_kind"], "test");
    assert_eq!(finding["gates"], false);
    let sarif = common::assert_valid_sarif(&separate_output(dir.path(), "sarif"));
    assert_eq!(sarif["runs"][0]["results"][0]["level"], "note");
}

#[test]
fn production_findings_still_fail_under_separate() {
    let dir = project(&[
        ("app/config.py", SERVICE),
        ("tests/test_config.py", TEST_LEAKS),
    ]);
    check_concise(dir.path(), &["--tests", "separate", "."])
        .code(1)
        .stdout(predicate::str::contains("app/config.py:2:9: UC001"))
        .stdout(predicate::str::contains("tests/test_config.py:2:9: UC001"));
}

#[test]
fn the_policy_can_be_configured() {
    let dir = project(&[
        ("pyproject.toml", "[tool.unclosed]\ntests = \"include\"\n"),
        ("tests/test_config.py", TEST_LEAKS),
    ]);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(predicate::str::contains("tests/test_config.py:2:9: UC001"));
    // The command line wins over the file.
    check_concise(dir.path(), &["--tests", "exclude", "."])
        .code(0)
        .stdout("");
}

#[test]
fn in_test_code_a_leak_that_needs_an_exception_is_a_failing_test() {
    let dir = project(&[("tests/test_config.py", TEST_LEAKS_ONLY_WHEN_FAILING)]);
    check_concise(dir.path(), &["--tests", "include", "."])
        .code(0)
        .stdout("");
    // The same code outside the tests leaks when `parse()` raises.
    let dir = project(&[("app/reader.py", TEST_LEAKS_ONLY_WHEN_FAILING)]);
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(predicate::str::contains("UC002"));
}

/// A pair a test file shows itself (`pool.get_connection()` given back by
/// `pool.release(c)`) and the same pair shared by the project's code find
/// the same leak: it is reported once.
#[test]
fn a_pair_known_twice_reports_a_leak_once() {
    let dir = project(&[
        (
            "app/client.py",
            "class Client:
    def __init__(self, pool):
        self.connection_pool = pool

    def execute(self, *args):
        pool = self.connection_pool
        conn = pool.get_connection(args[0])
        try:
            return conn.send(*args)
        finally:
            pool.release(conn)
",
        ),
        (
            "tests/test_pool.py",
            "def test_release(pool):
    c1 = pool.get_connection('_')
    pool.release(c1)


def test_two(pool):
    c = pool.get_connection('_')
    assert c
",
        ),
    ]);
    let out = check_concise(dir.path(), &["--tests", "include", "--no-cache", "."])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let leaks: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("tests/test_pool.py:7:9: UC001"))
        .collect();
    assert_eq!(leaks.len(), 1, "{out}");
}
