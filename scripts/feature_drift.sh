#!/usr/bin/env bash
# Prints every dependency that the quick start's build (`cargo build -p groves`) compiles with
# features the workspace's build (functions and tests included) does not compile it with.
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
# Drift: a feature set the quick start builds a crate with that the workspace does not (the
# workspace may build a crate once more, e.g. for a proc-macro only its own crates use: that
# costs that crate alone, and the quick start's build of it is still shared).
drift=$(join -t '|' <(tree -p groves) <(tree --workspace) | awk -F'|' '{
  n = split($2, sets, "]"); bad = 0
  for (i = 1; i < n; i++) if (index($3, sets[i] "]") == 0) bad = 1
  if (bad) print }')
if [ -n "$drift" ]; then
  echo "features differ (crate | quick start | workspace):"
  echo "$drift"
  exit 1
fi
echo "no drift: the quick start and the workspace build share every dependency"
