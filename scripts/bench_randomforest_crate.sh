#!/usr/bin/env bash
# The `randomforest` crate (the design card's first choice of forest) beside ours and
# scikit-learn, on the files scripts/bench_forest.sh writes (run that first, e.g.
# `scripts/bench_forest.sh --rows 50000`): fit wall/CPU, validation MSE, model bytes.
#
# usage: scripts/bench_randomforest_crate.sh [--work DIR] [--rows 16000,50000] [--trees 100]
#          [--crate-trees 100] [--threads 2]
#
# The crate has no min_samples_split (it splits down to 2 rows), so ours and scikit-learn run
# twice: with the search's 15 and with 2, the crate's own behaviour. Its split search
# recomputes each side's impurity at every candidate (quadratic in a node's rows), so
# --crate-trees fewer than --trees keeps the larger sizes to minutes; the table then scales
# its fit time to --trees (trees are independent, so time is linear in their number).
# Needs: python3 with scikit-learn, pandas and pyarrow.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${TMPDIR:-/tmp}/groves-bench-forest"
ROWS="16000,50000"
TREES=100
CRATE_TREES=""
THREADS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK="$2"; shift ;;
    --rows) ROWS="$2"; shift ;;
    --trees) TREES="$2"; shift ;;
    --crate-trees) CRATE_TREES="$2"; shift ;;
    --threads) THREADS="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
CRATE_TREES="${CRATE_TREES:-$TREES}"
CSV="$WORK/csv"
[ -f "$CSV/train.csv" ] && [ -f "$CSV/validation.csv" ] || {
  echo "no $CSV/train.csv: run scripts/bench_forest.sh --work $WORK first" >&2
  exit 1
}

cd "$ROOT"
OUT="$WORK/randomforest-crate.txt"
: > "$OUT"
common=(--train "$CSV/train.csv" --validation "$CSV/validation.csv" --rows "$ROWS"
        --threads "$THREADS" --max-features 7 --seed 1)

echo "== the randomforest crate, $CRATE_TREES trees" >&2
cargo run --quiet --release --manifest-path scripts/randomforest-crate-bench/Cargo.toml -- \
  "${common[@]}" --trees "$CRATE_TREES" | tee -a "$OUT"

cargo build --quiet --release -p forest --features bench --bin forest-bench
for split in 15 2; do
  echo "== ours, min_samples_split $split" >&2
  cargo run --quiet --release -p forest --features bench --bin forest-bench -- \
    "${common[@]}" --trees "$TREES" --min-samples-split "$split" \
    | grep '^RESULT' | sed "s/^RESULT /RESULT split=$split /" | tee -a "$OUT"
  echo "== scikit-learn, min_samples_split $split" >&2
  python3 scripts/bench_forest_sklearn.py run "${common[@]}" --trees "$TREES" \
    --min-samples-split "$split" \
    | grep '^RESULT' | sed "s/^RESULT /RESULT split=$split /" | tee -a "$OUT"
done

echo
echo "fit CPU and model bytes scaled to $TREES trees (the crate's MSE is that of its own tree count)"
awk -v trees="$TREES" '
  /^RESULT/ {
    delete kv
    for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
    t = ("trees" in kv) ? kv["trees"] : trees
    name = kv["impl"] ("split" in kv ? " (min_samples_split " kv["split"] ")" : " (splits to 2 rows)")
    printf "%-42s rows %7d  fit CPU %9.2f s  MSE %16.3f  model %12.0f B\n",
      name, kv["rows"], kv["fit_cpu_s"] * trees / t, kv["mse"], kv["model_bytes"] * trees / t
  }' "$OUT"
