#!/usr/bin/env bash
# Instructions executed by the node PER WORKFLOW START (valgrind callgrind "Ir", every
# thread), for A/B comparisons of code-path changes. Unlike CPU time on this VM (±25 %
# between runs minutes apart) the count repeats within ~2 %. It does not see cache
# misses (RocksDB's skip-list inserts cost more in time than in instructions), so
# confirm a change that moves memory around with bench/start_cpu_ab.sh as well.
#
# Usage: bench/start_instructions.sh [-n starts] [-k dir] BINARY [BINARY...]
#   Per binary: a fresh node under callgrind (instrumentation off while it starts),
#   a 1-step noop definition, 40 warm-up starts, then `starts` (default 2000) starts
#   from 8 keep-alive clients with instrumentation on, 2 s for their completions.
#   -k dir keeps the callgrind files there (callgrind_annotate them).
#   EXTRA="-Dkey=value ..." is passed to every node. Ports 18080/19095/25520 on 127.0.0.1.
# Needs valgrind (apt-get install valgrind), curl and python3.
set -uo pipefail
n=2000
keep=""
while getopts "n:k:" o; do
  case $o in
    n) n=$OPTARG ;;
    k) keep=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || { sed -n '2,14p' "$0"; exit 2; }
command -v valgrind >/dev/null || { echo "start_instructions: valgrind missing (apt-get install valgrind)" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
ab_ready_secs=120  # valgrind starts slowly

# starts COUNT PREFIX: COUNT starts (unique ids) from 8 keep-alive clients; prints failures
starts() {
  python3 - "$1" "$2" <<'PY'
import http.client, sys, threading
count, prefix = int(sys.argv[1]), sys.argv[2]
bad = []
def run(t, k):
    c = http.client.HTTPConnection("127.0.0.1", 18080)
    for i in range(k):
        c.request("POST", "/api/v1/workflows",
                  body='{"id":"%s-%d-%d","definition":"d"}' % (prefix, t, i),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            bad.append(r.status)
threads = [threading.Thread(target=run, args=(t, count // 8)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if bad: print(f"{len(bad)} starts not answered 201, e.g. {bad[:3]}")
PY
}

for bin in "$@"; do
  dir=$ab_tmp/callgrind
  rm -rf "$dir" && mkdir -p "$dir"
  ab_start_node "$bin" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$dir"/cg.out || continue
  starts 40 warm
  callgrind_control -i on "$ab_node" >/dev/null 2>&1
  starts "$n" m
  sleep 2  # the started workflows complete
  callgrind_control -d "$ab_node" >/dev/null 2>&1
  callgrind_control -i off "$ab_node" >/dev/null 2>&1
  sleep 1
  ir=$(cat "$dir"/cg.out.* 2>/dev/null | awk '/^summary:/ { s += $2 } END { print s + 0 }')
  echo "$(basename "$bin"): $((ir / n)) instructions per start ($n starts)"
  if [[ -n $keep ]]; then mkdir -p "$keep" && cp "$dir"/cg.out.* "$keep"/; fi
  ab_stop_node
done
