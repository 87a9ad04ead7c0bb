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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
S3_PORT=$(free_port); RT_PORT=$(free_port)
WORK="$(mktemp -d)"
moto_server -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
PIDS=($!)
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$S3_PORT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do curl -s "$AWS_ENDPOINT_URL_S3" >/dev/null && break; sleep 0.1; done
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
# Its own session: the watcher signals its process group when it stops.
setsid cargo-lambda lambda watch --only-lambda-apis -A 127.0.0.1 -P "$RT_PORT" >"$WORK/watch.log" 2>&1 &
PIDS+=($!)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 300); do port_open "$RT_PORT" && break; sleep 0.1; done
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
