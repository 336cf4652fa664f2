#!/usr/bin/env bash
# What a restart costs a node full of RUNNING workflows that wait for a timer, for A/B
# comparisons of workflow-engine binaries.
#
# Usage: bench/restart_wake.sh [-s seconds] BINARY [BINARY...]
#   Per binary: a fresh node (bench/ab_node.sh: 127.0.0.1 ports 18080/19095/25520, fsync
#   on), a definition whose one step fails once and waits an hour for its retry, starts
#   for `seconds` (default 10; wrk -t2 -c32, bench/workflow_start.lua), 2 s for the
#   index to catch up, then kill -9 and a restart of the same binary on the same dirs.
#   Prints the workflows started, the seconds from the restart to /ready, the workflows
#   reconciliation passed to the waker (the node's log), and the active entities and RSS
#   1, 5 and 10 s after /ready. EXTRA="-Dkey=value ..." reaches every node.
# Needs wrk and curl.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=10
while getopts "s:" o; do
  case $o in
    s) secs=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || { sed -n '2,13p' "$0"; exit 2; }
command -v wrk >/dev/null || { echo "restart_wake: wrk missing (apt-get install wrk)" >&2; exit 1; }

# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
ab_log_level=info  # the reconciliation's line

active() { curl -s http://127.0.0.1:19095/metrics | awk '/^workflow_entities_active / {print $2}'; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' /proc/"$ab_node"/status; }

for bin in "$@"; do
  name=$(basename "$bin")
  ab_start_node "$bin" || continue
  curl -sf -XPOST -H 'Content-Type: application/json' \
    http://127.0.0.1:18080/api/v1/workflow-definitions -d '{"name":"idle","steps":[{"name":"w",
      "task":"fail","input":{"times":1},"retry":{"maxAttempts":2,"initialIntervalMs":3600000,
      "maxIntervalMs":3600000}}]}' >/dev/null || { echo "$name: defining failed"; ab_stop_node; continue; }
  out=$(WF_DEFINITION=idle WF_PREFIX=rw wrk -t2 -c32 -d"${secs}"s -s "$here"/workflow_start.lua \
    http://127.0.0.1:18080)
  started=$(sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p' <<<"$out")
  sleep 2
  kill -9 "$ab_node"
  wait "$ab_node" 2>/dev/null
  ab_node=""
  t0=$(date +%s%N)
  ab_ready_secs=120 ab_launch "$bin" || { echo "$name: no restart ($(tail -3 "$ab_tmp"/run/log))"; continue; }
  ready_ms=$((($(date +%s%N) - t0) / 1000000))
  line="$name: ${started:-?} RUNNING workflows; restart -> /ready $((ready_ms / 1000)).$(printf '%03d' $((ready_ms % 1000))) s"
  woken=$(sed -n 's/.*; \([0-9]*\) to recover$/\1/p' "$ab_tmp"/run/log | tail -1)
  line+=", woken at start: ${woken:-?}"
  for at in 1 5 10; do
    sleep $((at == 1 ? 1 : (at == 5 ? 4 : 5)))
    line+="; +${at}s: $(active) active, $(rss_mb) MB RSS"
  done
  echo "$line"
  ab_stop_node
done
