#!/usr/bin/env bash
# The test suite: what the README's second command runs and what CI runs.
# Installs the Python tools the tests use (moto's S3 server, cfn-lint) if they are missing,
# then checks formatting, lints, the template, and runs every test in the release profile
# (the same build as the quick start, so the heavy dependencies compile once).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
# pip's console scripts (moto_server, cfn-lint) must be on PATH for the tests.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --release --workspace --all-targets --quiet -- -D warnings
echo "== cfn-lint template.yaml"
cfn-lint template.yaml
echo "== cargo test"
cargo test --release --workspace
