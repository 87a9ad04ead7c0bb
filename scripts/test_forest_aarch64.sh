#!/usr/bin/env bash
# Runs the forest crate's tests for aarch64 (arm64 Lambda, Graviton) under qemu user-mode
# emulation, so the NEON kernels are tested on an x86_64 machine.
#
# usage: scripts/test_forest_aarch64.sh [extra cargo test arguments, e.g. -- kernels]
#
# Installs what is missing: the Rust target (rustup), and the Debian packages of the cross
# linker, the arm64 C library and qemu-user (apt-get, with sudo unless run as root).
# The linker and runner are passed through cargo's environment variables rather than a
# committed .cargo/config.toml, so native builds of the workspace are left as they are; set
# CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER / _RUNNER yourself to use others. An existing
# CARGO_TARGET_DIR is used as it is (the aarch64 build goes to its aarch64-unknown-linux-gnu/).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu

if ! rustup target list --installed | grep -qx "$TARGET"; then
  echo "== rustup target add $TARGET"
  rustup target add "$TARGET"
fi

need_apt=()
command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu)
[ -e "$SYSROOT/lib/libc.so" ] || need_apt+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

: "${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:=aarch64-linux-gnu-gcc}"
: "${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER:=qemu-aarch64 -L $SYSROOT}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER
# Tests that start a child process of their own test binary (the FOREST_KERNELS tests) run it
# through this, since the kernel cannot execute an aarch64 binary by itself here.
export FOREST_TEST_RUNNER="$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"

echo "== cargo test -p forest --release --target $TARGET"
echo "   runner: $CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
echo "   target dir: ${CARGO_TARGET_DIR:-target}"
cargo test -p forest --release --target "$TARGET" "$@"
