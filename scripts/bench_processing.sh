#!/usr/bin/env bash
# Processing benchmark: one full-size generated symbol (1870 trading days ≈ 700k rows,
# ≈ 650 MB), processed by groves and by pandas (the original's way, and with usecols).
# usage: [ROUNDS=5] scripts/bench_processing.sh [DAYS]   (run by hand; prints figures, asserts nothing)
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

# Rounds of groves, pandas as the original and pandas with usecols, one fresh process each,
# interleaved so that all three see the same phases of a noisy machine; the best of each.
ROUNDS="${ROUNDS:-5}"
G=() P=() U=()
result() { tee /dev/stderr | grep RESULT; }
for round in $(seq "$ROUNDS"); do
  echo "== round $round: groves"
  G+=("$("$BIN" bench processing "$FILE" --repeat 1 | result)")
  echo "== round $round: pandas, all columns (as the original)"
  P+=("$(python3 scripts/bench_processing_pandas.py "$FILE" "$DIR/pandas-out" | result)")
  echo "== round $round: pandas, usecols=[date, TYPPRICE]"
  U+=("$(python3 scripts/bench_processing_pandas.py "$FILE" "$DIR/pandas-out" --usecols | result)")
done
best() { printf '%s\n' "$@" | sort -t= -k2 -g | head -1; }
G=$(best "${G[@]}") P=$(best "${P[@]}") U=$(best "${U[@]}")

secs() { sed -E 's/.*total_s=([0-9.]+).*/\1/' <<<"$1"; }
python3 - "$(secs "$G")" "$(secs "$P")" "$(secs "$U")" <<'PY'
import sys
g, p, u = map(float, sys.argv[1:])
print(f"best of rounds: groves {g:.3f} s, pandas {p:.3f} s, pandas usecols {u:.3f} s")
print(f"speed-up of groves: {p / g:.1f}x vs pandas as the original, {u / g:.1f}x vs pandas with usecols")
PY
