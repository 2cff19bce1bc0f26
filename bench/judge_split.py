"""Splits the findings of a corpus run into files for independent reviewers.

    python3 bench/judge_split.py holdout5 M 3 OUTDIR

reads bench/.cache/holdout5/findings.json (written by precision.sh) and
writes OUTDIR/findings0.md .. findings2.md, the findings dealt round-robin
(the JSON is sorted by path, so each reviewer sees every package), numbered
M0, M1, ... Each reviewer then follows bench/JUDGING.md.
"""
import json
import pathlib
import sys

corpus, prefix, count, outdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
bench = pathlib.Path(__file__).resolve().parent
findings = json.loads((bench / ".cache" / corpus / "findings.json").read_text())["findings"]
out = pathlib.Path(outdir)
out.mkdir(parents=True, exist_ok=True)
for reviewer in range(count):
    lines = []
    for number, f in enumerate(findings):
        if number % count != reviewer:
            continue
        lines.append(
            f"## {prefix}{number}: {f['path']}:{f['start']['line']} {f['code']} "
            f"{f['resource']} (function {f['function']})"
        )
        lines.append(f"message: {f['message']}")
        lines.append("steps:")
        lines += [f"  - line {s['line']}: {s['message']}" for s in f["steps"]]
        lines.append(f"also: {f['also']}")
        lines.append("")
    (out / f"findings{reviewer}.md").write_text("\n".join(lines) + "\n")
