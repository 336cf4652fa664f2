#!/usr/bin/env python3
"""Online backups (`POST /api/v1/admin/backup`, RocksDB BackupEngine) under load, across
kill -9. Eight clients start workflows, ~50 per second each (a 3-step noop chain; a
sleep of 50 ms then a noop; a step that waits for the signal "go") and signal recent ones; each round takes a
backup into one backup dir (incremental) at a random moment and, every other round, the
node is killed with kill -9 after it and restarted. At the end every workflow is driven
to its end on the live node and its history read. Then each backup is restored alone
(`workflow-engine restore --from DIR --backup-id N` into a fresh directory) and a node
started on it must: list every workflow acknowledged before its backup was asked for;
hold for each workflow a history whose events from the copy (dated before the live node
stopped) are the live history's first events, exactly (seq, type, time, data: nothing
invented, nothing reordered, nothing from after a gap), seq 1..n; and carry every restored workflow on to its end (COMPLETED, the
signal-waiting ones once signalled). Try also -D pekko.workflow.event-sourcing.snapshot-
every=2 (snapshots in every backup; the snapshot store is backed up before the journal)."""
import http.client
import os
import random
import subprocess
import threading
import time

from probe_common import call, Node, define, list_all, metric, parse, req, verdict, PORT

opts = parse(__doc__, rounds=4)
node = Node(opts)
node.start()
defs = {"chain": [{"name": "a", "task": "noop"}, {"name": "b", "task": "noop", "dependsOn": ["a"]},
                  {"name": "c", "task": "noop", "dependsOn": ["b"]}],
        "nap": [{"name": "a", "task": "sleep", "input": {"ms": 50}},
                {"name": "b", "task": "noop", "dependsOn": ["a"]}],
        "sig": [{"name": "a", "task": "signal", "input": {"name": "go"}},
                {"name": "b", "task": "noop", "dependsOn": ["a"]}]}
for name, steps in defs.items():
    define(name, steps)
backups_dir = os.path.join(opts.dir, "backups")
lock, stop, problems = threading.Lock(), threading.Event(), []
acked = []  # ids in the order their 201 came
kind = {}


def client(t, rnd):
    c, i = None, 0
    while not stop.is_set():
        i += 1
        try:
            c = c or http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            wid, d = f"b{rnd}-{t}-{i}", random.choice(list(defs))
            st, b = call(c, "POST", "/api/v1/workflows", {"id": wid, "definition": d, "input": {"n": i}})
            if st == 201:
                with lock:
                    acked.append(wid)
                    kind[wid] = d
            elif st not in (429, 503):
                problems.append(("start answered", wid, st, b))
            time.sleep(0.02)
            if i % 5 == 0:
                with lock:
                    recent = random.choice(acked[-200:]) if acked else None
                if recent:
                    call(c, "POST", f"/api/v1/workflows/{recent}/signals/go", {"k": i})
        except OSError:
            c = None
            time.sleep(0.05)


backups = []  # (backup id, ids acknowledged before it was asked for)
for rnd in range(opts.rounds):
    stop.clear()
    threads = [threading.Thread(target=client, args=(t, rnd)) for t in range(8)]
    for th in threads:
        th.start()
    time.sleep(random.uniform(2.0, 5.0))
    with lock:
        before = len(acked)
    began = time.monotonic()
    st, b = req("POST", "/api/v1/admin/backup", {"dir": backups_dir}, timeout=60)
    if st != 201:
        problems.append(("backup answered", rnd, st, b))
    else:
        backups.append((b["id"], before))
    print(f"round {rnd}: backup {b.get('id') if st == 201 else st} after {before} starts, "
          f"{time.monotonic() - began:.1f} s", flush=True)
    time.sleep(random.uniform(0.2, 1.5))
    if rnd % 2 == 0:
        node.kill9()
    stop.set()
    for th in threads:
        th.join()
    if rnd % 2 == 0:
        node.start()

