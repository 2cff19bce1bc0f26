//! The one-shot pass end to end, from the project's packaging: functions a
//! command runs are found through the console scripts of `pyproject.toml`
//! and `setup.py`, a console script's table of subcommands, and the scripts
//! `setup.py` installs as they are (`scripts=[...]`, files with no `.py`).
//! An exception there ends the command, so it is no leak path; the same
//! function in a library stays reported.

mod common;

use common::{check_concise, project};

/// A crash handler that opens a report and raises writing it: reported in
/// a library, not where only the program's own entry calls it.
const ENTRY: &str = "\
def start(config):
    try:
        serve(config)
    except Exception as exc:
        handle_crash(exc)


def serve(config):
    pass


def handle_crash(exc):
    report = open('/var/log/panel/crash.txt', 'w')
    report.write(make_report(exc))
    report.close()
";

const SCRIPT: &str = "\
#!/usr/bin/env python3
import sys
import panel.entry

if __name__ == '__main__':
    panel.entry.start(sys.argv[1:])
";

#[test]
fn a_script_setup_py_installs_runs_a_command() {
    let setup = "from setuptools import setup\n\nsetup(name='panel', scripts=['panel-server'])\n";
    let dir = project(&[
        ("setup.py", setup),
        ("panel-server", SCRIPT),
        ("panel/__init__.py", ""),
        ("panel/entry.py", ENTRY),
    ]);
    check_concise(dir.path(), &["."]).success();
    // Without the script, `start` is the package's API: anyone may call it.
    let library = project(&[
        (
            "setup.py",
            "from setuptools import setup\n\nsetup(name='panel')\n",
        ),
        ("panel/__init__.py", ""),
        ("panel/entry.py", ENTRY),
    ]);
    check_concise(library.path(), &["."])
        .code(1)
        .stdout(predicates::str::contains("entry.py:13:14: UC002"));
}

/// `pwn elfdiff` as pwntools runs it: `pwn` is the console script, whose
/// module holds a table of subcommands.
const MAIN: &str = "\
from tool.commandline import elfdiff
from tool.commandline import common

commands = {
    'elfdiff': elfdiff.main,
}


def main():
    common.entrypoint(commands)
";

const ELFDIFF: &str = "\
from tempfile import NamedTemporaryFile


def main(args):
    tmp = NamedTemporaryFile()
    print(diff(tmp.name, args.a, args.b))


def diff(name, a, b):
    return name
";

/// The `pwn` tool with this `pyproject.toml`.
fn pwn_tool(pyproject: &str) -> tempfile::TempDir {
    project(&[
        ("pyproject.toml", pyproject),
        ("tool/__init__.py", ""),
        ("tool/commandline/__init__.py", ""),
        ("tool/commandline/main.py", MAIN),
        ("tool/commandline/elfdiff.py", ELFDIFF),
    ])
}

#[test]
fn a_console_scripts_table_of_subcommands_names_commands() {
    let scripts = "[project.scripts]\npwn = \"tool.commandline.main:main\"\n";
    let dir = pwn_tool(&format!("[project]\nname = \"tool\"\n\n{scripts}"));
    check_concise(dir.path(), &["."]).success();
    // Checked from elsewhere (`unclosed check ../tool`), with no config to
    // say where the project starts: the packaging is found all the same.
    let elsewhere = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    check_concise(elsewhere.path(), &[path]).success();
    // The same table in a module no console script names is a registry.
    let dir = pwn_tool("[project]\nname = \"tool\"\n");
    check_concise(dir.path(), &["."])
        .code(1)
        .stdout(predicates::str::contains("elfdiff.py:5:11: UC001"));
}
