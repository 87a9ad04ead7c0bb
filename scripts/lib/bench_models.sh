# Sourced by the whole-search benchmarks: what happens to their runs' final groves (about
# 0.4 GB per full-size symbol and run). By default the runs promote nothing and their groves
# are deleted once the tables are read; KEEP_MODELS=1 keeps and promotes them.

# The `groves run` arguments for that, in the array PROMOTE.
PROMOTE=(--no-promote)
[ "${KEEP_MODELS:-}" = 1 ] && PROMOTE=()

# drop_models DIR RUN…: deletes the runs' groves from the store folder DIR, unless kept.
drop_models() {
  [ "${KEEP_MODELS:-}" = 1 ] && return 0
  local dir="$1" run
  shift
  for run in "$@"; do rm -rf "$dir/models/run=$run"; done
}
