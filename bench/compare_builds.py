"""Which findings a change to the analysis adds or removes on real code, and
how those were judged.

    python3 bench/compare_builds.py OLD_BINARY NEW_BINARY [--tests]

runs both builds of `unclosed` on each package of every corpus already
fetched into bench/.cache/<corpus>/corpus (by precision.sh), one package at
a time as a user runs it on a project, and prints the findings that one
build reports and the other does not, each with the verdict PRECISION.md
records for it (TP, TP-badpath, FP, or nothing when it was never judged),
then the totals. `--tests` runs with `--tests include` (test code too).

Two builds side by side: build the old commit in a worktree (`git worktree
add`, `CARGO_TARGET_DIR=... cargo build --release --locked`), or copy
target/release/unclosed before changing anything. A finding is keyed by
path, line, code and resource, so a message reworded is no change here.
"""
import argparse
import collections
import json
import pathlib
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

BENCH = pathlib.Path(__file__).resolve().parent


def findings(binary, package, tests):
    """The findings of one package, keyed (path, line, code, resource)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = [binary, "check", "--exit-zero", "--no-cache", "--output-format", "json",
                "--output-file", out.name]
        if tests:
            args += ["--tests", "include"]
        # Exit 2 with `--exit-zero`: some file could not be read (a test
        # fixture in another encoding, say); the report holds the rest.
        done = subprocess.run(args + [package.name], cwd=package.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if done.returncode not in (0, 2):
            raise RuntimeError(f"{binary} failed on {package} ({done.returncode})")
        # Exit 2 with nothing written: the run stopped before checking
        # anything (an older build refusing a config file it cannot read).
        text = pathlib.Path(out.name).read_text()
        if not text.strip():
            return None
        report = json.loads(text)
    return collections.Counter(
        (f["path"], f["start"]["line"], f["code"], f["resource"]) for f in report["findings"]
    )


def verdicts():
    """(path, line, code) -> verdict, from the tables of PRECISION.md."""
    text = (BENCH / "PRECISION.md").read_text()
    row = re.compile(r"^\|\s*[A-Z]?\d+\s*\|\s*([^|\n]*?):(\d+) (UC\d+)[^|\n]*\|\s*([^|\n]*?)\s*\|", re.M)
    return {(m[1], int(m[2]), m[3]): m[4] for m in row.finditer(text)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--tests", action="store_true", help="check test code too")
    args = parser.parse_args()
    old, new = (str(pathlib.Path(b).resolve()) for b in (args.old, args.new))
    packages = sorted(p for c in (BENCH / ".cache").glob("*/corpus") for p in c.iterdir() if p.is_dir())
    if not packages:
        raise SystemExit("no corpus fetched: run bench/precision.sh first")

    def both(package):
        return findings(old, package, args.tests), findings(new, package, args.tests)

    before, after = collections.Counter(), collections.Counter()
    with ThreadPoolExecutor(2) as pool:
        for package, (a, b) in zip(packages, pool.map(both, packages)):
            if a is None or b is None:
                which = " and ".join(n for n, r in (("old", a), ("new", b)) if r is None)
                print(f"! {package.name}: the {which} build checked nothing; left out")
                continue
            before += a
            after += b
    judged = verdicts()
    for sign, changed in (("-", before - after), ("+", after - before)):
        for key in sorted(changed):
            verdict = judged.get(key[:3], "")
            print(f"{sign} {key[0]}:{key[1]} {key[2]} {key[3]} {verdict}".rstrip())
    removed = before - after
    by_verdict = collections.Counter(judged.get(k[:3], "unjudged") for k in removed.elements())
    print(f"{len(packages)} packages: {sum(before.values())} -> {sum(after.values())} findings, "
          f"{sum(removed.values())} removed ({dict(by_verdict)}), "
          f"{sum((after - before).values())} added")


if __name__ == "__main__":
    main()
