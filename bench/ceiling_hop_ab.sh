#!/usr/bin/env bash
# What the journal's thread hop costs a durable start, priced on the stack's ceiling:
# bench/start_ceiling with the write in its event loop (--journal-thread 0) and on a
# thread of its own (--journal-thread 1, as the engine's journal actor), interleaved.
#
# Usage: bench/ceiling_hop_ab.sh [-s seconds] [-r rounds] START_CEILING_BINARY
#   Each round runs a fresh ceiling (temp dir, 127.0.0.1:18090, --complete inline) per
#   mode under the bench's start load (wrk -t2 -c64, bench/workflow_start.lua) for
#   `seconds` (default 8) and prints starts/s, p99 and the process's CPU µs per start.
# Needs wrk and curl (bench/run_workflow_bench.sh installs wrk).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh  # ab_tmp (removed on exit) and the options
ab_parse_secs_rounds 8 4 "$@"
bin=${ab_args[0]}
pid=""
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; ab_cleanup' EXIT

for r in $(seq "$rounds"); do
  for mode in 0 1; do
    dir=$ab_tmp/ceiling-$r-$mode
    while ss -ltn | grep -q ":18090 "; do sleep 0.2; done
    "$bin" --dir "$dir" --port 18090 --complete inline --journal-thread "$mode" \
      >"$ab_tmp"/log 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      curl -s -o /dev/null http://127.0.0.1:18090/ && break
      sleep 0.05
    done
    t0=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
    out=$(WF_DEFINITION=d WF_PREFIX="h$r$mode" wrk -t2 -c64 -d"${secs}"s --latency \
      -s "$here"/workflow_start.lua http://127.0.0.1:18090)
    t1=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
    ok=$(sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p' <<<"$out")
    awk -v r="$r" -v m="$mode" -v ok="${ok:-0}" -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" \
      -v rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
      -v p99="$(awk '$1 == "99%" {print $2}' <<<"$out")" 'BEGIN {
        printf "round %s, journal %s: %s starts/s, p99 %s, %s starts, %s\n", r,
          (m == 1 ? "on its thread" : "in the loop  "), rps, p99, ok,
          (ok > 0 ? sprintf("%.1f us CPU per start", (b - a) * 1e6 / hz / ok) : "no 201s")
      }'
    kill "$pid"; wait "$pid" 2>/dev/null; pid=""
  done
done
