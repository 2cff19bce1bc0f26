"""Splits the findings of a corpus run into files for independent reviewers.

    python3 bench/judge_split.py holdout5 M 3 OUTDIR
    python3 bench/judge_split.py holdout8 T 2 OUTDIR --tests 24 --seed 1

reads bench/.cache/holdout5/findings.json (written by precision.sh) and
writes OUTDIR/findings0.md .. findings2.md, the findings dealt round-robin
(the JSON is sorted by path, so each reviewer sees every package), numbered
M0, M1, ... Each reviewer then follows bench/JUDGING.md.

With `--inferred`, only the findings on resources no catalogue entry
names are dealt (issue 8's judged sample), classified as precision.sh
counts them; `--catalogue` deals the others; `--sample N` deals N of the
chosen findings picked at random (with `--seed`).

With `--tests N`, the findings dealt are instead N picked at random (with
`--seed`, 1 by default) among those in test code only: in findings-all.json
(the run with `--tests include`) and not in findings.json. Their reviewers
are told to judge them as fixes to the tests (bench/PRECISION.md, the
eighth holdout).
"""
import argparse
import json
import pathlib
import random

from known_by import inferred

parser = argparse.ArgumentParser()
parser.add_argument("corpus")
parser.add_argument("prefix")
parser.add_argument("count", type=int)
parser.add_argument("outdir")
parser.add_argument("--tests", type=int, metavar="N", help="deal N test-code findings at random")
parser.add_argument("--seed", type=int, default=1)
kind = parser.add_mutually_exclusive_group()
kind.add_argument("--inferred", action="store_true", help="deal only findings on inferred resources")
kind.add_argument("--catalogue", action="store_true", help="deal only findings on catalogue resources")
parser.add_argument("--sample", type=int, metavar="N", help="deal N of the chosen findings at random")
args = parser.parse_args()

bench = pathlib.Path(__file__).resolve().parent
runs = bench / ".cache" / args.corpus
findings = json.loads((runs / "findings.json").read_text())["findings"]
if args.tests is not None:
    key = lambda f: (f["path"], f["start"]["line"], f["code"], f["resource"])
    production = {key(f) for f in findings}
    every = json.loads((runs / "findings-all.json").read_text())["findings"]
    tests = [f for f in every if key(f) not in production]
    random.seed(args.seed)
    findings = sorted(random.sample(tests, min(args.tests, len(tests))), key=key)
if args.inferred or args.catalogue:
    findings = [f for f in findings if inferred(f) == args.inferred]
if args.sample is not None:
    random.seed(args.seed)
    picked = set(random.sample(range(len(findings)), min(args.sample, len(findings))))
    findings = [f for i, f in enumerate(findings) if i in picked]

out = pathlib.Path(args.outdir)
out.mkdir(parents=True, exist_ok=True)
name = "tests" if args.tests is not None else "findings"
for reviewer in range(args.count):
    lines = []
    for number, f in enumerate(findings):
        if number % args.count != reviewer:
            continue
        lines.append(
            f"## {args.prefix}{number}: {f['path']}:{f['start']['line']} {f['code']} "
            f"{f['resource']} (function {f['function']})"
        )
        lines.append(f"message: {f['message']}")
        lines.append("steps:")
        lines += [f"  - line {s['line']}: {s['message']}" for s in f["steps"]]
        lines.append(f"also: {f['also']}")
        lines.append("")
    (out / f"{name}{reviewer}.md").write_text("\n".join(lines) + "\n")
