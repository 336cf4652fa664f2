#!/usr/bin/env bash
# Node CPU per workflow that carries a LARGE PAYLOAD through many steps, for A/B comparisons
# of workflow-engine binaries: what a workflow's state costs each command (decide works on
# a copy of the state) and each event (its payload applied to the state).
#
# Usage: bench/payload_cpu.sh [-w workflows] [-s steps] [-i items] [-r rounds] BINARY [BINARY...]
#   Per round and binary: a fresh node (bench/ab_node.sh: 127.0.0.1 ports 18080/19095/
#   25520), a chain of `steps` (default 20) `sleep 0` steps, then `workflows` (default 20)
#   starts sent at once, each with an input of `items` (default 3500, ~230 KB of JSON:
#   objects of a number, a string, a 2-element array and a float) and waits until every
#   one is COMPLETED. Prints the wall time and the node's CPU (user + system, from
#   /proc/<pid>/stat) per workflow. EXTRA="-Dkey=value ..." is passed to every node.
# Needs curl and python3.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
workflows=20
steps=20
items=3500
rounds=2
while getopts "w:s:i:r:" o; do
  case $o in
    w) workflows=$OPTARG ;;
    s) steps=$OPTARG ;;
    i) items=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || { sed -n '2,14p' "$0"; exit 2; }

# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh

python3 - "$ab_tmp" "$workflows" "$steps" "$items" <<'PY'
import json, sys
tmp, workflows, steps, items = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
chain = [{"name": "s0", "task": "sleep", "input": {"ms": 0}}]
chain += [{"name": f"s{i}", "task": "sleep", "input": {"ms": 0}, "dependsOn": [f"s{i - 1}"]}
          for i in range(1, steps)]
open(f"{tmp}/definition.json", "w").write(json.dumps({"name": "chain", "steps": chain}))
payload = {"items": [{"k": i, "name": f"item-{i}", "tags": ["a", "b"], "v": i * 0.5}
                     for i in range(items)]}
for w in range(workflows):
    open(f"{tmp}/start-{w}.json", "w").write(
        json.dumps({"id": f"big-{w}", "definition": "chain", "input": payload}))
PY
echo "input: $(stat -c %s "$ab_tmp"/start-0.json) bytes per start, $steps steps, $workflows workflows"

completed() {
  curl -s "http://127.0.0.1:18080/api/v1/workflows?status=COMPLETED&limit=1000" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))' 2>/dev/null || echo 0
}

run_one() {
  local bin=$1
  ab_start_node "$bin" || return
  curl -sf -XPOST -H 'Content-Type: application/json' --data-binary @"$ab_tmp"/definition.json \
    http://127.0.0.1:18080/api/v1/workflow-definitions >/dev/null ||
    { echo "$(basename "$bin"): the definition was refused"; ab_stop_node; return; }
  local cpu0 cpu1 t0 t1 n=0 clients=()
  cpu0=$(awk '{print $14 + $15}' /proc/"$ab_node"/stat)
  t0=$(date +%s%N)
  for ((w = 0; w < workflows; ++w)); do
    curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' \
      --data-binary @"$ab_tmp"/start-$w.json http://127.0.0.1:18080/api/v1/workflows &
    clients+=($!)
  done
  wait "${clients[@]}"
  for _ in $(seq 600); do
    n=$(completed)
    ((n >= workflows)) && break
    sleep 0.1
  done
  t1=$(date +%s%N)
  cpu1=$(awk '{print $14 + $15}' /proc/"$ab_node"/stat)
  awk -v b="$(basename "$bin")" -v n="$n" -v w="$workflows" -v ms=$(((t1 - t0) / 1000000)) \
    -v cpu=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%s: %d/%d COMPLETED in %d ms, node CPU %.1f ms per workflow\n", b, n, w, ms, cpu * 1000 / hz / w }'
  ab_stop_node
}

for ((r = 1; r <= rounds; ++r)); do
  for bin in "$@"; do run_one "$bin"; done
done
