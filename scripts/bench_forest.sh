#!/usr/bin/env bash
# Benchmark of the forest crate against scikit-learn's RandomForestRegressor, same files, same
# settings: fit wall/CPU seconds, predict seconds, peak memory, validation MSE, model bytes.
#
# Input: the processed features of a generated symbol, made with the groves CLI
#   groves gen --symbols BENCH --days 1870 --store DIR && groves process --store DIR
# and converted from Parquet to CSV. If the CLI is not available (or with --synthetic), a
# synthetic random walk of minute bars stands in (scripts/bench_forest_sklearn.py synth).
#
# usage: scripts/bench_forest.sh [--synthetic] [--no-sklearn] [--rows 50000,200000,450000]
#          [--trees 100] [--max-features 7] [--min-samples-split 15] [--threads 2] [--seed 1]
#          [--split chronological|random] [--work DIR]
# Needs: python3 with pandas and pyarrow, and scikit-learn unless --no-sklearn
# (pip install scikit-learn pandas pyarrow).
# GROVES=/path/to/groves uses a prebuilt CLI instead of `cargo run --release -p groves`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/scripts/bench_forest_sklearn.py"
WORK="${TMPDIR:-/tmp}/groves-bench-forest"
ROWS="50000,200000,450000"
TREES=100
MAX_FEATURES=7
MIN_SAMPLES_SPLIT=15
THREADS=2
SEED=1
SYNTHETIC=0
SKLEARN=1
SPLIT=chronological

while [ $# -gt 0 ]; do
  case "$1" in
    --synthetic) SYNTHETIC=1 ;;
    --no-sklearn) SKLEARN=0 ;;
    --rows) ROWS="$2"; shift ;;
    --trees) TREES="$2"; shift ;;
    --max-features) MAX_FEATURES="$2"; shift ;;
    --min-samples-split) MIN_SAMPLES_SPLIT="$2"; shift ;;
    --threads) THREADS="$2"; shift ;;
    --seed) SEED="$2"; shift ;;
    --work) WORK="$2"; shift ;;
    --split) SPLIT="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

# scikit-learn only when it runs: the CSV conversion and the tables need pandas and pyarrow.
MODULES="pandas, pyarrow"; PACKAGES="pandas pyarrow"
[ "$SKLEARN" = 1 ] && { MODULES="sklearn, $MODULES"; PACKAGES="scikit-learn $PACKAGES"; }
python3 -c "import $MODULES" 2>/dev/null || {
  echo "python3 needs $PACKAGES: pip install $PACKAGES" >&2
  exit 1
}

mkdir -p "$WORK"
CSV="$WORK/csv"
cd "$ROOT"

# --- input files -----------------------------------------------------------------------------
groves() {
  if [ -n "${GROVES:-}" ]; then "$GROVES" "$@"; else cargo run --quiet --release -p groves -- "$@"; fi
}
use_cli=0
if [ "$SYNTHETIC" = 0 ]; then
  if help="$(groves --help 2>/dev/null)" \
      && grep -qw gen <<<"$help" && grep -qw process <<<"$help"; then
    use_cli=1
  else
    echo "note: the groves CLI (gen/process) is not available; using synthetic data" >&2
  fi
fi
if [ "$use_cli" = 1 ]; then
  STORE="$WORK/store"
  rm -rf "$STORE"
  echo "== generating BENCH with the groves CLI into $STORE" >&2
  groves gen --symbols BENCH --days 1870 --store "$STORE"
  groves process --store "$STORE" --split "$SPLIT"
  python3 "$PY" parquet-to-csv --store "$STORE" --symbol BENCH --out "$CSV"
  SOURCE="groves gen --symbols BENCH --days 1870 + groves process --split $SPLIT"
else
  echo "== synthetic random walk into $CSV" >&2
  python3 "$PY" synth --out "$CSV"
  SOURCE="synthetic random walk (bench_forest_sklearn.py synth)"
fi

ARGS=(--train "$CSV/train.csv" --validation "$CSV/validation.csv" --rows "$ROWS"
      --trees "$TREES" --max-features "$MAX_FEATURES" --min-samples-split "$MIN_SAMPLES_SPLIT"
      --threads "$THREADS" --seed "$SEED")

# --- ours, then scikit-learn (one after the other: they would compete for the cores) -----------
echo "== forest-bench ${ARGS[*]}" >&2
cargo build --quiet --release -p forest --features bench --bin forest-bench
cargo run --quiet --release -p forest --features bench --bin forest-bench -- "${ARGS[@]}" \
  | tee "$WORK/ours.txt"

if [ "$SKLEARN" = 1 ]; then
  echo "== scikit-learn ${ARGS[*]}" >&2
  python3 "$PY" run "${ARGS[@]}" | tee "$WORK/sklearn.txt"
else
  : > "$WORK/sklearn.txt"
fi

echo
echo "data: $SOURCE; trees $TREES, max_features $MAX_FEATURES, min_samples_split $MIN_SAMPLES_SPLIT, threads $THREADS, seed $SEED"
python3 "$PY" table --ours "$WORK/ours.txt" --sklearn "$WORK/sklearn.txt"
