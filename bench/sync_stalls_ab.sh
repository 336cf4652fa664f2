#!/usr/bin/env bash
# WAL-sync stalls of the journal under the bench's start load, for A/B comparisons of
# settings (or binaries): how often one synced journal write takes long, and what wrk
# sees of it.
#
# Usage: bench/sync_stalls_ab.sh [-r rounds] [-s seconds] BINARY [SETTING...]
#   SETTING: -D options for the node, e.g.
#     "-Dpekko.persistence.journal.rocksdb.bytes-per-sync=0" "" (the defaults)
#   Per round and setting (interleaved): a fresh node (bench/ab_node.sh: 127.0.0.1 ports
#   18080/19095/25520, fsync on), wrk -t2 -c64 for `seconds` (default 20), then wrk -t1
#   -c1 for 10 s (bench/workflow_start.lua, the 1-step noop definition), then the node's
#   journal_sync_seconds histogram. Prints starts/s, p99 and max latency of both wrk runs,
#   and the synced writes in all and over 3.2 ms and 12.8 ms.
# Needs wrk and curl.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
ab_parse_secs_rounds 20 1 "$@"
set -- "${ab_args[@]}"
bin=$1
shift
(($# > 0)) || set -- ""

# The histogram's cumulative count at bucket `le` (journal_metrics: 50 us * 2^k).
bucket() { awk -v le="$2" '$0 ~ "le=\"" le "\"" {print $2}' <<<"$1"; }

for ((r = 1; r <= rounds; ++r)); do
  for setting in "$@"; do
    EXTRA=$setting ab_start_node "$bin" >/dev/null || continue
    a=$(WF_DEFINITION=d WF_PREFIX=s64 wrk -t2 -c64 -d"${secs}"s --latency \
      -s "$here"/workflow_start.lua http://127.0.0.1:18080)
    b=$(WF_DEFINITION=d WF_PREFIX=s1 wrk -t1 -c1 -d10s --latency \
      -s "$here"/workflow_start.lua http://127.0.0.1:18080)
    m=$(curl -s http://127.0.0.1:19095/metrics | grep '^journal_sync_seconds')
    total=$(awk '/_count/ {print $2}' <<<"$m")
    over3=$((total - $(bucket "$m" 0.0032)))
    over12=$((total - $(bucket "$m" 0.0128)))
    printf '%-50s c64 %6.0f/s p99 %-8s max %-8s | c1 p99 %-8s max %-8s | syncs %s, >3.2ms %d, >12.8ms %d\n' \
      "${setting:-(defaults)}" "$(awk '/Requests\/sec/ {print $2}' <<<"$a")" \
      "$(awk '$1 == "99%" {print $2}' <<<"$a")" "$(awk '/Latency / {print $4}' <<<"$a")" \
      "$(awk '$1 == "99%" {print $2}' <<<"$b")" "$(awk '/Latency / {print $4}' <<<"$b")" \
      "$total" "$over3" "$over12"
    ab_stop_node
  done
done
