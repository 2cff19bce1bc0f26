"""Turn bench/.cache/results/ (written by run.sh) into the Markdown tables of
RESULTS.md: corpus, machine, versions, timings, findings.

    python3 summarize.py bench/.cache
"""

import collections
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

cache = Path(sys.argv[1])
corpus, out, venv = cache / "corpus", cache / "results", cache / "venv" / "bin"


def sh(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "not available"


def load(name):
    return json.loads((out / name).read_text())


# Corpus: files and non-blank lines of every .py file, per package.
packages = collections.Counter()
lines = collections.Counter()
for path in sorted(corpus.rglob("*.py")):
    package = path.relative_to(corpus).parts[0]
    packages[package] += 1
    with open(path, encoding="utf-8", errors="replace") as f:
        lines[package] += sum(1 for line in f if line.strip())
total_lines, total_files = sum(lines.values()), sum(packages.values())

print(f"## Corpus ({total_files} `.py` files, {total_lines:,} non-blank lines)\n")
print("| package | .py files | non-blank lines |\n|---|---:|---:|")
for package in sorted(packages):
    print(f"| {package} | {packages[package]} | {lines[package]:,} |")

# Machine and versions.
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
commit, *dirty = (out / "unclosed-build.txt").read_text().splitlines()  # recorded at build time
pylint = sh(str(venv / "pylint"), "--version").splitlines()
print(f"""
## Machine and versions

| | |
|---|---|
| date | {datetime.date.today().isoformat()} |
| cores (`nproc`) | {os.cpu_count()} |
| CPU (`/proc/cpuinfo`) | {cpu} |
| memory | {int(mem) // 1024 // 1024} GiB |
| OS | {platform.platform()} |
| unclosed | {sh(str(cache / "unclosed"), "--version")} at {commit}{" + uncommitted changes to src/ or rules/" if dirty else ""} ({sh("rustc", "--version")}, `--release`) |
| ruff | {sh(str(venv / "ruff"), "--version")} |
| pylint | {", ".join(pylint[:2])} |
| semgrep | semgrep {sh(str(venv / "semgrep"), "--version")} |
| Python (pylint, semgrep) | {sh(str(venv / "python"), "--version")} |
| timer | {sh("hyperfine", "--version") or "bench/timeit.py"} |""")

# Findings and files checked, per tool.
uc = load("unclosed.json")
ruff = [d for d in load("ruff.json") if d.get("code") == "SIM115"]
pl = {j: load(f"pylint-j{j}.json") for j in (2, 1)}
pl_hits = {j: [m for m in pl[j]["messages"] if m["messageId"] == "R1732"] for j in pl}
pl_fatal = [m for m in pl[2]["messages"] if m["type"] in ("fatal", "error")]
sg = load("semgrep.json")
sg_rules = collections.Counter(r["check_id"].rsplit(".", 1)[-1] for r in sg["results"])
checked = {
    "unclosed": (uc["files_checked"], len(uc["findings"])),
    "ruff": (sum(1 for l in open(out / "ruff.files") if l.strip().endswith(".py")), len(ruff)),
    "pylint-j2": (f"{pl[2]['statistics']['modulesLinted']} modules¹", len(pl_hits[2])),
    "pylint-j1": (f"{pl[1]['statistics']['modulesLinted']} modules¹", len(pl_hits[1])),
    "semgrep": (len(sg["paths"]["scanned"]), len(sg["results"])),
}

n_resources = len(sh(str(cache / "unclosed"), "resources").splitlines())
rows = [
    ("unclosed-t2", "unclosed", f"`check --threads 2` (all UC codes, {n_resources} resources)"),
    ("unclosed-t1", "unclosed", "`check --threads 1`"),
    ("unclosed-cached", "unclosed", "`check --threads 2`, a re-run over unchanged files (warm cache)"),
    ("ruff", "ruff", "`--select SIM115` (open-file-with-context-handler)"),
    ("semgrep-j2", "semgrep", "`bench/semgrep-unclosed.yaml`, `-j 2`"),
    ("pylint-j2", "pylint-j2", "`--enable=consider-using-with` (R1732), `--jobs=2`"),
    ("pylint-j1", "pylint-j1", "R1732, `--jobs=1`"),
]
print("\n## Wall-clock time on the whole corpus\n")
print("| tool | rule set | files checked | findings | median s | min–max s | runs | CPU s (user+sys) | non-blank lines/s |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for name, tool, what in rows:
    t = load(f"time-{name}.json")["results"][0]
    files, findings = checked[tool]
    print(f"| {tool.split('-')[0]} | {what} | {files} | {findings} | {t['median']:.2f} | "
          f"{t['min']:.2f}–{t['max']:.2f} | {len(t['times'])} | {t['user'] + t['system']:.2f} | "
          f"{total_lines / t['median']:,.0f} |")

load_avg = (out / "loadavg.txt").read_text().split("\n")
print("\n¹ pylint's own `modulesLinted`, which is not a file count.  \n"
      "Load average (1, 5, 15 min) when each timing started: "
      + "; ".join(f"{l.split(' ', 1)[0]}: {l.split(' ', 1)[1]}" for l in load_avg if l) + ".")

print("\n## Start-up: each tool on a one-line file\n")
print("| tool | median s | CPU s (user+sys) |\n|---|---:|---:|")
for t in load("startup.json")["results"]:
    print(f"| {t['command']} | {t['median']:.3f} | {t['user'] + t['system']:.3f} |")

print("\n## Findings\n")
codes = collections.Counter((f["code"], f["name"]) for f in uc["findings"])
resources = collections.Counter(f["resource"] for f in uc["findings"])
print(f"unclosed: {len(uc['findings'])} findings, {len(uc['errors'])} unreadable files, "
      f"{len(uc['warnings'])} warnings.\n")
print("| code | name | findings |\n|---|---|---:|")
for (code, name), n in sorted(codes.items()):
    print(f"| {code} | {name} | {n} |")
print("\n| resource | findings |\n|---|---:|")
for resource, n in resources.most_common():
    print(f"| {resource} | {n} |")
per_package = lambda paths: collections.Counter(Path(p).parts[0] for p in paths)
uc_pkg = per_package(f["path"] for f in uc["findings"])
rf_pkg = per_package(os.path.relpath(d["filename"], corpus) for d in ruff)
pl_pkg = per_package(m["path"] for m in pl_hits[2])
sg_pkg = per_package(r["path"] for r in sg["results"])
print("\n| package | unclosed | unclosed, `file` resource only | ruff SIM115 | pylint R1732 (`--jobs=2`) | semgrep |")
print("|---|---:|---:|---:|---:|---:|")
uc_file = per_package(f["path"] for f in uc["findings"] if f["resource"] == "file")
for package in sorted(packages):
    print(f"| {package} | {uc_pkg[package]} | {uc_file[package]} | {rf_pkg[package]} | "
          f"{pl_pkg[package]} | {sg_pkg[package]} |")
print(f"\nsemgrep per rule: {dict(sorted(sg_rules.items()))}; semgrep errors: {len(sg['errors'])}; "
      f"pylint fatal/error messages (files it could not parse): {len(pl_fatal)}.")