# The live node: every workflow to its end (signal the ones still waiting), then histories.
for wid in list(acked):
    if kind[wid] == "sig":
        req("POST", f"/api/v1/workflows/{wid}/signals/go", {"k": "final"})


def history(wid):
    st, b = req("GET", f"/api/v1/workflows/{wid}/history?limit=1000")
    return b["events"] if st == 200 else None


def ended(ids, timeout_s):
    """Waits until no workflow is RUNNING; returns the ids that are not COMPLETED."""
    deadline = time.time() + timeout_s
    while time.time() < deadline and (metric('workflow_workflows{status="RUNNING"}') or 0) > 0:
        time.sleep(0.5)
    done = {w["id"] for w in list_all("status=COMPLETED&limit=1000")}
    return set(ids) - done


left = ended(acked, 120)
problems += [("live: not COMPLETED", w) for w in sorted(left)[:20]]
live = {wid: history(wid) for wid in acked}
print(f"live: {len(acked)} workflows, {len(left)} not COMPLETED", flush=True)
node.stop()
live_stopped = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".999Z"
time.sleep(1.1)  # every event of a restored node is dated after live_stopped

for n, (bid, before) in enumerate(backups):
    restore_dir = os.path.join(opts.dir, f"restored-{n}")

    class restore_opts:
        binary, dir, overrides = opts.binary, restore_dir, opts.overrides

    restored = Node(restore_opts)  # wipes restore_dir
    os.rmdir(restore_dir)  # restore wants to create it
    r = subprocess.run([opts.binary, "restore", "--from", backups_dir, "--backup-id", str(bid)]
                       + restored.args, capture_output=True, text=True)
    if r.returncode != 0:
        problems.append((f"backup {bid}: restore exit {r.returncode}", (r.stdout + r.stderr)[-300:]))
        continue
    restored.start()
    # The index is rebuilt from the journal after /ready: wait until its count settles.
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 3:
        count = sum(metric(f'workflow_workflows{{status="{s}"}}') or 0 for s in ("RUNNING", "COMPLETED"))
        if count != last:
            last, stable_since = count, time.monotonic()
        time.sleep(0.5)
    present = {w["id"] for w in list_all("limit=1000")}
    missing = [w for w in acked[:before] if w not in present]
    if missing:
        problems.append((f"backup {bid}: acknowledged before it, missing", len(missing), missing[:5]))
    strangers = [w for w in present if w not in live]
    bad, compared = 0, 0
    for wid in present:
        if wid not in live:
            continue
        got, want = history(wid), live[wid]
        if got is None or [e["seq"] for e in got] != list(range(1, len(got) + 1)):
            problems.append((f"backup {bid}: history seq", wid))
            bad += 1
            continue
        # The copy's events are those dated before the live node stopped (the restored
        # node runs later and dates its own after): they must be the live history's
        # first events, exactly (seq, type, time, data). The restored node's own events
        # continue the seq.
        copy = [e for e in got if e["at"] <= live_stopped]
        compared += len(copy)
        if not copy or copy != want[:len(copy)]:
            first = next(i for i, (g, w) in enumerate(zip(copy + [None], want + [None])) if g != w)
            problems.append((f"backup {bid}: history is not a prefix of the live one", wid, first + 1))
            bad += 1
    for wid in present:
        if kind.get(wid) == "sig":
            req("POST", f"/api/v1/workflows/{wid}/signals/go", {"k": "restored"})
    left = ended([w for w in present if w in live], 120)
    problems += [(f"backup {bid}: not COMPLETED after restore", w) for w in sorted(left)[:10]]
    print(f"backup {bid}: {len(present)} workflows ({before} acknowledged before it, "
          f"{len(missing)} of them missing; {len(strangers)} unknown ids), {compared} events "
          f"of the copy compared, {bad} histories off, {len(left)} not COMPLETED", flush=True)
    if restored.stop() != 0:
        problems.append((f"backup {bid}: SIGTERM exit code", restored.proc.returncode))
verdict(problems)
