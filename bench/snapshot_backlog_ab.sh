#!/usr/bin/env bash
# Whether the snapshot store keeps up with snapshot-heavy starts, for A/B comparisons of
# workflow-engine binaries.
#
# Usage: bench/snapshot_backlog_ab.sh [-s seconds] [-r rounds] BINARY [BINARY...]
#   Each round starts a fresh node per binary (bench/ab_node.sh) with
#   `event-sourcing.snapshot-every = 3` (every 1-step noop workflow takes one snapshot),
#   runs c64 starts (wrk -t2 -c64, bench/workflow_start.lua) for `seconds` (default 8),
#   then reads journal_snapshots_total every 0.5 s until it stops growing. Prints the
#   starts, p99, the snapshots saved when the load ended and how long the rest took.
#   EXTRA="-Dkey=value ..." is passed to every node.
# Needs wrk, curl and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/ab_node.sh
source bench/ab_node.sh
ab_parse_secs_rounds 8 1 "$@"
set -- "${ab_args[@]}"
EXTRA="${EXTRA:-} -Dpekko.workflow.event-sourcing.snapshot-every=3"
snapshots() { curl -s http://127.0.0.1:19095/metrics | awk '/^journal_snapshots_total /{print $2}'; }
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    ab_start_node "$bin" || continue
    out=$(WF_DEFINITION=d WF_PREFIX="w$round$RANDOM" wrk -t2 -c64 -d"${secs}s" --latency \
      -s bench/workflow_start.lua http://127.0.0.1:18080 2>&1)
    t0=$(date +%s.%N)
    at_end=$(snapshots)
    prev=-1
    cur=$at_end
    while [[ $cur != "$prev" ]]; do
      prev=$cur
      sleep 0.5
      cur=$(snapshots)
    done
    t1=$(date +%s.%N)
    printf '%s round %s: %s starts, p99 %s; snapshots saved when the load ended %s, in all %s, the rest within %.1f s\n' \
      "$(basename "$bin")" "$round" "$(echo "$out" | sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p' | tail -1)" \
      "$(echo "$out" | awk '/ 99%/{print $2}')" "$at_end" "$cur" "$(echo "$t1 - $t0 - 0.5" | bc)"
    ab_stop_node
  done
done
