#!/usr/bin/env bash
# The predict function under the Lambda emulator: the real binary attached to
# `cargo lambda watch`, its models in a moto S3 server, invoked with a Function URL event
# (events/predict.json with this stock's query) — the first (cold: model loaded from S3) and
# then warm invocations, timed end to end through `cargo lambda invoke`.
# usage: scripts/bench_predict_lambda.sh STORE STOCK [PRICE]
# Needs moto_server and cargo-lambda (pip install 'moto[server]' cargo-lambda). Run by hand;
# asserts nothing. moto and the emulator add their own latency: a floor, not Lambda's figure.
set -euo pipefail
cd "$(dirname "$0")/.."
STORE="${1:?usage: scripts/bench_predict_lambda.sh STORE STOCK [PRICE]}"
STOCK="${2:?usage: scripts/bench_predict_lambda.sh STORE STOCK [PRICE]}"
PRICE="${3:-1000}"
cargo build --release -q -p predict
BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/release/predict"
WORK="$(mktemp -d)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
source scripts/lib/emulator.sh
start_moto "$WORK/moto.log"
python3 - "$STORE" "$STOCK" <<'PY'
import json, os, sys, boto3
store, stock = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
s3.create_bucket(Bucket="bench-bucket")
pointer = f"models/current/stock={stock}.json"
run = json.load(open(os.path.join(store, pointer)))["run"]
prefix = f"models/run={run}/stock={stock}/"
# One PUT per object, as groves writes them (boto3's upload_file goes multipart above 8 MB,
# and moto then answers with a checksum of the parts that the Rust SDK rejects as the body's).
for name in [pointer] + [prefix + f for f in os.listdir(os.path.join(store, prefix))]:
    with open(os.path.join(store, name), "rb") as f:
        s3.put_object(Bucket="bench-bucket", Key=name, Body=f.read())
PY
start_watch "$WORK/watch.log"
GROVES_BUCKET=bench-bucket AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1769 AWS_LAMBDA_FUNCTION_NAME=predict \
  AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$RT_PORT/.rt/predict" \
  "$BIN" >"$WORK/predict.log" 2>&1 &
PIDS+=($!)
PRICES=$(python3 -c "print(','.join(str($PRICE + 0.05 * k) for k in range(11)))")
python3 - "$STOCK" "$PRICES" >"$WORK/event.json" <<'PY'
import json, sys
e = json.load(open("events/predict.json"))
q = f"stock={sys.argv[1]}&prices={sys.argv[2]}"
e["rawQueryString"] = q
e["queryStringParameters"] = {"stock": sys.argv[1], "prices": sys.argv[2]}
print(json.dumps(e))
PY
for i in $(seq 6); do
  START=$(date +%s.%N)
  ANSWER=$(cargo-lambda lambda invoke --invoke-address 127.0.0.1 --invoke-port "$RT_PORT" predict --data-file "$WORK/event.json")
  END=$(date +%s.%N)
  LABEL=$([ "$i" = 1 ] && echo cold || echo warm)
  echo "$LABEL invocation $i: $(python3 -c "print(f'{($END - $START) * 1000:.0f} ms')") end to end; $(echo "$ANSWER" | python3 -c 'import json,sys; a=json.load(sys.stdin); b=json.loads(a["body"]); print("status", a["statusCode"], "took_ms in the function", round(b.get("took_ms", -1), 2), b.get("error", ""))')"
done
