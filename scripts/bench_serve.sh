#!/usr/bin/env bash
# Serving benchmark: `groves serve` on a store with a promoted model, loaded from 127.0.0.1 by
# `groves bench serve` (20,000 single-row requests at concurrency 32, single-row and 1,000-row
# batch latency), with the server's resident memory before and after the model is loaded.
# usage: scripts/bench_serve.sh STORE STOCK [PRICE] [extra `groves bench serve` arguments…]
#   e.g. after KEEP_MODELS=1 scripts/bench_run.sh 1870 (which keeps and promotes its groves):
#   scripts/bench_serve.sh ~/.cache/groves-bench/run-1870 BENCH 1000
# Run by hand on a quiet machine; asserts nothing. Figures are this machine's (x86_64).
set -euo pipefail
cd "$(dirname "$0")/.."
STORE="${1:?usage: scripts/bench_serve.sh STORE STOCK [PRICE]}"
STOCK="${2:?usage: scripts/bench_serve.sh STORE STOCK [PRICE]}"
PRICE="${3:-1000}"
shift 3 || shift $#

cargo build --release -q -p groves
BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/release/groves"
OUT="$(mktemp)"
"$BIN" --store "$STORE" serve --addr 127.0.0.1:0 >"$OUT" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 100); do grep -q http "$OUT" && break; sleep 0.1; done
ADDR="$(grep -o '127.0.0.1:[0-9]*' "$OUT")"
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$PID/status"; }
echo "server $ADDR, resident before any model: $(rss)"
MODEL_MB="$(du -sm "$STORE/models/run=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['run'])" "$STORE/models/current/stock=$STOCK.json")/stock=$STOCK" | cut -f1)"
"$BIN" bench serve --addr "$ADDR" --stock "$STOCK" --price "$PRICE" "$@"
echo "resident with the model of $STOCK loaded: $(rss) (its groves: $MODEL_MB MB stored)"
