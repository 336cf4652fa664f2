#!/usr/bin/env bash
# Durable starts per second for a 1-step and an N-step definition, for A/B comparisons of
# workflow-engine binaries: what a definition's size costs each start (the journal bytes
# a start writes, and everything that grows with them).
#
# Usage: bench/definition_size_ab.sh [-n steps] [-s seconds] [-r rounds] BINARY [BINARY...]
#   Per round, binary and definition: a fresh node (bench/ab_node.sh: 127.0.0.1 ports
#   18080/19095/25520, fsync on), a definition whose first step fails once and waits an
#   hour for its retry (the workflow stays RUNNING, as in part (e) of
#   run_workflow_bench.sh) plus n-1 noop steps that depend on it (default n = 100), then
#   the bench's start load (wrk -t2 -c64, bench/workflow_start.lua) for `seconds`
#   (default 8). Prints starts/s, the definition's JSON size and the journal's size on
#   disk per start (WAL plus flushed tables). EXTRA="-Dkey=value ..." reaches every node.
# Needs wrk, curl and python3.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
steps=100
secs=8
rounds=1
while getopts "n:s:r:" o; do
  case $o in
    n) steps=$OPTARG ;;
    s) secs=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || { sed -n '2,14p' "$0"; exit 2; }
command -v wrk >/dev/null || { echo "definition_size_ab: wrk missing (apt-get install wrk)" >&2; exit 1; }

# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh

definition() {  # name steps
  python3 - "$1" "$2" <<'PY'
import json, sys
name, n = sys.argv[1], int(sys.argv[2])
steps = [{"name": "a", "task": "fail", "input": {"times": 1},
          "retry": {"maxAttempts": 2, "initialIntervalMs": 3600000}}]
steps += [{"name": f"step-{i}", "task": "noop", "dependsOn": ["a"]} for i in range(1, n)]
print(json.dumps({"name": name, "steps": steps}))
PY
}

for ((round = 1; round <= rounds; round++)); do
  for bin in "$@"; do
    for n in 1 "$steps"; do
      ab_start_node "$bin" || continue
      definition "def$n" "$n" >"$ab_tmp"/def.json
      if ! curl -sf -XPOST -H 'Content-Type: application/json' \
        http://127.0.0.1:18080/api/v1/workflow-definitions -d @"$ab_tmp"/def.json >/dev/null; then
        echo "$(basename "$bin"): the definition was refused"
        ab_stop_node
        continue
      fi
      WF_DEFINITION="def$n" WF_PREFIX="r$round" wrk -t2 -c64 -d"${secs}s" \
        -s "$here"/workflow_start.lua http://127.0.0.1:18080 >"$ab_tmp"/wrk.txt 2>&1
      ok=$(sed -n 's/^starts_ok=\([0-9]*\).*/\1/p' "$ab_tmp"/wrk.txt)
      kb=$(du -sk "$ab_tmp"/run/journal | cut -f1)
      awk -v b="$(basename "$bin")" -v n="$n" -v d="$(wc -c <"$ab_tmp"/def.json)" -v ok="${ok:-0}" \
        -v s="$secs" -v kb="$kb" 'BEGIN {
          printf "%s: %3d-step definition (%d B): %8.0f starts/s, journal %.2f KB per start\n",
                 b, n, d, ok / s, (ok > 0 ? kb / ok : 0) }'
      ab_stop_node
    done
  done
done
