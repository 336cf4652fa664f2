#!/usr/bin/env bash
# Workflow benchmarks of issue #4, next to two peers measured in the same run (same
# disk, same load):
#   (a) Redis 7, AOF with appendfsync always: redis-benchmark -t lpush -c 50 -> ops/s
#   (b) nginx serving a 2-byte static file: wrk -t2 -c64 -> req/s
#   (c) durable workflow starts (POST /api/v1/workflows, 1-step noop definition, unique
#       ids): wrk -t2 -c64 --latency and wrk -t1 -c1 --latency -> starts/s, p50, p99,
#       ratios to (a) and (b); goals >= 0.5 x Redis, p50 <= 1 ms at 1 connection,
#       p99 <= 10 ms at 64
#   (c') the same starts at 64 connections of a 1-step workflow whose task goes through
#       the dispatcher (sleep 0 ms): a noop runs inside its start's write (inline-noop)
#   (d) 3-step noop workflows completed per second, and (d') 3-step sleep-0 workflows
#       (every step through the dispatcher)
#   (e) memory per active and per passivated RUNNING workflow (its step waits for a
#       retry an hour away): heap in use minus RocksDB memtables, and RSS as an upper
#       bound; goal <= 2 KB per active workflow
#   (f) the same starts against Restate 1.7 (a keyed virtual object; npm, pinned versions,
#       cached in ~/.cache/wfe-bench/restate): starts/s, p50/p99, and our ratio to it
#   (g) the ceiling of this stack: bench/start_ceiling (the same start as one Asio thread
#       writing our RocksDB journal, no actors, no index) under the same wrk runs as (c);
#       then at 64 connections with --complete inline (the noop's whole run journaled in
#       the start's write, as the engine does; --complete 1 journals it in a later write)
#   (h) PAIRS (default 3) interleaved pairs: Redis (a), then a fresh node's c64 starts (c);
#       each pair's ratio and their median, the ratio least moved by the VM's drift
# A part that cannot run prints "n/a: <reason>" and the rest goes on.
#
# Usage: bench/run_workflow_bench.sh [build dir (default build-wfbench)] [seconds (default 10)]
#   WFE_BINARY=path  use this workflow-engine binary instead of building one
#   MEM_WORKFLOWS=N  workflows started for (e) (default 20000)
#   RESTATE=0        skip (f);  RESTATE_CACHE=dir  where its npm packages go
#   PAIRS=N          interleaved pairs for (h) (default 3; 0 skips)
# Installs wrk, redis-server, redis-tools and nginx (and nodejs/npm for (f)) with apt-get
# when missing, Restate's server and SDK with npm; builds
# workflow-engine RelWithDebInfo in the build dir; binds 127.0.0.1 only; uses a temp dir;
# kills everything it started on exit.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build-wfbench}
secs=${2:-10}
mem_n=${MEM_WORKFLOWS:-20000}

