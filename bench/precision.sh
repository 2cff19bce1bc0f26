#!/usr/bin/env bash
# Findings of `unclosed check` on the precision corpus, counted and sampled
# for a hand judgement (bench/PRECISION.md). One command, from any directory:
#
#     bash bench/precision.sh              # SAMPLE=60 SEED=1 by default
#     SEED=7 bash bench/precision.sh       # another random sample
#
# It fetches the 23 sdists pinned in precision-corpus.txt (checked by hash)
# into bench/.cache/precision/corpus, runs the release build with the default
# settings (production code only) and with --tests include, and writes to
# bench/.cache/precision/:
#   findings.json, findings-all.json   the two runs
#   counts.md                          findings per code kind, code, package
#   sample.md                          SAMPLE findings of the default run,
#                                      picked at random with SEED, to judge
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
OUT="$BENCH/.cache/precision"
CORPUS="$OUT/corpus"
SAMPLE="${SAMPLE:-60}"
SEED="${SEED:-1}"
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release --locked)
UNCLOSED="$ROOT/target/release/unclosed"

if ! cmp -s "$BENCH/precision-corpus.txt" "$CORPUS/.corpus.txt"; then
    rm -rf "$CORPUS" "$OUT/sdists"
    mkdir -p "$CORPUS"
    python3 -m venv "$OUT/venv"
    "$OUT/venv/bin/pip" download --quiet --no-deps --no-binary :all: --require-hashes \
        -r "$BENCH/precision-corpus.txt" -d "$OUT/sdists"
    for f in "$OUT"/sdists/*.tar.gz; do tar -xzf "$f" -C "$CORPUS"; done
    cp "$BENCH/precision-corpus.txt" "$CORPUS/.corpus.txt"
fi

cd "$CORPUS"
"$UNCLOSED" check --exit-zero --output-format json --output-file "$OUT/findings.json" . 2>/dev/null
"$UNCLOSED" check --exit-zero --tests include --output-format json \
    --output-file "$OUT/findings-all.json" . 2>/dev/null

python3 - "$OUT" "$SAMPLE" "$SEED" <<'PY'
import collections, json, random, sys
from pathlib import Path

out, size, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
default = json.loads((out / "findings.json").read_text())["findings"]
everything = json.loads((out / "findings-all.json").read_text())["findings"]

def table(title, counter):
    rows = [f"| {title} | findings |", "|---|---:|"]
    rows += [f"| {k} | {v} |" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(rows) + "\n"

counts = [
    f"Default run (production code): {len(default)} findings.",
    f"With --tests include: {len(everything)} findings.\n",
    table("code kind (--tests include)", collections.Counter(f["code_kind"] for f in everything)),
    table("code (default)", collections.Counter(f["code"] for f in default)),
    table("package (default)", collections.Counter(f["path"].split("/")[0] for f in default)),
]
(out / "counts.md").write_text("\n".join(counts))

random.seed(seed)
sample = random.sample(default, min(size, len(default)))
lines = [f"# Sample of {len(sample)} of {len(default)} findings (seed {seed})\n"]
for i, f in enumerate(sample, 1):
    lines.append(f"## {i}. {f['path']}:{f['start']['line']} {f['code']} {f['resource']} in `{f['function']}`")
    lines.append(f["message"])
    lines += [f"   step {s['line']}: {s['message']}" for s in f["steps"]]
    lines += [f"   also: {a}" for a in f["also"]]
    lines.append("")
(out / "sample.md").write_text("\n".join(lines))
print((out / "counts.md").read_text())
print(f"sample: {out / 'sample.md'}")
PY
