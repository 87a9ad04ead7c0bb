#!/usr/bin/env bash
# The live path's figures: minutes scored per second, the latency from a minute object landing
# to its forecast row, and the scorer's S3 requests per minute and their cost.
#   1. locally: `groves replay --score` (the score logic in-process, a local folder);
#   2. through the emulator: the real `score` binary attached to `cargo lambda watch`, models
#      and minutes in a moto S3 server, each minute object PUT and then its S3 notification
#      (events/score.json with the key) invoked through `cargo lambda invoke`, timed end to end
#      (the invocation is synchronous: when it returns, the forecast row is in the bucket).
# usage: scripts/bench_live.sh [MINUTES]   (default 300 minutes through the emulator)
# Needs moto_server and cargo-lambda (pip install 'moto[server]' cargo-lambda). Run by hand;
# asserts nothing. moto and the emulator add their own latency: a floor, not Lambda's figure.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${1:-300}"
cargo build --release -q -p groves -p score
TARGET="$(realpath "${CARGO_TARGET_DIR:-target}")/release"
G="$TARGET/groves"
WORK="$(mktemp -d)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== 1. locally (quick-start data: RELIANCE, 20 days, the default run)"
(cd "$WORK" && "$G" run --stocks RELIANCE --days 20 >/dev/null && /usr/bin/time -f "wall %e s, max RSS %M KB" "$G" replay --stock RELIANCE --score)

echo "== 2. the score function under the emulator ($MINUTES minutes)"
source scripts/lib/emulator.sh
start_moto "$WORK/moto.log"
python3 - "$WORK/groves-data" <<'PY'
import os, sys, boto3
store = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
s3.create_bucket(Bucket="bench-bucket")
for top in ["models", "raw"]:
    for dirpath, _, files in os.walk(os.path.join(store, top)):
        for f in files:
            path = os.path.join(dirpath, f)
            with open(path, "rb") as fh:
                s3.put_object(Bucket="bench-bucket", Key=os.path.relpath(path, store), Body=fh.read())
PY
start_watch "$WORK/watch.log"
GROVES_BUCKET=bench-bucket AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 AWS_LAMBDA_FUNCTION_NAME=score \
  AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$RT_PORT/.rt/score" \
  "$TARGET/score" >"$WORK/score.log" 2>&1 &
PIDS+=($!)
# The minute objects, written locally first (same keys and bytes as a replay into the bucket).
(cd "$WORK" && "$G" --store minutes replay --stock RELIANCE --file groves-data/raw/RELIANCE_minute_data_with_indicators.csv \
  --start "$(python3 -c 'import json; print(json.load(open("groves-data/models/current/stock=RELIANCE.json"))["trained_until"])')" \
  --minutes "$MINUTES" >/dev/null)
python3 - "$WORK" "$RT_PORT" <<'PY'
import json, os, subprocess, sys, time, boto3
work, port = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
root = os.path.join(work, "minutes")
keys = sorted(os.path.relpath(os.path.join(d, f), root)
              for d, _, fs in os.walk(os.path.join(root, "live")) for f in fs)
event = json.load(open("events/score.json"))
lat, inside = [], []
t_all = time.perf_counter()
for key in keys:
    with open(os.path.join(root, key), "rb") as f:
        body = f.read()
    t0 = time.perf_counter()
    s3.put_object(Bucket="bench-bucket", Key=key, Body=body)
    event["Records"][0]["s3"]["bucket"]["name"] = "bench-bucket"
    event["Records"][0]["s3"]["object"]["key"] = key
    path = os.path.join(work, "event.json")
    json.dump(event, open(path, "w"))
    out = subprocess.run(["cargo-lambda", "lambda", "invoke", "--invoke-address", "127.0.0.1",
                          "--invoke-port", port, "score", "--data-file", path],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"score failed on {key}: {out.stdout}{out.stderr}")
    lat.append((time.perf_counter() - t0) * 1000)
total = time.perf_counter() - t_all
lat.sort()
pct = lambda q: lat[round((len(lat) - 1) * q)]
listed = s3.list_objects_v2(Bucket="bench-bucket", Prefix="live/forecasts/")
print(f"{len(keys)} minutes in {total:.1f} s: {len(keys) / total:.1f} minutes/s through the emulator, "
      f"one at a time (PUT, then the notification invoked)")
print(f"object PUT to forecast row stored: p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, max {lat[-1]:.0f} ms "
      f"(cargo lambda invoke starts a process per call)")
print(f"forecast files in the bucket: {listed['KeyCount']}")
PY
# In the function: each invocation's own time, from the runtime's report lines if present.
grep -c '"live minutes landed"' "$WORK/score.log" | sed 's/^/score invocations logged: /'
