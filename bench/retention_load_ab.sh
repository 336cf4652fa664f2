#!/usr/bin/env bash
# Retention next to full start load, for A/B comparisons of workflow-engine binaries.
#
# Usage: bench/retention_load_ab.sh [-s seconds] [-r rounds] BINARY [BINARY...]
#   Each round runs every binary twice on a fresh node (bench/ab_node.sh): retention off,
#   then on (`finished-after = 1s`, `sweep-interval = 100ms`, `batch-size = 1000`, so the
#   sweeper purges what was started a second before while starts go on). Load: the
#   bench's c64 starts of a 1-step noop definition (wrk -t2 -c64, bench/workflow_start.lua)
#   for 3 s of warm-up, then `seconds` (default 10) measured. Prints starts/s, p50, p99
#   and the workflows purged (workflow_purged_total) during the whole run.
#   EXTRA="-Dkey=value ..." is passed to every node.
# Needs wrk and curl (bench/run_workflow_bench.sh installs wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/ab_node.sh
source bench/ab_node.sh
ab_parse_secs_rounds 10 1 "$@"
set -- "${ab_args[@]}"
base_extra=${EXTRA:-}
retention="-Dpekko.workflow.retention.finished-after=1s -Dpekko.workflow.retention.sweep-interval=100ms -Dpekko.workflow.retention.batch-size=1000"
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    for mode in off on; do
      EXTRA=$base_extra
      [[ $mode == on ]] && EXTRA="$base_extra $retention"
      ab_start_node "$bin" || continue
      WF_DEFINITION=d WF_PREFIX="w$round$RANDOM" wrk -t2 -c64 -d3s -s bench/workflow_start.lua \
        http://127.0.0.1:18080 >/dev/null 2>&1
      out=$(WF_DEFINITION=d WF_PREFIX="m$round$RANDOM" wrk -t2 -c64 -d"${secs}s" --latency \
        -s bench/workflow_start.lua http://127.0.0.1:18080 2>&1)
      purged=$(curl -s http://127.0.0.1:19095/metrics | awk '/^workflow_purged_total /{print $2}')
      ok=$(echo "$out" | sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p' | tail -1)
      printf '%s round %s retention %-3s: %s starts/s, p50 %s, p99 %s, purged %s\n' \
        "$(basename "$bin")" "$round" "$mode" "$((ok / secs))" \
        "$(echo "$out" | awk '/ 50%/{print $2}')" "$(echo "$out" | awk '/ 99%/{print $2}')" \
        "${purged:-0}"
      ab_stop_node
    done
  done
done
