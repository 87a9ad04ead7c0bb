#!/usr/bin/env bash
# The live path through Kafka beside the bucket path, on this machine: a tansu broker on
# 127.0.0.1 (in memory), the quick start's RELIANCE and its minutes after the training data.
#   1. throughput: every minute produced into a topic (`groves replay --to kafka://…`), then
#      consumed, landed and scored (`groves live --from kafka://…`);
#   2. latency, paced (SPEED × real time, MINUTES minutes): a record produced to its forecast
#      row stored (`groves live --from … --watch`), and a minute object written to the bucket
#      to its forecast row stored (`groves live --watch --interval-ms 50`), each scorer running
#      while the replay feeds it.
# usage: scripts/bench_kafka.sh [MINUTES] [SPEED]   (default 300 minutes at 600×: 10 a second)
# Needs tansu on PATH (scripts/test.sh installs it into ~/.cache/groves-tools/bin). Run by
# hand; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${1:-300}"
SPEED="${2:-600}"
PATH="$HOME/.cache/groves-tools/bin:$PATH"
command -v tansu >/dev/null || { echo "tansu is needed: cargo install tansu --locked --features dynostore"; exit 1; }
cargo build --release -q -p groves --features kafka
G="$(realpath "${CARGO_TARGET_DIR:-target}")/release/groves"
WORK="$(mktemp -d)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
source scripts/lib/emulator.sh
PORT=$(free_port)
tansu broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine memory://tansu/ >"$WORK/tansu.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do port_open "$PORT" && break; sleep 0.1; done
topic() { tansu topic create "$1" --broker "tcp://127.0.0.1:$PORT" >/dev/null; echo "kafka://127.0.0.1:$PORT/$1"; }

cd "$WORK"
"$G" run --stocks RELIANCE --days 20 >/dev/null
# A store with only the serving model: what each scorer starts from.
fresh() { rm -rf "$1"; mkdir -p "$1"; cp -r groves-data/models groves-data/raw "$1/"; }

echo "== 1. throughput: all of RELIANCE's out-of-sample minutes through the broker"
T=$(topic all)
"$G" replay --stock RELIANCE --to "$T" | tail -1
fresh consumed
/usr/bin/time -f "consumer: wall %e s, max RSS %M KB" "$G" --store consumed live --from "$T" --stocks RELIANCE --idle-s 2 --flush | grep -E "consumed|records/s|scored|requests|stock|RELIANCE"

echo "== 2. latency, $MINUTES minutes at ${SPEED}× real time"
echo "-- Kafka: groves replay --to kafka://… | groves live --from kafka://… --watch"
T=$(topic paced)
fresh kafka
"$G" --store kafka live --from "$T" --stocks RELIANCE --watch --idle-s 3 --max-batch 100 >"$WORK/kafka.out" 2>&1 &
LIVE=$!
sleep 1
"$G" --store groves-data replay --stock RELIANCE --to "$T" --minutes "$MINUTES" --speed "$SPEED" | tail -1
wait "$LIVE"
grep -E "consumed|requests|record produced" "$WORK/kafka.out"
echo "-- bucket: groves replay (into the folder) | groves live --watch --interval-ms 50"
fresh bucket
"$G" --store bucket live --stocks RELIANCE --watch --interval-ms 50 --idle-s 3 >"$WORK/bucket.out" 2>&1 &
LIVE=$!
sleep 1
# The minute after the training data, as the Kafka replay starts by default.
START=$(python3 -c 'import json, datetime as d; t = d.datetime.strptime(json.load(open("bucket/models/current/stock=RELIANCE.json"))["trained_until"], "%Y-%m-%d %H:%M"); print((t + d.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M"))')
"$G" --store bucket replay --stock RELIANCE --minutes "$MINUTES" --speed "$SPEED" --start "$START" | tail -1
wait "$LIVE"
grep -E "scored|object landed" "$WORK/bucket.out"
