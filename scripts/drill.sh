#!/usr/bin/env bash
# The drill at the original's scale: N generated stocks (default 100 × 3 trading days) through
# the whole original grid (3 × 3 settings × 3 groves, 30 final groves; 10 / 5 trees) on an
# S3-compatible server on 127.0.0.1, through the in-process pool and through the real function
# binaries under `cargo lambda watch`, clean and with faults injected by the fault proxy
# (tests/src/proxy.rs). Each drill compares every result table with a clean run's, byte for
# byte, and prints units, wall time, units/s, the parent's CPU and peak memory, the S3 server's
# CPU, S3 requests by kind, hand-over latency, the largest objects, and what the run's own
# records say (tests/src/bin/drill/).
# usage: scripts/drill.sh [COUNT] [DAYS]          all five drills
#        scripts/drill.sh 100 3 -- --executor lambda --kill-units 10   one drill, any options
#        (target/release/drill --help lists them)
# Needs: pip install cargo-lambda. Builds the S3 server it uses (scripts/s3-memory-server, the
# `s3s` crate with objects in memory) into ~/.cache/groves-tools once (about a minute).
# A bench, not a test: run by hand on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-100}"
DAYS="${2:-3}"
shift 2 || shift $# || true
[ "${1:-}" = "--" ] && shift

TOOLS="$HOME/.cache/groves-tools"
export PATH="$TOOLS/bin:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
if ! command -v s3-memory-server >/dev/null; then
  echo "== building scripts/s3-memory-server (once)"
  CARGO_TARGET_DIR="$HOME/.cache/groves-tools-build" \
    cargo install --path scripts/s3-memory-server --locked --root "$TOOLS" --quiet
fi
command -v cargo-lambda >/dev/null || python3 -m pip install --quiet cargo-lambda

cargo build --release --quiet --workspace --bins
DRILL="$(realpath "${CARGO_TARGET_DIR:-target}")/release/drill"
WORK="${DRILL_DIR:-$HOME/.cache/groves-bench}/drill"
run() { echo; echo "### drill $*"; "$DRILL" --count "$COUNT" --days "$DAYS" --work "$WORK" "$@"; }

if [ $# -gt 0 ]; then
  run "$@"
  exit
fi
S3_FAULTS="500=0.01,503=0.02,hang=0.0003,hang-s=30"
run --executor local
run --executor local --s3-faults "$S3_FAULTS" --s3-read-timeout-s 5 --kill-parent 5
run --executor lambda
run --executor lambda --poll-min-ms 20
run --executor lambda --poll-min-ms 20 --s3-faults "$S3_FAULTS" --s3-read-timeout-s 5 \
  --lambda-faults "429-after-s=5,429-for-s=10,dup=0.02,dup-copies=3" --kill-units 10 \
  --parent-slice-s 8
