#!/usr/bin/env bash
# What analysing each project as a whole costs over analysing each of its
# files alone (issue 8: "what the summaries cost in time"), on corpora
# already fetched by precision.sh. One command, from any directory:
#
#     bash bench/cross_file_cost.sh                  # precision and inference corpora
#     RUNS=5 bash bench/cross_file_cost.sh holdout63
#
# Each package of a corpus is a project, checked as `unclosed check
# PACKAGE` checks it by default (its production files, default settings),
# by examples/cross_file_cost.rs: `together` as the tool does, `alone` each
# file as a project of its own. Prints one markdown row per corpus and
# mode: mean wall and CPU seconds (user + system) over RUNS runs, the
# largest resident set, the findings and how many are on inferred
# resources. Run it on an otherwise idle machine.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
RUNS="${RUNS:-3}"
[ $# -gt 0 ] || set -- precision inference
(cd "$ROOT" && cargo build --release --locked --example cross_file_cost)
EXAMPLE="$ROOT/target/release/examples/cross_file_cost"

echo "| corpus | mode | files | findings | inferred | wall s | CPU s | max RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for corpus in "$@"; do
    dir="$BENCH/.cache/$corpus/corpus"
    [ -d "$dir" ] || { echo "no $dir: run CORPUS=$corpus bash bench/precision.sh first" >&2; exit 2; }
    for mode in alone together; do
        out=$(mktemp)
        for _ in $(seq "$RUNS"); do
            /usr/bin/time -f "%e %U %S %M" -a -o "$out.time" \
                "$EXAMPLE" "$mode" "$dir"/*/ > "$out"
        done
        read -r _ files _ findings _ inferred < "$out"
        awk -v c="$corpus" -v m="$mode" -v f="$files" -v n="$findings" -v i="$inferred" '
            { wall += $1; cpu += $2 + $3; if ($4 > rss) rss = $4 }
            END { printf "| %s | %s | %d | %d | %d | %.2f | %.2f | %.0f |\n",
                  c, m, f, n, i, wall / NR, cpu / NR, rss / 1024 }' "$out.time"
        rm -f "$out" "$out.time"
    done
done
