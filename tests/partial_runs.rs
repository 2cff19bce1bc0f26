//! A run on a few named files (pre-commit's staged files) gives them the
//! findings a run over the whole repository gives them: the rest of the
//! project is analysed as context (what the named files import, the
//! pairs other functions show) and not reported.

mod common;

use common::{check_concise, project, unclosed};

const DB: &str = "\
import psycopg2

DSN = 'dbname=payments'


def get_conn():
    return psycopg2.connect(DSN)


def close_quietly(conn):
    try:
        conn.close()
    except Exception:
        pass


def ping():
    conn = psycopg2.connect(DSN)
    conn.cursor().execute('SELECT 1')
";

const REFUNDS: &str = "\
from payments.db import close_quietly, get_conn


def refund(order_id):
    conn = get_conn()
    try:
        conn.cursor().execute('UPDATE orders SET refunded = true WHERE id = %s', (order_id,))
    finally:
        close_quietly(conn)


def refunded_count():
    conn = get_conn()
    return conn.cursor().execute('SELECT count(*) FROM orders WHERE refunded')
";

fn repository() -> tempfile::TempDir {
    let dir = project(&[
        ("payments/__init__.py", ""),
        ("payments/db.py", DB),
        ("payments/refunds.py", REFUNDS),
    ]);
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    dir
}

const REFUNDS_LEAK: &str = "payments/refunds.py:13:12: UC001 connection from `get_conn()` (a new one, from `psycopg2.connect()` on line 7 of payments/db.py) is not released when `refunded_count` returns (line 14)\n";

#[test]
fn a_named_file_gets_the_findings_of_a_whole_repository_run() {
    let dir = repository();
    let whole = check_concise(dir.path(), &["."]).code(1);
    let whole = String::from_utf8(whole.get_output().stdout.clone()).unwrap();
    assert!(whole.contains(REFUNDS_LEAK), "{whole}");
    // Only the named file is reported, with what `payments/db.py` shows:
    // `get_conn()` makes a connection, `close_quietly()` closes it.
    check_concise(dir.path(), &["payments/refunds.py"])
        .code(1)
        .stdout(REFUNDS_LEAK);
}

#[test]
fn no_context_checks_a_named_file_on_its_own() {
    let dir = repository();
    // Alone, `get_conn()` is a call of another file's: nothing is known
    // of what it returns, and the leak in `refunded_count` is not seen.
    check_concise(dir.path(), &["--no-context", "payments/refunds.py"])
        .code(0)
        .stdout("");
}

#[test]
fn context_files_are_neither_reported_nor_counted() {
    let dir = repository();
    let out = unclosed()
        .current_dir(dir.path())
        .args(["check", "--output-format", "json", "payments/refunds.py"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files_checked"], 1);
    let paths: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["payments/refunds.py"]);
    check_concise(dir.path(), &["--show-files", "payments/refunds.py"])
        .code(0)
        .stdout("payments/refunds.py\n");
}

#[test]
fn standard_input_named_as_a_file_gets_the_same_context() {
    let dir = repository();
    // The buffer being edited replaces the file on disk (which is clean).
    std::fs::write(dir.path().join("payments/refunds.py"), "").unwrap();
    unclosed()
        .current_dir(dir.path())
        .args([
            "check",
            "--output-format",
            "concise",
            "--stdin-filename",
            "payments/refunds.py",
            "-",
        ])
        .write_stdin(REFUNDS)
        .assert()
        .code(1)
        .stdout(REFUNDS_LEAK);
}

#[test]
fn a_file_outside_any_repository_is_checked_on_its_own() {
    let dir = project(&[
        ("payments/__init__.py", ""),
        ("payments/db.py", DB),
        ("payments/refunds.py", REFUNDS),
    ]);
    // No `.git`: nothing says where the project ends, so `get_conn()` is
    // unknown and the file has no finding.
    check_concise(dir.path(), &["payments/refunds.py"])
        .code(0)
        .stdout("");
}
