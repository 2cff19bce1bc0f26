#!/usr/bin/env bash
# Findings of `unclosed check` on a corpus of real packages, counted and
# sampled for a hand judgement (bench/PRECISION.md, bench/INFERENCE.md). One
# command, from any directory:
#
#     bash bench/precision.sh              # SAMPLE=60 SEED=1 by default
#     SEED=7 bash bench/precision.sh       # another random sample
#     CORPUS=inference bash bench/precision.sh
#
# CORPUS names the list bench/$CORPUS-corpus.txt: `precision` (the default,
# 32 packages), `inference` (19 packages full of in-house helpers, pools
# and clients), `holdout` (13 services and libraries no fix was designed
# on, judged once), or `holdout2` to `holdout67` (11 to 80 packages each,
# each judged once before fixes were made from it; PRECISION.md says when).
# It fetches the sdists pinned there (checked by hash) into
# bench/.cache/$CORPUS/corpus, runs the release build with the default
# settings (production code only) and with --tests include, and writes to
# bench/.cache/$CORPUS/:
#   findings.json, findings-all.json   the two runs
#   counts.md                          findings per code kind, code, package,
#                                      and how each resource was known
#   sample.md                          SAMPLE findings of the default run,
#                                      picked at random with SEED, to judge
#   inferred.md                        every finding of the default run on a
#                                      resource no catalogue entry names
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
NAME="${CORPUS:-precision}"
LIST="$BENCH/$NAME-corpus.txt"
OUT="$BENCH/.cache/$NAME"
CORPUS="$OUT/corpus"
SAMPLE="${SAMPLE:-60}"
SEED="${SEED:-1}"
[ -f "$LIST" ] || { echo "no corpus list $LIST" >&2; exit 2; }
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release --locked)
UNCLOSED="$ROOT/target/release/unclosed"

if ! cmp -s "$LIST" "$CORPUS/.corpus.txt"; then
    rm -rf "$CORPUS" "$OUT/sdists"
    mkdir -p "$CORPUS"
    python3 -m venv "$OUT/venv"
    # Sdists of the listed packages only: their build backends (needed to
    # read an sdist's metadata) may come as wheels; `:all:` would build them
    # from source too, which fails for some (hatchling).
    "$OUT/venv/bin/pip" download --quiet --no-deps --require-hashes \
        --no-binary "$(grep -v '^#' "$LIST" | sed 's/==.*//' | paste -sd, -)" \
        -r "$LIST" -d "$OUT/sdists"
    for f in "$OUT"/sdists/*.tar.gz; do tar -xzf "$f" -C "$CORPUS"; done
    # (A few old packages publish their sdist as a zip: Whoosh.)
    for f in "$OUT"/sdists/*.zip; do
        [ -e "$f" ] && python3 -m zipfile -e "$f" "$CORPUS"
    done
    cp "$LIST" "$CORPUS/.corpus.txt"
fi

cd "$CORPUS"
# Exit status 2 says some file could not be checked (an encoding the tool
# does not decode, say); the findings of the others are still written.
"$UNCLOSED" check --exit-zero --output-format json --output-file "$OUT/findings.json" . \
    2>/dev/null || [ $? -eq 2 ]
"$UNCLOSED" check --exit-zero --tests include --output-format json \
    --output-file "$OUT/findings-all.json" . 2>/dev/null || [ $? -eq 2 ]

PYTHONPATH="$BENCH" python3 - "$OUT" "$SAMPLE" "$SEED" <<'PY'
import collections, json, random, sys
from pathlib import Path
from known_by import inferred, known_by

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
    table("resource known as (default)", collections.Counter(known_by(f) for f in default)),
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

inferred = [f for f in default if inferred(f)]
lines = [f"# {len(inferred)} findings on resources no catalogue entry names\n"]
for i, f in enumerate(inferred, 1):
    lines.append(f"## {i}. {f['path']}:{f['start']['line']} {f['code']} ({known_by(f)})")
    lines.append(f["message"])
    lines.append("")
(out / "inferred.md").write_text("\n".join(lines))
print((out / "counts.md").read_text())
print(f"sample: {out / 'sample.md'}")
print(f"inferred: {out / 'inferred.md'}")
PY
