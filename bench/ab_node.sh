# shellcheck shell=bash
# Sourced by the A/B tools (bench/start_cpu_ab.sh, start_instructions.sh, payload_cpu.sh,
# definition_size_ab.sh, restart_wake.sh, sync_stalls_ab.sh, retention_load_ab.sh,
# snapshot_backlog_ab.sh, restart_after_load_ab.sh, dispatched_chain_ab.sh,
# worker_complete_ab.sh; ceiling_hop_ab.sh only for its options and temp dir): one node at a time
# on 127.0.0.1 (HTTP 18080, metrics 19095, transport 25520), data in $ab_tmp (a temp dir
# removed on exit), with a 1-step noop definition "d". EXTRA="-D..." reaches every node.

ab_tmp=$(mktemp -d /tmp/wfe-ab.XXXXXX)
ab_node=""
ab_cleanup() {
  [[ -n $ab_node ]] && kill "$ab_node" 2>/dev/null && wait "$ab_node" 2>/dev/null
  rm -rf "$ab_tmp"
}
trap ab_cleanup EXIT
trap 'exit 130' INT TERM

# ab_launch BINARY [RUNNER...]: starts BINARY (under RUNNER, e.g. valgrind ...) on the
# data dir $ab_tmp/run as it is, waits for /ready (up to `ab_ready_secs`, default 10) and
# sets ab_node; returns 1 when the node did not answer.
ab_launch() {
  local bin=$1; shift
  local dir=$ab_tmp/run
  mkdir -p "$dir"
  while ss -ltn | grep -qE ":(18080|19095|25520) "; do sleep 0.2; done
  # shellcheck disable=SC2086  # EXTRA is a list of -D options
  "$@" "$bin" -Dpekko.workflow.logging.level=${ab_log_level:-warn} \
    -Dpekko.remote.artery.canonical.hostname=127.0.0.1 \
    -Dpekko.remote.artery.canonical.port=25520 -Dpekko.cluster.seed-nodes=[] \
    -Dpekko.workflow.http.interface=127.0.0.1 -Dpekko.workflow.http.port=18080 \
    -Dpekko.workflow.metrics.interface=127.0.0.1 -Dpekko.workflow.metrics.port=19095 \
    -Dpekko.persistence.journal.rocksdb.dir="$dir"/journal \
    -Dpekko.persistence.snapshot-store.rocksdb.dir="$dir"/snapshots ${EXTRA:-} \
    >>"$dir"/log 2>&1 &
  ab_node=$!
  for _ in $(seq $((${ab_ready_secs:-10} * 20))); do
    curl -sf http://127.0.0.1:18080/ready >/dev/null && return 0
    kill -0 "$ab_node" 2>/dev/null || break
    sleep 0.05
  done
  curl -sf http://127.0.0.1:18080/ready >/dev/null
}

# ab_start_node BINARY [RUNNER...]: ab_launch on a fresh data dir, then defines "d".
# Returns 1 (printing the log's tail) when the node did not come up.
ab_start_node() {
  local bin=$1
  rm -rf "$ab_tmp/run"
  ab_launch "$@"
  if ! curl -sf -XPOST -H 'Content-Type: application/json' \
    http://127.0.0.1:18080/api/v1/workflow-definitions \
    -d '{"name":"d","steps":[{"name":"a","task":"noop"}]}' >/dev/null; then
    echo "$(basename "$bin"): node did not start ($(tail -3 "$ab_tmp"/run/log))"
    ab_stop_node
    return 1
  fi
}

ab_stop_node() {
  [[ -n $ab_node ]] && kill "$ab_node" 2>/dev/null && wait "$ab_node" 2>/dev/null
  ab_node=""
}

# ab_parse_secs_rounds SECS ROUNDS "$@": the A/B tools' options. Sets `secs` and `rounds`
# (defaults SECS, ROUNDS; -s and -r override) and `ab_args` (the binaries and whatever
# follows); without any, prints the script's header comment and exits 2; exits 1 when
# wrk is missing.
# shellcheck disable=SC2034  # secs, rounds and ab_args are for the caller
ab_parse_secs_rounds() {
  secs=$1
  rounds=$2
  shift 2
  local OPTIND=1 o
  while getopts "s:r:" o; do
    case $o in
      s) secs=$OPTARG ;;
      r) rounds=$OPTARG ;;
      *) exit 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  ab_args=("$@")
  ((${#ab_args[@]} > 0)) || { sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 2; }
  command -v wrk >/dev/null ||
    { echo "$(basename "$0"): wrk missing (apt-get install wrk)" >&2; exit 1; }
}
