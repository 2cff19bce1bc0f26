#!/usr/bin/env bash
# Fuzzes the analysis and the renderers for a bounded time (default 300 s):
#
#     bash scripts/fuzz.sh [SECONDS]        # UNCLOSED_FUZZ_SEED=n to replay
#
# Inputs that make the tool panic are written to target/fuzz-crashes/; once
# fixed, keep each under tests/data/fuzz-regressions/ (every test run checks
# them). See tests/fuzz.rs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UNCLOSED_FUZZ_SECONDS="${1:-300}" cargo test --release --test fuzz -- --ignored --nocapture fuzz_for_a_while
