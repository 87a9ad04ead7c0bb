#!/usr/bin/env bash
# Processing benchmark: one full-size generated symbol (1870 trading days ≈ 700k rows,
# ≈ 650 MB), processed by groves and by pandas (the original's way, and with usecols).
# usage: scripts/bench_processing.sh [DAYS]   (run by hand; prints figures, asserts nothing)
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS="${1:-1870}"
DIR="${BENCH_DIR:-$HOME/.cache/groves-bench}/processing-$DAYS"
FILE="$DIR/raw/BENCH_minute_data_with_indicators.csv"

cargo build --release -q -p groves
BIN="${CARGO_TARGET_DIR:-target}/release/groves"
python3 -m pip install --quiet pandas pyarrow

if [ ! -f "$FILE" ]; then
  "$BIN" --store "$DIR" gen --symbols BENCH --days "$DAYS"
fi
# Warm the page cache so every contender reads from memory, not disk.
cat "$FILE" > /dev/null

# Best of 3 on both sides: groves repeats in one process, pandas in fresh processes (its
# memory is not released between runs otherwise).
best_pandas() {
  for _ in 1 2 3; do
    python3 scripts/bench_processing_pandas.py "$FILE" "$DIR/pandas-out" "$@" | tee /dev/stderr | grep RESULT
  done | sort -t= -k2 -g | head -1
}
echo "== groves"
G=$("$BIN" bench processing "$FILE" --repeat 3 | tee /dev/stderr | grep RESULT)
echo "== pandas, all columns (as the original)"
P=$(best_pandas)
echo "== pandas, usecols=[date, TYPPRICE]"
U=$(best_pandas --usecols)

secs() { sed -E 's/.*total_s=([0-9.]+).*/\1/' <<<"$1"; }
python3 - "$(secs "$G")" "$(secs "$P")" "$(secs "$U")" <<'PY'
import sys
g, p, u = map(float, sys.argv[1:])
print(f"speed-up of groves: {p / g:.1f}x vs pandas as the original, {u / g:.1f}x vs pandas with usecols")
PY
