#!/usr/bin/env bash
# What a node keeps on disk after a burst of starts, and how long a kill -9 restart then
# takes, for A/B comparisons of workflow-engine binaries (or settings, through EXTRA).
#
# Usage: bench/restart_after_load_ab.sh [-s seconds] [-r rounds] BINARY [BINARY...]
#   Per round and binary: a fresh node (bench/ab_node.sh: 127.0.0.1 ports 18080/19095/
#   25520, fsync on), the bench's c64 start load (wrk -t2 -c64, 1-step noop) for
#   `seconds` (default 40), then the journal directory: its size, its WAL files (those
#   kept for live copies included), the bytes of deleted files it keeps for live copies
#   (rocksdb_deleted_files_kept_bytes; n/a for binaries without it);
#   then kill -9, the page cache dropped when running as root, and a restart of the same
#   binary on the same directories: the seconds to /ready. EXTRA="-Dkey=value ..."
#   reaches every node.
# Needs wrk and curl.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
ab_parse_secs_rounds 40 1 "$@"
set -- "${ab_args[@]}"

kept_bytes() {
  curl -s http://127.0.0.1:19095/metrics |
    awk '/^rocksdb_deleted_files_kept_bytes\{db="journal"\}/ {printf "%.0f", $2 / 1048576}'
}

for ((round = 1; round <= rounds; round++)); do
  for bin in "$@"; do
    name=$(basename "$bin")
    ab_start_node "$bin" || continue
    out=$(WF_DEFINITION=d WF_PREFIX=rl wrk -t2 -c64 -d"${secs}"s -s "$here"/workflow_start.lua \
      http://127.0.0.1:18080)
    ok=$(sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p' <<<"$out")
    journal=$ab_tmp/run/journal
    size_mb=$(du -sm "$journal" | cut -f1)
    wals=$(find "$journal" -name '*.log' | wc -l)
    wal_mb=$(find "$journal" -name '*.log' -printf '%s\n' | awk '{t += $1} END {printf "%.0f", t / 1048576}')
    kept=$(kept_bytes)
    kill -9 "$ab_node"
    wait "$ab_node" 2>/dev/null
    ab_node=""
    sync
    [[ $(id -u) == 0 ]] && echo 3 >/proc/sys/vm/drop_caches
    t0=$(date +%s.%N)
    if ab_ready_secs=300 ab_launch "$bin"; then
      ready=$(echo "$(date +%s.%N) - $t0" | bc)
    else
      ready="n/a (not ready in 300 s)"
    fi
    echo "$name: ${ok:-0} starts; journal ${size_mb} MB, ${wals} WAL files (${wal_mb} MB)," \
      "${kept:-n/a} MB kept for live copies; kill -9 -> /ready in ${ready} s"
    ab_stop_node
  done
done
