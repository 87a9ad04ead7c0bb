#!/usr/bin/env python3
"""Lambda figures of the function binaries: size (raw, stripped, zipped as a deployment
package's `bootstrap`) and cold start under `cargo lambda watch`.

    cargo build --profile lambda --workspace --bins     # the functions as they are deployed
    python3 scripts/bench_lambda.py [--profile lambda] [--target-dir DIR] [--repeat 5]

(`--profile release` measures the binaries the tests build, with `cargo build --release`.)

Cold start: a fresh process of the function is attached to the emulator's runtime API and
invoked at once with an event it refuses (so no S3 call is timed): the first answer minus a
warm answer of the same process is the start-up (runtime, logging, AWS clients). The machine's
noise is in every figure; the median of --repeat fresh processes is printed.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile

FUNCTIONS = [
    "parent", "processing", "param-preds", "pred-mses", "min-mse",
    "train-full", "test-full", "timing-metrics", "trigger",
]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def invoke(port, name, payload):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/{name}/invocations",
        data=payload, method="POST")
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
    except urllib.error.HTTPError as e:
        # The refused event comes back as a function error: that is the answer timed.
        body = e.read()
        if b"errorMessage" not in body:
            raise SystemExit(f"{name}: unexpected answer {e.code}: {body[:300]!r}")
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", default="lambda", help="the Cargo profile the binaries were built with")
    args = ap.parse_args()
    bins = os.path.join(args.target_dir, args.profile)
    print(f"binaries: {bins}")
    tmp = tempfile.mkdtemp()
    print("function        binary MB  stripped MB  zipped MB")
    for f in FUNCTIONS:
        src = os.path.join(bins, f)
        stripped = os.path.join(tmp, f"{f}-bootstrap")
        subprocess.run(["strip", "-o", stripped, src], check=True)
        z = os.path.join(tmp, f + ".zip")
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            zf.write(stripped, "bootstrap")
        mb = lambda p: os.path.getsize(p) / 1e6
        print(f"{f:<15} {mb(src):>9.1f} {mb(stripped):>12.1f} {mb(z):>10.1f}")

    port = free_port()
    watch = subprocess.Popen(
        ["cargo-lambda", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        env = dict(os.environ, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
                   AWS_SECRET_ACCESS_KEY="test", AWS_ENDPOINT_URL_S3="http://127.0.0.1:1",
                   AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1769",
                   RUST_LOG="error")
        print()
        print("function        cold start ms (median of %d; first answer - warm answer)" % args.repeat)
        for f in ["min-mse", "parent", "trigger"]:
            colds = []
            for _ in range(args.repeat):
                e = dict(env, AWS_LAMBDA_FUNCTION_NAME=f,
                         AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{port}/.rt/{f}")
                stripped = os.path.join(tmp, f"{f}-bootstrap")  # stripped above
                t0 = time.perf_counter()
                p = subprocess.Popen([stripped], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    invoke(port, f, b'{"not": "an event"}')
                    first = time.perf_counter() - t0
                    warm = invoke(port, f, b'{"not": "an event"}')
                    colds.append((first - warm) * 1000)
                finally:
                    p.kill()
                    p.wait()
            print(f"{f:<15} {statistics.median(colds):>8.1f}   (all: {', '.join('%.0f' % c for c in colds)})")
    finally:
        watch.kill()
        watch.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
