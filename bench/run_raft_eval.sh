#!/usr/bin/env bash
# The first evaluation of REPLICATION.md: what Debian's libraft-dev (Canonical's C Raft
# 0.15) costs per replication group (bench/raft_groups.cpp). Installs libraft-dev when
# missing, compiles the program into a temp dir (not part of the CMake build) and runs it
# for a few shapes. Usage: bench/run_raft_eval.sh [groups (default 300)]
set -euo pipefail
cd "$(dirname "$0")/.."
groups="${1:-300}"
if ! dpkg -s libraft-dev >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends libraft-dev >/dev/null
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
c++ -std=c++20 -O2 -Wall -Wextra -Werror -o "$out/raft_groups" bench/raft_groups.cpp -lraft
for shape in "10 2000 8 200" "10 2000 64 200" "10 500 1 2048"; do
  set -- $shape
  echo "== $groups groups, idle $1 s, $2 entries per group in proposals of $3, $4 B each"
  "$out/raft_groups" "$groups" "$@"
done
