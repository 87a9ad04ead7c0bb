#!/usr/bin/env bash
# Whole-search benchmark: `groves run` on one full-size generated symbol (1870 trading days ≈
# 700k rows, ≈ 450k training rows), the default grid (9 settings × 3 groves × 100 trees, then
# 30 final groves × 25 trees) and the default target (change); the README's table is the
# original method: scripts/bench_run.sh 1870 --method original. Prints wall time, CPU time and
# peak memory.
# usage: scripts/bench_run.sh [DAYS] [extra `groves run` arguments…]
#   quick smoke figure: scripts/bench_run.sh 1870 --groves 1 --trees 10 --final-groves 2
# Run by hand on a quiet machine; asserts nothing. The run's final groves (about 0.4 GB at full
# size) are deleted when it ends, and it promotes nothing; KEEP_MODELS=1 keeps and promotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS="${1:-1870}"
shift || true
DIR="${BENCH_DIR:-$HOME/.cache/groves-bench}/run-$DAYS"
RAW="$DIR/raw/BENCH_minute_data_with_indicators.csv"

cargo build --release -q -p groves
BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/release/groves"
if [ ! -f "$RAW" ]; then
  "$BIN" --store "$DIR" gen --symbols BENCH --days "$DAYS"
fi
# A fresh run id each time, so nothing is resumed.
RUN="bench-$(date +%s)"
source scripts/lib/bench_models.sh
/usr/bin/time -f 'RESULT wall_s=%e user_s=%U sys_s=%S peak_rss_kb=%M' \
  "$BIN" --store "$DIR" run --stocks BENCH --run "$RUN" "${PROMOTE[@]}" "$@"
drop_models "$DIR" "$RUN"
