#!/usr/bin/env bash
# Workflows whose steps all go through the task dispatcher, A/B: completions per second,
# node CPU and journal writes PER WORKFLOW, for workflow-engine binaries.
#
# Usage: bench/dispatched_chain_ab.sh [-s seconds] [-r rounds] BINARY [BINARY...]
#   Each round starts a fresh node per binary (bench/ab_node.sh: temp dir, 127.0.0.1,
#   fsync on), registers a 3-step chain of `sleep {"ms":0}` steps (a -> b -> c), starts
#   workflows with wrk -t2 -c64 for `seconds` (default 5), then waits until every started
#   one is COMPLETED (workflow_started_total = workflow_finished_total{COMPLETED}) and
#   prints: workflows, completions per second (first start -> last completion), node CPU
#   µs per workflow (/proc/<pid>/stat) and journal writes per workflow
#   (journal_write_seconds_count / workflows). EXTRA="-Dkey=value ..." reaches every node.
# Needs wrk, curl and python3.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
ab_parse_secs_rounds 5 3 "$@"
set -- "${ab_args[@]}"

metric() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }

run_one() {
  local bin=$1
  ab_start_node "$bin" || return
  curl -sf -XPOST -H 'Content-Type: application/json' \
    http://127.0.0.1:18080/api/v1/workflow-definitions -d '{"name":"chain","steps":[
      {"name":"a","task":"sleep","input":{"ms":0}},
      {"name":"b","task":"sleep","input":{"ms":0},"dependsOn":["a"]},
      {"name":"c","task":"sleep","input":{"ms":0},"dependsOn":["b"]}]}' >/dev/null
  local t0 s0 m started done_ writes t1 s1
  t0=$(awk '{print $14 + $15}' /proc/"$ab_node"/stat)
  s0=$(date +%s.%N)
  WF_DEFINITION=chain wrk -t2 -c64 -d"${secs}s" -s "$here"/workflow_start.lua \
    http://127.0.0.1:18080 >/dev/null 2>&1
  for _ in $(seq 1200); do  # at most 60 s
    m=$(curl -s http://127.0.0.1:19095/metrics)
    started=$(metric workflow_started_total "$m")
    done_=$(metric 'workflow_finished_total{status="COMPLETED"}' "$m")
    [[ -n $started && $started == "$done_" ]] && break
    sleep 0.05
  done
  s1=$(date +%s.%N)
  t1=$(awk '{print $14 + $15}' /proc/"$ab_node"/stat)
  writes=$(metric journal_write_seconds_count "$m")
  python3 - "$bin" "$done_" "$started" "$s0" "$s1" "$t0" "$t1" "$writes" "$(getconf CLK_TCK)" <<'PY'
import os, sys
b, done, started, s0, s1, t0, t1, writes, hz = sys.argv[1:]
n = float(done or 0)
if n == 0 or done != started:
    print(f"{os.path.basename(b)}: {done} of {started} completed within 60 s")
else:
    print(f"{os.path.basename(b)}: {n:.0f} workflows, {n / (float(s1) - float(s0)):.0f} completions/s, "
          f"node CPU {(float(t1) - float(t0)) * 1e6 / float(hz) / n:.1f} us and "
          f"{float(writes) / n:.2f} journal writes per workflow")
PY
  ab_stop_node
}

for ((r = 1; r <= rounds; ++r)); do
  for bin in "$@"; do run_one "$bin"; done
done
