#!/usr/bin/env bash
# Runs journal_bench next to RocksDB's own db_bench in the same run (same disk, same
# load) and prints the ratios the persistence issue (#3) sets as goals:
#   events_per_s  >= 0.5 x db_bench fillseq --sync=1 --batch_size=64 --value_size=256
#   replay        >= 0.2 x db_bench readseq
#   recovery of 1,000 events <= 5 ms, <= 1 ms from a snapshot
# Usage: bench/run_journal_bench.sh [build dir (default build)] [events per entity (default 2000)]
set -euo pipefail
build=${1:-build}
events=${2:-2000}
bench="$build/bench/journal_bench"
[[ -x $bench ]] || { echo "build journal_bench first: cmake --build $build --target journal_bench" >&2; exit 1; }
if ! command -v db_bench >/dev/null; then
  echo "installing rocksdb-tools (db_bench)..." >&2
  sudo apt-get install -y rocksdb-tools >/dev/null || apt-get install -y rocksdb-tools >/dev/null
fi
tmp=$(mktemp -d /tmp/journal-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ops() { awk -v b="$1" '$1 == b { for (i = 1; i <= NF; i++) if ($(i+1) == "ops/sec") print $i }'; }

echo "== db_bench fillseq --sync=1 --batch_size=64 --value_size=256 --num=200000"
fill=$(db_bench --benchmarks=fillseq --sync=1 --batch_size=64 --value_size=256 --num=200000 \
  --db="$tmp/db" | tee /dev/stderr | ops fillseq)
echo "== db_bench readseq (same DB)"
read_ops=$(db_bench --benchmarks=readseq --use_existing_db=1 --value_size=256 --num=200000 \
  --db="$tmp/db" | tee /dev/stderr | ops readseq)

echo "== journal_bench --entities 64 --events-per-entity $events --event-bytes 256"
json=$("$bench" --entities 64 --events-per-entity "$events" --event-bytes 256 --dir "$tmp/jb" \
  | grep -v '^[0-9]\{4\}-' | tee /dev/stderr | tail -n 1)

python3 - "$fill" "$read_ops" "$json" <<'PY'
import json, sys
fill, readseq, j = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
r_write = j["events_per_s"] / fill
r_replay = j["replay_events_per_s"] / readseq
ok = lambda b: "met" if b else "MISSED"
print()
print(f"db_bench fillseq sync batch 64: {fill:.0f} ops/s; readseq: {readseq:.0f} ops/s")
print(f"events_per_s {j['events_per_s']:.0f} = {r_write:.2f} x fillseq (goal >= 0.5: {ok(r_write >= 0.5)})")
print(f"replay {j['replay_events_per_s']:.0f}/s = {r_replay:.2f} x readseq (goal >= 0.2: {ok(r_replay >= 0.2)})")
print(f"recovery 1,000 events {j['recovery_1000_ms']:.3f} ms (goal <= 5: {ok(j['recovery_1000_ms'] <= 5)}), "
      f"from snapshot {j['recovery_1000_snapshot_ms']:.3f} ms (goal <= 1: {ok(j['recovery_1000_snapshot_ms'] <= 1)})")
print(json.dumps({"db_bench_fillseq_sync_b64": fill, "db_bench_readseq": readseq,
                  "write_ratio": round(r_write, 3), "replay_ratio": round(r_replay, 3), **j}))
PY
