#!/usr/bin/env python3
"""A real full disk under a running node (needs root: mounts a 400 MB tmpfs on
--dir). A filler file takes the free space, then 100 KB starts until the journal cannot
grow: those must be 503 with an error naming the disk, never a crash; after the filler
is deleted writes must resume (RocksDB needs its write buffer, 64 MB, free), the listing
must show every acknowledged start (the index's failed writes are tried again) before
any restart, and after a restart every acknowledged start must be there. (Found the
abort fixed in ad3b83e.)"""
import os
import subprocess
import sys
import time

from probe_common import Node, define, list_all, parse, req, verdict

opts = parse(__doc__)
if os.geteuid() != 0:
    sys.exit("needs root (mount -t tmpfs)")
os.makedirs(opts.dir, exist_ok=True)
subprocess.run(["umount", opts.dir], stderr=subprocess.DEVNULL)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m", "tmpfs", opts.dir], check=True)
logs = "/tmp/wfe-probe-full-logs"
os.makedirs(logs, exist_ok=True)
node = Node(opts, log_dir=logs)  # the node's log must not be on the full disk
node.start()
problems = []
try:
    define("big", [{"name": "a", "task": "noop"}])
    filler = os.path.join(opts.dir, "filler")
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=400", "status=none"])
    acked, refused = [], 0
    for i in range(1000):
        try:
            st, b = req("POST", "/api/v1/workflows", {"id": f"big-{i}", "definition": "big", "input": {"p": "x" * 100000}})
        except OSError as e:
            time.sleep(0.5)
            st, b = None, str(e)
        if not node.alive():
            problems.append(("node died", node.proc.returncode))
            break
        if st == 201:
            acked.append(f"big-{i}")
        elif st == 503 and "No space left" in str(b):
            refused += 1
        else:
            problems.append(("start answered", i, st, str(b)[:200]))
    print(f"{len(acked)} acknowledged, {refused} refused with 503 while the disk was full", flush=True)
    if refused == 0:
        problems.append(("the disk never filled",))
    os.remove(filler)
    start = time.time()
    while time.time() - start < 60 and node.alive():
        if req("POST", "/api/v1/workflows", {"id": f"after-{time.time()}", "definition": "big"})[0] == 201:
            print(f"writes resumed {time.time() - start:.1f} s after space returned")
            break
        time.sleep(0.5)
    else:
        problems.append(("writes did not resume within 60 s",))
    if not node.alive():
        verdict(problems)
    # The index's writes failed too while the disk was full: they are tried again, so the
    # listing catches up without a restart.
    listed = set()
    start = time.time()
    while time.time() - start < 60 and not set(acked) <= listed:
        listed = {w["id"] for w in list_all("definition=big&status=COMPLETED&limit=1000")}
        time.sleep(0.5)
    missing = set(acked) - listed
    print(f"listing: {len(acked) - len(missing)} of {len(acked)} acknowledged starts COMPLETED "
          f"{time.time() - start:.1f} s after writes resumed", flush=True)
    if missing:
        problems.append(("acknowledged, not listed before the restart", sorted(missing)[:5]))
    node.stop()
    node.start()
    problems += [("acknowledged, then not found", w) for w in acked if req("GET", f"/api/v1/workflows/{w}")[0] != 200]
    node.stop()
finally:
    if node.alive():
        node.kill9()
    subprocess.run(["umount", opts.dir])
verdict(problems)
