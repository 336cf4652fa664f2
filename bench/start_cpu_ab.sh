#!/usr/bin/env bash
# Node CPU and context switches PER WORKFLOW START, per thread, for A/B comparisons of
# workflow-engine binaries. This VM's req/s drifts by ±25 % within minutes; CPU per start
# and per-thread splits are steadier, and interleaving A and B cancels most of the drift.
#
# Usage: bench/start_cpu_ab.sh [-s seconds] [-r rounds] BINARY [BINARY...]
#   Each round starts a fresh node per binary (temp dir, 127.0.0.1 ports 18080/19095/
#   25520, fsync on), registers a 1-step noop definition, runs the bench's start load
#   (wrk -t2 -c64, bench/workflow_start.lua) for `seconds` (default 8), then prints
#   req/s, p99 and, per thread, CPU µs, voluntary and involuntary switches per start,
#   and the µs per start the thread waited runnable for a CPU (runq, /proc schedstat).
#   EXTRA="-Dkey=value ..." is passed to every node.
# Needs wrk and curl (bench/run_workflow_bench.sh installs wrk).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
ab_parse_secs_rounds 8 2 "$@"
set -- "${ab_args[@]}"

# "tid comm ticks voluntary involuntary runq-wait-ns" for every thread of $ab_node
threads() {
  for t in /proc/"$ab_node"/task/*; do
    printf '%s %s %s %s %s\n' "$(basename "$t")" "$(tr ' ' _ <"$t"/comm)" \
      "$(awk '{print $14 + $15}' "$t"/stat)" \
      "$(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v, n}' "$t"/status)" \
      "$(awk '{print $2}' "$t"/schedstat 2>/dev/null || echo 0)"
  done | sort
}

run_one() {
  local bin=$1
  ab_start_node "$bin" || return
  threads >"$ab_tmp"/before
  local cpu0
  cpu0=$(head -1 /proc/stat)
  local out
  out=$(WF_DEFINITION=d WF_PREFIX=ab wrk -t2 -c64 -d"${secs}"s --latency \
    -s "$here"/workflow_start.lua http://127.0.0.1:18080)
  local cpu1
  cpu1=$(head -1 /proc/stat)
  sleep 0.5  # the started workflows complete
  threads >"$ab_tmp"/after
  local ok rps p99
  ok=$(sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$(basename "$bin"): ${rps} starts/s, p99 ${p99}, ${ok} starts"
  join "$ab_tmp"/before "$ab_tmp"/after | awk -v ok="${ok:-0}" -v hz="$(getconf CLK_TCK)" '
    ok > 0 {
      # fields: tid comm ticks vol invol runq-ns, then comm ticks vol invol runq-ns after
      cpu = ($8 - $3) * 1e6 / hz / ok; v = ($9 - $4) / ok; n = ($10 - $5) / ok
      w = ($11 - $6) / 1e3 / ok
      tc += cpu; tv += v; tn += n; tw += w
      if (cpu >= 0.5) printf "  %-8s %-16s %7.1f us  vol %5.2f  invol %5.2f  runq %6.1f us\n", $1, $2, cpu, v, n, w
    }
    END { if (ok > 0) printf "  total                     %7.1f us  vol %5.2f  invol %5.2f  runq %6.1f us\n", tc, tv, tn, tw }'
  # The whole machine over the wrk run (/proc/stat, all CPUs): idle and iowait, and the
  # CPU spent outside the node per start (wrk, softirqs, anything else running).
  awk -v a="$cpu0" -v b="$cpu1" -v ok="${ok:-0}" -v hz="$(getconf CLK_TCK)" -v node="$(join "$ab_tmp"/before "$ab_tmp"/after | awk '{t += $8 - $3} END {print t}')" '
    BEGIN {
      split(a, x); split(b, y); tot = 0
      for (i = 2; i <= 11; ++i) tot += y[i] - x[i]
      idle = y[5] - x[5]; io = y[6] - x[6]
      if (tot > 0 && ok > 0)
        printf "  machine: idle %.0f %%, iowait %.0f %%; outside the node %.1f us per start\n", 100 * idle / tot, 100 * io / tot, (tot - idle - io - node) * 1e6 / hz / ok
    }'
  ab_stop_node
}

for ((r = 1; r <= rounds; ++r)); do
  for bin in "$@"; do run_one "$bin"; done
done
