#!/usr/bin/env bash
# Prints every dependency that the quick start's build (`cargo build -p groves`) and the
# workspace's build (functions and tests included) both compile, but with different features.
# Each one is a dependency, with everything above it, that the two builds compile twice; the
# fix is to turn the feature on in shared/store/Cargo.toml's unification section.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# One line per crate: its name, then every feature set it is built with (a crate can be built
# twice, for the build scripts' host and for the target).
tree() {
  cargo tree "$@" -e normal,build -f '{p}|{f}' --prefix none 2>/dev/null \
    | grep -v '(/' | grep -v '^$' | sed 's/ (\*)$//' | sort -u \
    | awk -F'|' '{ s[$1] = s[$1] "[" $2 "]" } END { for (k in s) print k "|" s[k] }' | sort
}
drift=$(join -t '|' <(tree -p groves) <(tree --workspace) | awk -F'|' '$2 != $3')
if [ -n "$drift" ]; then
  echo "features differ (crate | quick start | workspace):"
  echo "$drift"
  exit 1
fi
echo "no drift: the quick start and the workspace build share every dependency"
