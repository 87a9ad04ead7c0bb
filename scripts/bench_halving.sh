#!/usr/bin/env bash
# Halving against the grid: N generated full-size symbols (1870 trading days each), the
# original method, the whole search once with --search grid and once with --search halving on
# the same data. Prints each run's wall time, CPU time and peak memory, then (from the runs'
# tables, through DuckDB) the compute and Lambda cost each run's units used, and per stock the
# winner of each search and their test MSEs.
# usage: scripts/bench_halving.sh [N] [DAYS] [extra `groves run` arguments…]
#   quick smoke figure: scripts/bench_halving.sh 2 30 --trees 10
# Needs: pip install duckdb. Run by hand on a quiet machine; asserts nothing.
# The runs' final groves (about 0.4 GB per full-size symbol and run) are deleted once the
# tables are read, and the runs promote nothing; KEEP_MODELS=1 keeps and promotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10}"
DAYS="${2:-1870}"
shift 2 || shift $# || true
DIR="${BENCH_DIR:-$HOME/.cache/groves-bench}/halving-$DAYS"

cargo build --release -q -p groves
BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/release/groves"
# The first N symbols of the NIFTY 100 list, each its own generated series; kept between runs.
if [ "$(ls "$DIR/raw" 2>/dev/null | wc -l)" -lt "$N" ]; then
  "$BIN" --store "$DIR" gen --count "$N" --days "$DAYS"
fi
STOCKS="$(ls "$DIR/raw" | sed -n 's/_minute_data_with_indicators\.csv$//p' | head -n "$N" | paste -sd, -)"
source scripts/lib/bench_models.sh
STAMP="$(date +%s)"
for SEARCH in grid halving; do
  echo "== $SEARCH: $STOCKS"
  /usr/bin/time -f "RESULT search=$SEARCH wall_s=%e user_s=%U sys_s=%S peak_rss_kb=%M" \
    "$BIN" --store "$DIR" run --stocks "$STOCKS" --run "halving-bench-$SEARCH-$STAMP" \
    --method original --search "$SEARCH" "${PROMOTE[@]}" "$@" >/dev/null
done
python3 scripts/compare_searches.py "$DIR" "halving-bench-grid-$STAMP" "halving-bench-halving-$STAMP"
drop_models "$DIR" "halving-bench-grid-$STAMP" "halving-bench-halving-$STAMP"