tmp=$(mktemp -d /tmp/workflow-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { echo "== $*" >&2; }
declare -A fig  # figures for the summary; "n/a: reason" when a part failed

# ---- tools ---------------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v nginx >/dev/null || need+=(nginx)
if ((${#need[@]})); then
  note "installing ${need[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  # Packages' postinst scripts may try to start the services: keep them off.
  printf '#!/bin/sh\nexit 101\n' >"$tmp/policy-rc.d"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    $sudo install -m 755 "$tmp/policy-rc.d" /usr/sbin/policy-rc.d && policy_installed=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" \
    >"$tmp/apt.log" 2>&1 ||
    { $sudo apt-get update -q >/dev/null 2>&1;
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        "${need[@]}" >"$tmp/apt.log" 2>&1; } || tail -5 "$tmp/apt.log" >&2
  [[ -n ${policy_installed:-} ]] && $sudo rm -f /usr/sbin/policy-rc.d
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wrk --latency output -> "rps p50_ms p99_ms"
wrk_figures() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                     if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    END { printf "%s %s %s\n", rps, p50, p99 }'
}

# ---- (a) Redis LPUSH, AOF always -------------------------------------------------------
# redis_lpush: a fresh redis-server (AOF, appendfsync always) under redis-benchmark -t lpush
# -c 50 -n 300000; prints its ops/s (nothing if it printed no figure).
redis_lpush() {
  local port rp ops
  port=$(free_port)
  rm -rf "$tmp/redis" && mkdir -p "$tmp/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
    --appendfsync always --save "" --protected-mode yes >"$tmp/redis.log" 2>&1 &
  rp=$!
  pids+=("$rp")
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  ops=$(redis-benchmark -p "$port" -t lpush -c 50 -n 300000 -q 2>&1 | tr '\r' '\n' |
    awk '/^LPUSH:/ { print $2 }' | tail -1)
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
  wait "$rp" 2>/dev/null
  echo "$ops"
}
have_redis=0
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  have_redis=1
  note "redis $(redis-server --version | awk "{print \$3}" | sed "s/v=//") appendfsync always: redis-benchmark -t lpush -c 50 -n 300000"
  redis_ops=$(redis_lpush)
  [[ -n $redis_ops ]] && fig[redis]="$redis_ops" || fig[redis]="n/a: redis-benchmark printed no figure"
else
  fig[redis]="n/a: redis-server/redis-benchmark not installed"
fi

# ---- (b) nginx static file ------------------------------------------------------------
nginx_rps=""
if command -v nginx >/dev/null && command -v wrk >/dev/null; then
  port=$(free_port)
  mkdir -p "$tmp/nginx/www" "$tmp/nginx/tmp"
  printf 'ok' >"$tmp/nginx/www/x.txt"
  cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/tmp; proxy_temp_path $tmp/nginx/tmp;
  fastcgi_temp_path $tmp/nginx/tmp; uwsgi_temp_path $tmp/nginx/tmp; scgi_temp_path $tmp/nginx/tmp;
  server { listen 127.0.0.1:$port; root $tmp/nginx/www; }
}
EOF
  nginx -c "$tmp/nginx/nginx.conf" -g 'daemon off;' >"$tmp/nginx.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/x.txt" >/dev/null && break; sleep 0.1; done
  note "nginx static file: wrk -t2 -c64 -d${secs}s"
  nginx_rps=$(wrk -t2 -c64 -d"${secs}s" --latency "http://127.0.0.1:$port/x.txt" | tee "$tmp/nginx.wrk" |
    wrk_figures | awk '{print $1}')
  kill "${pids[-1]}" 2>/dev/null
  [[ -n $nginx_rps ]] && fig[nginx]="$nginx_rps" || fig[nginx]="n/a: wrk printed no figure"
else
  fig[nginx]="n/a: nginx/wrk not installed"
fi

# ---- the engine ------------------------------------------------------------------------
bin=${WFE_BINARY:-}
if [[ -z $bin ]]; then
  note "building workflow-engine (RelWithDebInfo) in $build"
  if cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/cmake.log" 2>&1 &&
    ninja -C "$build" -j2 workflow-engine >"$tmp/build.log" 2>&1; then
    bin="$build/engine/workflow-engine"
  else
    tail -20 "$tmp/cmake.log" "$tmp/build.log" >&2
  fi
fi

node_pid=""
node_port=""
metrics_port=""
# start_node <data dir> [extra -D flags...]: starts a node, waits until /ready is 200.
start_node() {
  local data=$1; shift
  node_port=$(free_port); metrics_port=$(free_port)
  local transport; transport=$(free_port)
  "$bin" -Dpekko.workflow.logging.level=warn \
    -Dpekko.remote.artery.canonical.hostname=127.0.0.1 \
    -Dpekko.remote.artery.canonical.port="$transport" -Dpekko.cluster.seed-nodes=[] \
    -Dpekko.workflow.http.interface=127.0.0.1 -Dpekko.workflow.http.port="$node_port" \
    -Dpekko.workflow.metrics.interface=127.0.0.1 -Dpekko.workflow.metrics.port="$metrics_port" \
    -Dpekko.persistence.journal.rocksdb.dir="$data/journal" \
    -Dpekko.persistence.snapshot-store.rocksdb.dir="$data/snapshots" "$@" \
    >"$data.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$node_port/ready" >/dev/null && return 0
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -5 "$data.log" >&2
  return 1
}
stop_node() { kill "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; node_pid=""; }
api() {  # api METHOD PATH [BODY] -> prints "status body"
  curl -s -o "$tmp/body" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$node_port$2"
  printf ' '; cat "$tmp/body"
}
define() {  # define NAME STEPS_JSON -> 0 when 201
  local r; r=$(api POST /api/v1/workflow-definitions "{\"name\":\"$1\",\"steps\":$2}")
  [[ $r == 201* ]] && return 0
  echo "define $1: $r" >&2; return 1
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
started_total() {  # the node's workflow_started_total (persisted WorkflowStarted events)
  curl -s "http://127.0.0.1:$metrics_port/metrics" |
    awk '/^workflow_started_total / { printf "%.0f", $2; f = 1 } END { if (!f) print -1 }'
}
# starts one wrk run of workflow_start.lua; sets wrk_rps wrk_p50 wrk_p99 wrk_ok wrk_bad
run_starts() {  # run_starts THREADS CONNS SECONDS DEFINITION PREFIX
  local out before after
  before=$(started_total)
  out=$(WF_DEFINITION=$4 WF_PREFIX=$5 wrk -t"$1" -c"$2" -d"$3s" --latency \
    -s "$here/workflow_start.lua" "http://127.0.0.1:$node_port" 2>&1)
  echo "$out" >"$tmp/wrk-$5.txt"
  read -r wrk_rps wrk_p50 wrk_p99 < <(echo "$out" | wrk_figures)
  wrk_ok=$(echo "$out" | sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p')
  wrk_bad=$(echo "$out" | sed -n 's/.*starts_bad=\([0-9]*\).*/\1/p')
  wrk_first_bad=$(echo "$out" | sed -n 's/.*first_bad=//p')
  # wrk counts the answers (workflow_start.lua keeps no per-response Lua): every start it
  # counts ok must be a WorkflowStarted the node persisted. More may be (starts still in
  # flight when wrk stopped); fewer is a bench failure, and the figure is not reported.
  sleep 0.2
  after=$(started_total)
  if ((before >= 0 && after >= 0 && after - before < ${wrk_ok:-0})); then
    note "  wrk counted ${wrk_ok} ok starts but the node persisted only $((after - before))"
    wrk_first_bad="node persisted $((after - before)) starts, wrk counted ${wrk_ok} ok"
    wrk_ok=0
  fi
  # wrk's req/s counts every answer; the figure is the share of them that started one.
  wrk_rps=$(awk -v r="$wrk_rps" -v ok="${wrk_ok:-0}" -v bad="${wrk_bad:-0}" \
    'BEGIN { t = ok + bad; printf "%.0f", (t > 0 ? r * ok / t : 0) }')
}
# count of workflows of a definition with a status, by walking the paginated list
count_status() {  # count_status STATUS DEFINITION
  python3 - "$node_port" "$1" "$2" <<'PY'
import json, sys, urllib.request, urllib.parse
port, status, definition = sys.argv[1:]
n, cursor = 0, None
while True:
    q = {"status": status, "definition": definition, "limit": "1000"}
    if cursor: q["cursor"] = cursor
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/workflows?" + urllib.parse.urlencode(q)) as r:
        page = json.load(r)
    n += len(page.get("items", []))
    cursor = page.get("nextCursor")
    if not cursor: break
print(n)
PY
}

if [[ -z $bin || ! -x $bin ]]; then
  for k in starts64 starts1 completions mem; do fig[$k]="n/a: no workflow-engine binary"; done
elif ! command -v wrk >/dev/null; then
  for k in starts64 starts1 completions mem; do fig[$k]="n/a: wrk not installed"; done
else
  # ---- (c) durable starts, (d) 3-step completions ----------------------------------------
  mkdir -p "$tmp/n1"
  if ! start_node "$tmp/n1"; then
    for k in starts64 starts1 completions; do fig[$k]="n/a: the node did not become ready"; done
  elif ! define bench1 '[{"name":"a","task":"noop"}]'; then
    for k in starts64 starts1 completions; do fig[$k]="n/a: POST /api/v1/workflow-definitions failed"; done
  else
    note "workflow starts: wrk -t2 -c64 -d${secs}s --latency (1-step noop)"
    run_starts 2 64 "$secs" bench1 c64
    if [[ ${wrk_ok:-0} -gt 0 ]]; then
      fig[starts64]="$wrk_rps $wrk_p50 $wrk_p99"
      [[ ${wrk_bad:-0} -gt 0 ]] && note "  $wrk_bad non-201 answers, first: $wrk_first_bad"
    else
      fig[starts64]="n/a: no 201 (first answer: ${wrk_first_bad:-none})"
    fi
    note "workflow starts: wrk -t1 -c1 -d${secs}s --latency"
    run_starts 1 1 "$secs" bench1 c1
    if [[ ${wrk_ok:-0} -gt 0 ]]; then
      fig[starts1]="$wrk_rps $wrk_p50 $wrk_p99"
    else
      fig[starts1]="n/a: no 201 (first answer: ${wrk_first_bad:-none})"
    fi

    # The same starts of a 1-step workflow whose task the dispatcher runs (sleep 0 ms):
    # noop steps run inside the start's own write (pekko.workflow.runtime.inline-noop).
    note "workflow starts, dispatched task: wrk -t2 -c64 -d${secs}s --latency (1-step sleep 0)"
    if define bench1d '[{"name":"a","task":"sleep","input":{"ms":0}}]'; then
      run_starts 2 64 "$secs" bench1d c64d
      if [[ ${wrk_ok:-0} -gt 0 ]]; then
        fig[starts64d]="$wrk_rps $wrk_p50 $wrk_p99"
      else
        fig[starts64d]="n/a: no 201 (first answer: ${wrk_first_bad:-none})"
      fi
    else
      fig[starts64d]="n/a: defining the sleep workflow failed"
    fi

    # completions NAME STEPS KEY: 5 s of starts of a 3-step workflow at 64 connections,
    # then waits until all are COMPLETED; sets fig[KEY] to "rate n seconds".
    completions() {
      if ! define "$1" "$2"; then
        fig[$3]="n/a: defining $1 failed"
        return
      fi
      local t0 t1 started done_n=0
      t0=$(date +%s.%N)
      run_starts 2 64 5 "$1" "$1"
      started=${wrk_ok:-0}
      for _ in $(seq 600); do  # at most ~120 s
        done_n=$(count_status COMPLETED "$1" 2>/dev/null || echo 0)
        [[ $done_n -ge $started ]] && break
        sleep 0.2
      done
      t1=$(date +%s.%N)
      if [[ $started -gt 0 && $done_n -ge $started ]]; then
        fig[$3]=$(awk -v n="$started" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f %d %.2f", n / (b - a), n, b - a }')
      else
        fig[$3]="n/a: $done_n of $started started workflows COMPLETED (first bad start: ${wrk_first_bad:-none})"
      fi
    }
    note "3-step noop workflows: wrk -t2 -c64 -d5s of starts, then until all COMPLETED"
    completions bench3 '[{"name":"a","task":"noop"},{"name":"b","task":"noop","dependsOn":["a"]},{"name":"c","task":"noop","dependsOn":["b"]}]' completions
    note "3-step sleep-0 workflows (every step through the dispatcher): the same"
    completions bench3d '[{"name":"a","task":"sleep","input":{"ms":0}},{"name":"b","task":"sleep","input":{"ms":0},"dependsOn":["a"]},{"name":"c","task":"sleep","input":{"ms":0},"dependsOn":["b"]}]' completionsd
  fi
  stop_node

  # ---- (e) memory per active / passivated workflow -------------------------------------
  # RSS is an upper bound (the allocator keeps freed pages; RocksDB's memtables grow with the
  # events written until they flush, up to write_buffer_size). The per-workflow figure
  # is the heap in use (jemalloc stats.allocated, process_heap_in_use_bytes) minus the memtables
  # (rocksdb_memtable_bytes), read once CAF's request timeouts of the starts have
  # expired (each pending timeout holds ~600 B for up to the 20 s ask timeout).
  mkdir -p "$tmp/n2"
  passivate=60
  settle=25
  # heap_memtables -> "heap_bytes memtable_bytes active_entities"
  heap_memtables() {
    curl -s "http://127.0.0.1:$metrics_port/metrics" | awk '
      /^process_heap_in_use_bytes / { h = $2 } /^rocksdb_memtable_bytes/ { m += $2 }
      /^workflow_entities_active / { a = $2 } END { printf "%.0f %.0f %.0f\n", h, m, a }'
  }
  if ! start_node "$tmp/n2" -Dpekko.cluster.sharding.passivate-idle-entity-after="${passivate}s"; then
    fig[mem]="n/a: the node did not become ready"
  # RUNNING workflows that are idle: the step failed once and waits for its retry an
  # hour away (a durable timer). An entity with a step queued or running (e.g. a queue:
  # step nobody polls) is kept alive by design and never passivates.
  elif ! define benchq '[{"name":"w","task":"fail","input":{"times":1},"retry":{"maxAttempts":2,"initialIntervalMs":3600000,"maxIntervalMs":3600000}}]'; then
    fig[mem]="n/a: defining the idle workflow failed"
  else
    sleep 1
    rss0=$(rss_kb "$node_pid")
    read -r heap0 mt0 _ < <(heap_memtables)
    note "memory: starting workflows that wait for a retry an hour away (rss before ${rss0} kB)"
    # Starts until ~MEM_WORKFLOWS (wrk runs of 2 s; the count is exact from the 201s).
    total=0
    for i in $(seq 20); do
      run_starts 2 16 2 benchq "m$i"
      total=$((total + ${wrk_ok:-0}))
      [[ $total -ge $mem_n || ${wrk_ok:-0} -eq 0 ]] && break
    done
    note "  $total started; waiting ${settle} s for request timeouts to expire"
    sleep "$settle"
    rss1=$(rss_kb "$node_pid")
    read -r heap1 mt1 active1 < <(heap_memtables)
    note "  rss ${rss1} kB, ${active1} active; waiting $((passivate + 15)) s for passivation"
    sleep $((passivate + 15))
    rss2=$(rss_kb "$node_pid")
    read -r heap2 mt2 active2 < <(heap_memtables)
    curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^workflow_.*(active|passivat)' \
      >"$tmp/metrics2" || true
    if [[ $total -gt 0 ]]; then
      fig[mem]=$(awk -v n="$total" -v a="$rss0" -v b="$rss1" -v c="$rss2" \
        -v h0="$heap0" -v h1="$heap1" -v h2="$heap2" -v m0="$mt0" -v m1="$mt1" -v m2="$mt2" \
        -v a1="$active1" -v a2="$active2" \
        'BEGIN { printf "%.0f %.0f %d %d %d %d %.0f %.0f %.0f %d %d", (b - a) * 1024 / n,
                 (c - a) * 1024 / n, n, a, b, c, ((h1 - h0) - (m1 - m0)) / n,
                 ((h2 - h0) - (m2 - m0)) / n, (m1 - m0) / n, a1, a2 }')
      [[ -s $tmp/metrics2 ]] && { note "  metrics after passivation:"; cat "$tmp/metrics2" >&2; }
    else
      fig[mem]="n/a: no workflow started (first answer: ${wrk_first_bad:-none})"
    fi
  fi
  stop_node
fi

# ---- (f) Restate side by side (optional) ------------------------------------------------
# The same start workload against Restate (a RocksDB-backed durable-execution server):
# bench/restate_service.mjs, a keyed virtual object whose start handler refuses an existing
# id and records the start in its state. Installed from npm at benchmark time into a cache
# dir (never vendored: its server is BSL-licensed); telemetry off; 127.0.0.1 only.
restate_part() {
  local dir=${RESTATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wfe-bench/restate}
  local server_pkg=@restatedev/restate-server-linux-x64@1.7.12 sdk_pkg=@restatedev/restate-sdk@1.17.2
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    note "installing nodejs npm (for Restate)"
    local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm \
      >"$tmp/apt-node.log" 2>&1 || { fig[restate]="n/a: nodejs/npm could not be installed"; return; }
  fi
  local server=$dir/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server
  if [[ ! -x $server || ! -d $dir/node_modules/@restatedev/restate-sdk ]]; then
    note "npm install $server_pkg $sdk_pkg into $dir"
    mkdir -p "$dir" && (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
      "$server_pkg" "$sdk_pkg" >"$tmp/npm.log" 2>&1) ||
      { tail -5 "$tmp/npm.log" >&2; fig[restate]="n/a: npm install of Restate failed"; return; }
  fi
  cp "$here/restate_service.mjs" "$dir/service.mjs"
  local svc_port ingress admin fabric
  svc_port=$(free_port); ingress=$(free_port); admin=$(free_port); fabric=$(free_port)
  (cd "$dir" && PORT=$svc_port exec node service.mjs) >"$tmp/restate-service.log" 2>&1 &
  pids+=($!)
  mkdir -p "$tmp/restate"
  (cd "$tmp/restate" && DO_NOT_TRACK=1 RESTATE_LISTEN_MODE=tcp \
    RESTATE_INGRESS__BIND_ADDRESS=127.0.0.1:$ingress RESTATE_ADMIN__BIND_ADDRESS=127.0.0.1:$admin \
    RESTATE_BIND_ADDRESS=127.0.0.1:$fabric RESTATE_ADVERTISED_ADDRESS=http://127.0.0.1:$fabric \
    exec "$server" --node-name bench --base-dir "$tmp/restate" --no-logo) \
    >"$tmp/restate-server.log" 2>&1 &
  pids+=($!)
  local registered=""
  for _ in $(seq 150); do
    if curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$admin/deployments" \
      -d "{\"uri\":\"http://127.0.0.1:$svc_port\"}" >/dev/null 2>&1; then
      registered=1; break
    fi
    sleep 0.2
  done
  if [[ -z $registered ]]; then
    tail -5 "$tmp/restate-server.log" "$tmp/restate-service.log" >&2
    fig[restate]="n/a: Restate did not start or the service could not be registered"; return
  fi
  # The first invocation creates the partition's state: wait for a 200.
  for _ in $(seq 100); do
    curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$ingress/wf/warmup/start" \
      -d '{}' >/dev/null 2>&1 && break
    sleep 0.2
  done
  note "Restate $("$server" --version | awk '{print $2}') starts: wrk -t2 -c64 and -t1 -c1, -d${secs}s"
  local out r64 r1
  out=$(WF_TARGET=restate WF_DEFINITION=bench1 WF_PREFIX=r64 wrk -t2 -c64 -d"${secs}s" --latency \
    -s "$here/workflow_start.lua" "http://127.0.0.1:$ingress" 2>&1)
  echo "$out" >"$tmp/wrk-restate64.txt"
  r64=$(echo "$out" | wrk_figures)
  local ok64; ok64=$(echo "$out" | sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p')
  out=$(WF_TARGET=restate WF_DEFINITION=bench1 WF_PREFIX=r1 wrk -t1 -c1 -d"${secs}s" --latency \
    -s "$here/workflow_start.lua" "http://127.0.0.1:$ingress" 2>&1)
  r1=$(echo "$out" | wrk_figures)
  local ok1; ok1=$(echo "$out" | sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p')
  if [[ ${ok64:-0} -gt 0 && ${ok1:-0} -gt 0 ]]; then
    fig[restate]="$r64 $r1"
  else
    fig[restate]="n/a: Restate answered no start with 200 ($(echo "$out" | sed -n 's/.*first_bad=//p'))"
  fi
}
if [[ ${RESTATE:-1} == 0 ]]; then
  fig[restate]="n/a: skipped (RESTATE=0)"
elif ! command -v wrk >/dev/null; then
  fig[restate]="n/a: wrk not installed"
else
  restate_part
fi

# ---- (g) the stack's ceiling ---------------------------------------------------------------
ceiling_part() {
  local cbin=${CEILING_BINARY:-}
  if [[ -z $cbin ]]; then
    if [[ -f $build/build.ninja ]] && ninja -C "$build" -j2 start_ceiling >"$tmp/ceiling-build.log" 2>&1; then
      cbin="$build/bench/start_ceiling"
    else
      fig[ceiling]="n/a: start_ceiling not built (no configured build dir $build)"; return
    fi
  fi
  local port; port=$(free_port)
  mkdir -p "$tmp/ceiling"
  local cpid
  # start_ceiling_at NAME [ARGS...]: a fresh start_ceiling on $port, answering; sets cpid.
  start_ceiling_at() {
    local name=$1; shift
    "$cbin" --dir "$tmp/ceiling/$name" --port "$port" "$@" >"$tmp/$name.log" 2>&1 &
    cpid=$!
    pids+=("$cpid")
    for _ in $(seq 100); do
      curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
      sleep 0.1
    done
  }
  start_ceiling_at ceiling
  note "ceiling (start_ceiling: one Asio thread + the journal): wrk -t2 -c64 and -t1 -c1, -d${secs}s"
  local out c64 c1 ok64 ok1
  out=$(WF_DEFINITION=bench1 WF_PREFIX=g64 wrk -t2 -c64 -d"${secs}s" --latency \
    -s "$here/workflow_start.lua" "http://127.0.0.1:$port" 2>&1)
  c64=$(echo "$out" | wrk_figures); ok64=$(echo "$out" | sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p')
  out=$(WF_DEFINITION=bench1 WF_PREFIX=g1 wrk -t1 -c1 -d"${secs}s" --latency \
    -s "$here/workflow_start.lua" "http://127.0.0.1:$port" 2>&1)
  c1=$(echo "$out" | wrk_figures); ok1=$(echo "$out" | sed -n 's/.*starts_ok=\([0-9]*\).*/\1/p')
  kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
  # The same loop writing what the engine's 1-step noop workflow writes: its whole run,
  # in the start's write (inline-noop).
  start_ceiling_at ceiling-complete --complete inline
  local cc64
  out=$(WF_DEFINITION=bench1 WF_PREFIX=gc64 wrk -t2 -c64 -d"${secs}s" --latency \
    -s "$here/workflow_start.lua" "http://127.0.0.1:$port" 2>&1)
  cc64=$(echo "$out" | wrk_figures)
  kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
  if [[ ${ok64:-0} -gt 0 && ${ok1:-0} -gt 0 ]]; then
    fig[ceiling]="$c64 $c1 ${cc64:-}"
  else
    fig[ceiling]="n/a: start_ceiling answered no 201 ($(tail -2 "$tmp/ceiling.log"))"
  fi
}
if command -v wrk >/dev/null; then ceiling_part; else fig[ceiling]="n/a: wrk not installed"; fi

# ---- (h) interleaved pairs: Redis, then the engine, PAIRS times -------------------------
# This VM's speed drifts by tens of percent within minutes, and (a) and (c) run minutes
# apart; each pair runs Redis and a fresh node's c64 starts back to back, and the median
# of the pairs' ratios is the figure least moved by that drift.
pairs_part() {
  local n=${PAIRS:-3} i r e out=""
  for ((i = 1; i <= n; ++i)); do
    note "pair $i of $n: redis LPUSH, then workflow starts c64 for ${secs}s on a fresh node"
    r=$(redis_lpush)
    mkdir -p "$tmp/p$i"
    e=""
    if start_node "$tmp/p$i" && define bench1 '[{"name":"a","task":"noop"}]'; then
      run_starts 2 64 "$secs" bench1 "h$i"
      [[ ${wrk_ok:-0} -gt 0 ]] && e=$wrk_rps
    fi
    stop_node
    rm -rf "$tmp/p$i"
    [[ -n $r && -n $e ]] && out+="$r $e "
  done
  [[ -n $out ]] && fig[pairs]="$out" || fig[pairs]="n/a: no pair measured"
}
if [[ ${PAIRS:-3} -eq 0 ]]; then
  fig[pairs]="n/a: skipped (PAIRS=0)"
elif [[ $have_redis -eq 0 || -z $bin || ! -x $bin ]] || ! command -v wrk >/dev/null; then
  fig[pairs]="n/a: needs redis, wrk and the workflow-engine binary"
else
  pairs_part
fi

# ---- summary ---------------------------------------------------------------------------
python3 - "${fig[redis]}" "${fig[nginx]}" "${fig[starts64]}" "${fig[starts1]}" \
  "${fig[completions]}" "${fig[mem]}" "${fig[restate]}" "${fig[ceiling]}" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "${fig[starts64d]:-n/a: not run}" \
  "${fig[completionsd]:-n/a: not run}" "${fig[pairs]:-n/a: not run}" <<'PY'
import json, statistics, sys
redis, nginx, s64, s1, comp, mem, restate, ceiling, cpus, load, s64d, compd, pairs = sys.argv[1:]
na = lambda v: v.startswith("n/a")
ok = lambda b: "met" if b else "MISSED"
out = {"cpus": int(cpus), "loadavg": load}
print()
print(f"machine: {cpus} cores, load average {load}")
print(f"(a) Redis LPUSH appendfsync always, 50 clients: {redis}" + ("" if na(redis) else " ops/s"))
print(f"(b) nginx static file, wrk -t2 -c64: {nginx}" + ("" if na(nginx) else " req/s"))
if not na(redis): out["redis_lpush_ops_s"] = float(redis)
if not na(nginx): out["nginx_req_s"] = float(nginx)
if na(s64):
    print(f"(c) workflow starts at 64 connections: {s64}")
else:
    rps, p50, p99 = map(float, s64.split())
    out.update(starts_s_c64=rps, p50_ms_c64=p50, p99_ms_c64=p99)
    print(f"(c) workflow starts, wrk -t2 -c64: {rps:.0f} starts/s, p50 {p50:.3f} ms, p99 {p99:.3f} ms "
          f"(goal p99 <= 10 ms: {ok(p99 <= 10)})")
    if not na(redis):
        r = rps / float(redis); out["ratio_redis"] = round(r, 3)
        print(f"    = {r:.2f} x Redis LPUSH (goal >= 0.5: {ok(r >= 0.5)})")
    if not na(nginx):
        r = rps / float(nginx); out["ratio_nginx"] = round(r, 3)
        print(f"    = {r:.2f} x nginx static")
if na(s1):
    print(f"    workflow starts at 1 connection: {s1}")
else:
    rps, p50, p99 = map(float, s1.split())
    out.update(starts_s_c1=rps, p50_ms_c1=p50, p99_ms_c1=p99)
    print(f"    wrk -t1 -c1: {rps:.0f} starts/s, p50 {p50:.3f} ms (goal <= 1 ms: {ok(p50 <= 1)}), p99 {p99:.3f} ms")
if na(s64d):
    print(f"(c') starts of a dispatched 1-step workflow (sleep 0): {s64d}")
else:
    rps, p50, p99 = map(float, s64d.split())
    out.update(starts_s_c64_dispatched=rps, p99_ms_c64_dispatched=p99)
    print(f"(c') starts of a 1-step sleep-0 workflow (its task on the dispatcher), wrk -t2 -c64: "
          f"{rps:.0f} starts/s, p50 {p50:.3f} ms, p99 {p99:.3f} ms"
          + ("" if na(redis) else f" = {rps / float(redis):.2f} x Redis LPUSH"))
for label, key, v in (("noop", "completions", comp), ("sleep-0 (dispatched)", "completions_dispatched", compd)):
    if na(v):
        print(f"(d) 3-step {label} completions: {v}")
    else:
        rate, n, secs = v.split()
        out.update({key + "_s": float(rate), key + "_n": int(n)})
        print(f"(d) 3-step {label} workflows: {n} started and COMPLETED in {float(secs):.1f} s = {float(rate):.0f} completions/s")
if na(mem):
    print(f"(e) memory: {mem}")
else:
    rss_active, rss_passive, n, a, b, c, active, passive, memtables, a1, a2 = map(float, mem.split())
    out.update(bytes_per_active=active, bytes_per_passivated=passive, mem_workflows=int(n),
               rss_bytes_per_active=rss_active, memtable_bytes_per_workflow=memtables)
    print(f"(e) {n:.0f} RUNNING workflows ({a1:.0f} entities active, then {a2:.0f} after passivation)")
    print(f"    heap minus memtables: {active:.0f} B per active workflow (goal <= 2048: "
          f"{ok(active <= 2048)}), {passive:.0f} B per passivated workflow")
    print(f"    RocksDB memtables grew {memtables:.0f} B per workflow (bounded by write_buffer_size)")
    print(f"    RSS {a:.0f} kB -> {b:.0f} kB -> {c:.0f} kB after passivation = {rss_active:.0f} B per "
          f"workflow (upper bound: includes memtables; the allocator keeps freed pages)")
if na(restate):
    print(f"(f) Restate: {restate}")
else:
    r64, p50_64, p99_64, r1, p50_1, p99_1 = map(float, restate.split())
    out.update(restate_s_c64=r64, restate_p99_ms_c64=p99_64, restate_s_c1=r1, restate_p50_ms_c1=p50_1)
    print(f"(f) Restate (same starts, its default durability), wrk -t2 -c64: {r64:.0f} starts/s, "
          f"p50 {p50_64:.3f} ms, p99 {p99_64:.3f} ms; wrk -t1 -c1: p50 {p50_1:.3f} ms")
    if not na(s64) and r64 > 0:
        r = float(s64.split()[0]) / r64; out["ratio_restate"] = round(r, 2)
        print(f"    workflow-engine starts = {r:.1f} x Restate at 64 connections")
if na(ceiling):
    print(f"(g) ceiling: {ceiling}")
else:
    g = list(map(float, ceiling.split()))
    g64, gp50, gp99, g1, g1p50, g1p99 = g[:6]
    out.update(ceiling_s_c64=g64, ceiling_p50_ms_c64=gp50, ceiling_p99_ms_c64=gp99,
               ceiling_p50_ms_c1=g1p50)
    print(f"(g) ceiling of this stack (one Asio thread + the RocksDB journal, no actors), wrk -t2 -c64: "
          f"{g64:.0f} starts/s, p50 {gp50:.3f} ms, p99 {gp99:.3f} ms; wrk -t1 -c1: p50 {g1p50:.3f} ms")
    def ratios(rate, key, what):  # the ceiling's ratio to Redis and ours to it
        if not na(redis):
            r = rate / float(redis); out[key + "_ratio_redis"] = round(r, 3)
            print(f"    = {r:.2f} x Redis LPUSH")
        if not na(s64) and rate > 0:
            r = float(s64.split()[0]) / rate; out["starts_to_" + key] = round(r, 3)
            print(f"    workflow-engine starts = {r:.2f} x {what}")
    ratios(g64, "ceiling", "the ceiling")
    if len(g) >= 9:
        gc64, gcp50, gcp99 = g[6:9]
        out.update(ceiling_complete_s_c64=gc64, ceiling_complete_p99_ms_c64=gcp99)
        print(f"    with each noop's whole run in the start's write (--complete inline), wrk -t2 -c64: "
              f"{gc64:.0f} starts/s, p50 {gcp50:.3f} ms, p99 {gcp99:.3f} ms")
        ratios(gc64, "ceiling_complete", "the ceiling with completions")
if na(pairs):
    print(f"(h) interleaved Redis/engine pairs: {pairs}")
else:
    v = list(map(float, pairs.split()))
    ratios_h = [e / r for r, e in zip(v[0::2], v[1::2])]
    med = statistics.median(ratios_h)
    out.update(pairs=[[r, e] for r, e in zip(v[0::2], v[1::2])], ratio_redis_median_of_pairs=round(med, 3))
    print("(h) interleaved pairs (Redis LPUSH ops/s, then engine starts/s at c64): " +
          ", ".join(f"{r:.0f} / {e:.0f} = {e / r:.2f}" for r, e in zip(v[0::2], v[1::2])))
    print(f"    median ratio {med:.2f} x Redis LPUSH (goal >= 0.5: {ok(med >= 0.5)})")
print(json.dumps(out))
PY
