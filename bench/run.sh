#!/usr/bin/env bash
# Benchmark `unclosed check` against ruff, pylint and semgrep on a pinned
# corpus of real Python code. One command, from any directory:
#
#     bash bench/run.sh            # RUNS=5 by default; SLOW_RUNS (pylint) = RUNS
#
# Everything it fetches or writes goes to bench/.cache/ (git-ignored); the
# table for RESULTS.md is printed at the end and kept in
# bench/.cache/results/summary.md. See bench/README.md.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
CACHE="$BENCH/.cache"
CORPUS="$CACHE/corpus"
OUT="$CACHE/results"
VENV="$CACHE/venv"
RUNS="${RUNS:-5}"            # timed runs of the fast tools, after one warm-up
SLOW_RUNS="${SLOW_RUNS:-$RUNS}"  # timed runs of pylint (minutes each), no warm-up
mkdir -p "$CACHE" "$OUT"

step() { printf '\n== %s\n' "$*" >&2; }

step "unclosed: release build"
(cd "$ROOT" && cargo build --release --locked)
# Measure a copy, so that a rebuild in the checkout during the run changes nothing.
cp "$ROOT/target/release/unclosed" "$CACHE/unclosed"
{ git -C "$ROOT" rev-parse --short HEAD
  git -C "$ROOT" status --porcelain -- src rules Cargo.toml Cargo.lock; } >"$OUT/unclosed-build.txt"
UNCLOSED="$CACHE/unclosed"

step "peers: pinned versions in a throwaway virtualenv"
if ! cmp -s "$BENCH/requirements-peers.txt" "$VENV/.installed"; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r "$BENCH/requirements-peers.txt"
    cp "$BENCH/requirements-peers.txt" "$VENV/.installed"
fi
RUFF="$VENV/bin/ruff" PYLINT="$VENV/bin/pylint" SEMGREP="$VENV/bin/semgrep"
# semgrep must not phone home: no metrics, no version check (it runs offline).
export SEMGREP_SEND_METRICS=off SEMGREP_ENABLE_VERSION_CHECK=0

step "corpus: pinned sdists, checked by hash"
if ! cmp -s "$BENCH/corpus.txt" "$CORPUS/.corpus.txt"; then
    rm -rf "$CORPUS" "$CACHE/sdists"
    mkdir -p "$CORPUS"
    # Sdists of the listed packages only (`:all:` would build their build
    # backends from source too, which fails for some).
    "$VENV/bin/pip" download --quiet --no-deps --require-hashes \
        --no-binary "$(grep -v '^#' "$BENCH/corpus.txt" | sed 's/==.*//' | paste -sd, -)" \
        -r "$BENCH/corpus.txt" -d "$CACHE/sdists"
    for f in "$CACHE"/sdists/*.tar.gz; do tar -xzf "$f" -C "$CORPUS"; done
    # An empty .semgrepignore: without one semgrep skips tests/ and the like.
    : > "$CORPUS/.semgrepignore"
    cp "$BENCH/corpus.txt" "$CORPUS/.corpus.txt"
fi

if ! command -v hyperfine >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
fi
if command -v hyperfine >/dev/null; then TIMER=(hyperfine -N --style basic)
else TIMER=(python3 "$BENCH/timeit.py"); fi

# The commands, run from the corpus root on ".". Each checks only its rule set
# (see README.md); every one exits 0 on findings so a failure is a real error.
# unclosed: every file ruff sees (test code included, as the peers check it)
# and no cache, so that each run analyses everything; a second command
# measures a re-run over unchanged files from a warm cache.
UC=("$UNCLOSED" check --exit-zero --tests include --no-cache)
UCC=("$UNCLOSED" check --exit-zero --tests include --cache-dir "$CACHE/unclosed-cache")
RF=("$RUFF" check --isolated --no-cache --select SIM115 --exit-zero)
PL=("$PYLINT" --rcfile=/dev/null --disable=all --enable=consider-using-with
    --recursive=y --score=n --exit-zero)
SG=("$SEMGREP" scan --config "$BENCH/semgrep-unclosed.yaml" --metrics=off
    --disable-version-check --project-root . --quiet)

bench() {  # bench NAME RUNS WARMUP COMMAND...: times in results/time-NAME.json
    local name=$1 runs=$2 warmup=$3; shift 3
    step "time: $name"
    echo "$name $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/loadavg.txt"  # was the machine busy?
    (cd "$CORPUS" && "${TIMER[@]}" --runs "$runs" --warmup "$warmup" \
        --export-json "$OUT/time-$name.json" -n "$name" "$(printf '%q ' "$@")")
}

rm -f "$OUT/loadavg.txt"
find "$CORPUS" -name '*.py' -exec cat {} + >/dev/null  # warm the page cache
bench unclosed-t2 "$RUNS" 1 "${UC[@]}" --output-format concise --threads 2 .
bench unclosed-t1 "$RUNS" 1 "${UC[@]}" --output-format concise --threads 1 .
rm -rf "$CACHE/unclosed-cache"  # the warm-up run fills it
bench unclosed-cached "$RUNS" 1 "${UCC[@]}" --output-format concise --threads 2 .
bench ruff "$RUNS" 1 "${RF[@]}" --output-format concise .
bench semgrep-j2 "$RUNS" 1 "${SG[@]}" -j 2 .
bench pylint-j2 "$SLOW_RUNS" 0 "${PL[@]}" --jobs=2 .
bench pylint-j1 "$SLOW_RUNS" 0 "${PL[@]}" --jobs=1 .

# Start-up cost: each tool on a one-line file.
mkdir -p "$CACHE/tiny" && echo 'x = 1' > "$CACHE/tiny/tiny.py" && : > "$CACHE/tiny/.semgrepignore"
(cd "$CACHE/tiny" && "${TIMER[@]}" --runs "$RUNS" --warmup 1 --export-json "$OUT/startup.json" \
    -n unclosed "$(printf '%q ' "${UC[@]}" .)" -n ruff "$(printf '%q ' "${RF[@]}" .)" \
    -n semgrep "$(printf '%q ' "${SG[@]}" .)" -n pylint "$(printf '%q ' "${PL[@]}" .)")

step "findings: one more run of each, machine-readable"
(
    cd "$CORPUS"
    "${UC[@]}" --output-format json --output-file "$OUT/unclosed.json" . 2>"$OUT/unclosed.stderr"
    "${RF[@]}" --output-format json --output-file "$OUT/ruff.json" . 2>"$OUT/ruff.stderr"
    "${RF[@]}" --show-files . >"$OUT/ruff.files" 2>/dev/null
    for j in 2 1; do  # pylint's findings depend on --jobs
        "${PL[@]}" --jobs=$j --output-format=json2 . >"$OUT/pylint-j$j.json" 2>"$OUT/pylint-j$j.stderr"
    done
    "${SG[@]}" -j 2 --json --output "$OUT/semgrep.json" . 2>"$OUT/semgrep.stderr"
)

step "summary"
python3 "$BENCH/summarize.py" "$CACHE" | tee "$OUT/summary.md"
