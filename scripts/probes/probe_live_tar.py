#!/usr/bin/env python3
"""The deployment guide's backup of a running node: `tar -czf` of the journal directory
while 16 clients start workflows. Each round tars the journal under load; then every
archive is extracted alone into a fresh directory (as the guide restores it: no snapshot
store, no index) and a node is started on it. Every workflow acknowledged before its tar
began must be there: listed as COMPLETED once the restored node has rebuilt its index.
The node writes 64 MiB memtables and keeps at most max-total-wal-size (128 MiB) of WAL,
so under this load a flush makes a WAL obsolete every few seconds, some of them while a
tar runs. Run it once more with `-D pekko.persistence.journal.rocksdb.keep-deleted-files-for=0s`
to see what keeping deleted files prevents (a WAL deleted between the tar's copy of the
MANIFEST and its copy of the WAL: its workflows are missing, with no error), and with
`-D pekko.persistence.journal.rocksdb.roll-back-incomplete-copies=off` to see the archives
whose MANIFEST names a table file made during the tar refuse to start."""
import os
import random
import subprocess
import threading
import time

from probe_common import Node, define, list_all, metric, parse, post, verdict

opts = parse(__doc__)
node = Node(opts)
node.start()
define("c1", [{"name": "a", "task": "noop"}])
acked, lock, stop, problems = [], threading.Lock(), threading.Event(), []
# Each start's input (PAD bytes, default 2000) makes the journal grow fast enough for
# several WAL switches, flushes and deletions per round.
pad = "".join(random.choice("abcdefghij") for _ in range(int(os.environ.get("PAD", "2000"))))


def client(t):
    c, i = None, 0
    while not stop.is_set():
        i += 1
        wid = f"t{t}-{i}"
        try:
            c, status, data = post(c, "/api/v1/workflows",
                                   {"id": wid, "definition": "c1", "input": {"pad": pad}})
            if status == 201:
                with lock:
                    acked.append(wid)
            elif status not in (429, 503):
                problems.append(("start answered", wid, status, data[:200]))
        except OSError:
            c = None
            time.sleep(0.05)


threads = [threading.Thread(target=client, args=(t,)) for t in range(16)]
for th in threads:
    th.start()
archives = []  # (path, ids acknowledged before the tar began)
for rnd in range(opts.rounds):
    time.sleep(random.uniform(4, 8))
    with lock:
        before = len(acked)
    path = os.path.join(opts.dir, f"journal-{rnd}.tar.gz")
    began = time.monotonic()
    # GNU tar warns (exit 1) about files that changed while read: expected on a live store.
    subprocess.run(["tar", "-czf", path, "-C", opts.dir, "journal"], stderr=subprocess.DEVNULL)
    print(f"round {rnd}: tar of the journal after {before} starts took "
          f"{time.monotonic() - began:.1f} s", flush=True)
    archives.append((path, before))
stop.set()
for th in threads:
    th.join()
node.stop()
with lock:
    ids = list(acked)

rolled_back = []
for rnd, (path, before) in enumerate(archives):
    restore_dir = os.path.join(opts.dir, f"restored-{rnd}")
    class restore_opts:
        binary, dir, overrides = opts.binary, restore_dir, opts.overrides

    # Node() wipes its directory: extract after it, into the journal dir it will use.
    restored = Node(restore_opts)
    subprocess.run(["tar", "-xzf", path, "-C", restore_dir], check=True)
    try:
        restored.start()
    except SystemExit as e:  # the node refused the restored journal (a file it names is missing)
        problems.append((f"archive {rnd}: the restored node did not start", str(e)))
        print(f"archive {rnd}: the restored node did not start ({e})", flush=True)
        continue
    # A copy whose MANIFEST names table files made during the tar opens rolled back
    # (persistence/internal/copy_rollback.hpp): say so.
    with open(os.path.join(restore_dir, f"log{restored.starts}")) as f:
        rolled = [line for line in f if "rolled back by" in line]
    if rolled:
        rolled_back.append(rnd)
        print(f"archive {rnd}: opened rolled back: {rolled[0].split(': ', 2)[-1].strip()[:300]}",
              flush=True)
    # The index is rebuilt from the journal after /ready: wait until its count settles.
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 3:
        count = metric('workflow_workflows{status="COMPLETED"}')
        if count != last:
            last, stable_since = count, time.monotonic()
        time.sleep(0.5)
    present = {w["id"] for w in list_all("status=COMPLETED&limit=1000")}
    missing = [wid for wid in ids[:before] if wid not in present]
    print(f"archive {rnd}: {len(present)} workflows restored, {before} acknowledged before "
          f"its tar, {len(missing)} of those missing", flush=True)
    if missing:
        problems.append((f"archive {rnd}: acknowledged before the tar, missing after restore",
                         len(missing), missing[:5]))
    restored.stop()
print(f"{len(rolled_back)} of {len(archives)} archives opened rolled back", flush=True)
verdict(problems)
