#!/usr/bin/env bash
# One external worker, sequential, A/B: how long POST /api/v1/tasks/{token}/complete
# takes to answer, for workflow-engine binaries.
#
# Usage: bench/worker_complete_ab.sh [-n tasks] [-r rounds] BINARY [BINARY...]
#   Each round starts a fresh node per binary (bench/ab_node.sh), registers a 1-step
#   definition whose step is `queue:lat`, starts `tasks` workflows (default 1000), then
#   one worker polls and completes them one at a time over one keep-alive connection and
#   prints the complete's p50 and p99 and the poll + complete rate. Since 9d680a0 a
#   complete is answered once the workflow has journaled the result (one synced write).
#   EXTRA="-Dkey=value ..." reaches every node. Needs curl and python3.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab_node.sh
source "$here"/ab_node.sh
n=1000
rounds=2
while getopts "n:r:" o; do
  case $o in
    n) n=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || { sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 2; }

for ((r = 1; r <= rounds; ++r)); do
  for bin in "$@"; do
    ab_start_node "$bin" || continue
    printf '%s: ' "$(basename "$bin")"
    python3 - "$n" <<'PY'
import http.client, json, sys, time
n = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", 18080, timeout=10)
def call(method, path, body=None):
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)
call("POST", "/api/v1/workflow-definitions", {"name": "q", "steps": [{"name": "a", "task": "queue:lat"}]})
for i in range(n):
    st, b = call("POST", "/api/v1/workflows", {"id": f"w{i}", "definition": "q"})
    assert st == 201, (st, b)
lat, t0 = [], time.time()
for _ in range(n):
    st, task = call("POST", "/api/v1/tasks/poll", {"queue": "lat", "workerId": "x", "waitMs": 1000})
    assert st == 200, (st, task)
    a = time.perf_counter()
    st, b = call("POST", f"/api/v1/tasks/{task['token']}/complete", {"output": {}})
    lat.append(time.perf_counter() - a)
    assert st == 200, (st, b)
rate = n / (time.time() - t0)
lat.sort()
print(f"complete p50 {lat[n // 2] * 1e3:.3f} ms, p99 {lat[int(n * 0.99)] * 1e3:.3f} ms; "
      f"{rate:.0f} poll + complete per second")
PY
    ab_stop_node
  done
done
