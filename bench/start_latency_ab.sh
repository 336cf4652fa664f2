#!/usr/bin/env bash
# Tail latency, io-thread lag and page faults of the c64 start load, for A/B comparisons
# of workflow-engine binaries (or of settings: pass a wrapper script that adds -D...).
#
# Usage: bench/start_latency_ab.sh [-s seconds] [-r rounds] BINARY [BINARY...]
#   Each round starts a fresh node per binary (bench/ab_node.sh), runs wrk -t2 -c64 for
#   `seconds` (default 10) with bench/workflow_start.lua, then prints starts/s, wrk's p99
#   and max, the API server's http_io_loop_lag_seconds (samples, how many were over 10 /
#   25 / 50 ms, their sum: did the io threads stall?), the node's minor page faults and
#   CPU µs per start (/proc/<pid>/stat). EXTRA="-Dkey=value ..." is passed to every node.
# Needs wrk and curl (bench/run_workflow_bench.sh installs wrk).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
ab_parse_secs_rounds 10 2 "$@"
set -- "${ab_args[@]}"

tick=$(getconf CLK_TCK)

# "minflt cpu-ticks" of the node
node_stat() { awk '{print $10, $14 + $15}' /proc/"$ab_node"/stat; }

run_one() {
  local bin=$1
  ab_start_node "$bin" || return
  local f0 c0 f1 c1 out
  read -r f0 c0 < <(node_stat)
  out=$(WF_DEFINITION=d WF_PREFIX=ab wrk -t2 -c64 -d"${secs}"s --latency \
    -s "$here"/workflow_start.lua http://127.0.0.1:18080)
  read -r f1 c1 < <(node_stat)
  local lag
  lag=$(curl -s http://127.0.0.1:19095/metrics | grep '^http_io_loop_lag_seconds' |
    grep 'server="api"')
  ab_stop_node
  awk -v name="$(basename "$bin")" -v f="$((f1 - f0))" -v c="$((c1 - c0))" -v tick="$tick" '
    FNR == NR {
      if ($0 ~ /requests in/) n = $1
      if ($1 == "Requests/sec:") rps = $2
      if ($1 == "99%") p99 = $2
      if ($1 == "Latency" && $2 != "Distribution") max = $4
      next
    }
    /_count/ { count = $2 }
    /_sum/ { sum = $2 }
    /le="0.01"/ { le10 = $2 }
    /le="0.025"/ { le25 = $2 }
    /le="0.05"/ { le50 = $2 }
    END {
      if (n == 0) { printf "%s: no requests answered\n", name; exit }
      printf "%s: %.0f starts/s, p99 %s, max %s | io lag: %d samples, >10ms %d, >25ms %d, >50ms %d, sum %.3f s | %.3f faults, %.1f us CPU per start\n",
        name, rps, p99, max, count, count - le10, count - le25, count - le50, sum,
        f / n, c * 1e6 / tick / n
    }' <(echo "$out") <(echo "$lag")
}

for ((r = 1; r <= rounds; ++r)); do
  for bin in "$@"; do run_one "$bin"; done
done
