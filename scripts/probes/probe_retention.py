#!/usr/bin/env python3
"""Retention under load and kill -9. The node deletes workflows finished more than 1 s
ago (pekko.workflow.retention). 16 clients start workflows from a small pool of ids, so
every id is started again once its last workflow was purged, and read them back while
the sweeper purges and DELETE requests race it; the node is killed at random moments.
Checks: starts answer only 201/409/429/503, reads and DELETEs only their documented
statuses; a workflow read back has a history of seq 1..n with exactly one
WorkflowStarted, at seq 1 (a leftover event or snapshot of an earlier workflow of the id
would break that). Then, without kills: N workflows started at once are all purged, the
purge rate is printed, and after a restart nothing comes back. With
-D pekko.workflow.retention.archive-dir=DIR, a sample of those N is read back through
GET /api/v1/archived-workflows/{id} (COMPLETED, events seq 1..n, WorkflowStarted first),
before and after the restart, and the read latency is printed."""
import http.client
import json
import random
import threading
import time

from probe_common import Node, define, kill_rounds, list_all, metric, parse, req, verdict, PORT

opts = parse(__doc__)
opts.overrides += ["pekko.workflow.retention.finished-after=1s",
                   "pekko.workflow.retention.sweep-interval=100ms",
                   "pekko.workflow.retention.batch-size=1000",
                   "pekko.workflow.event-sourcing.snapshot-every=3"]
node = Node(opts)
node.start()
define("quick", [{"name": "a", "task": "noop"}, {"name": "b", "task": "noop", "dependsOn": ["a"]}])
define("slow", [{"name": "a", "task": "sleep", "input": {"ms": 20}},
                {"name": "b", "task": "noop", "dependsOn": ["a"]},
                {"name": "c", "task": "noop", "dependsOn": ["b"]}])
problems, stop, lock = [], threading.Event(), threading.Lock()
counts = {"201": 0, "409": 0, "read": 0, "deleted": 0, "history": 0}


def purged():
    return int(metric("workflow_purged_total") or 0)


def check_history(wid):
    st, h = req("GET", f"/api/v1/workflows/{wid}/history?limit=1000")
    if st == 404:
        return
    if st != 200:
        problems.append(("history answered", wid, st))
        return
    ev = h["events"]
    seqs = [e["seq"] for e in ev]
    starts = [e["seq"] for e in ev if e["type"] == "WorkflowStarted"]
    if seqs != list(range(1, len(seqs) + 1)) or starts != [1]:
        problems.append(("history", wid, seqs[:12], [e["type"] for e in ev][:12]))
    with lock:
        counts["history"] += 1


def client(t, rnd):
    while not stop.is_set():
        wid = f"p-{random.randrange(64)}"
        op = random.random()
        try:
            if op < 0.5:
                st, b = req("POST", "/api/v1/workflows",
                            {"id": wid, "definition": random.choice(["quick", "slow"])}, timeout=5)
                if st in (201, 409):
                    with lock:
                        counts[str(st)] += 1
                elif st not in (429, 503):
                    problems.append(("start answered", wid, st, str(b)[:200]))
            elif op < 0.8:
                st, b = req("GET", f"/api/v1/workflows/{wid}", timeout=5)
                if st == 200:
                    with lock:
                        counts["read"] += 1
                    check_history(wid)
                elif st not in (404, 503):
                    problems.append(("get answered", wid, st, str(b)[:200]))
            else:
                st, b = req("DELETE", f"/api/v1/workflows/{wid}", timeout=5)
                if st == 204:
                    with lock:
                        counts["deleted"] += 1
                elif st not in (404, 409, 503):
                    problems.append(("delete answered", wid, st, str(b)[:200]))
        except OSError:
            time.sleep(0.05)


kill_rounds(node, opts.rounds, lambda rnd: [(client, (t, rnd)) for t in range(16)],
            lambda rnd: print(f"round {rnd}: killed; {counts}", flush=True), stop, longest=4.0)

# Everything left finishes and expires: the listing empties by itself.
deadline = time.time() + 60
while time.time() < deadline and list_all("limit=1000"):
    time.sleep(0.5)
left = list_all("limit=1000")
problems += [("not purged", w["id"], w["status"]) for w in left if w["status"] != "RUNNING"]

# The purge rate: N workflows at once, then every one deleted.
N = 20000
before = purged()
ids = [f"bulk-{i}" for i in range(N)]


def starter(part):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    for wid in part:
        c.request("POST", "/api/v1/workflows", body=json.dumps({"id": wid, "definition": "quick"}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            problems.append(("bulk start", wid, r.status))


threads = [threading.Thread(target=starter, args=(ids[i::16],)) for i in range(16)]
t0 = time.time()
for th in threads:
    th.start()
for th in threads:
    th.join()
t1 = time.time()
first = None
while time.time() < t1 + 120 and purged() - before < N:
    if first is None and purged() > before:
        first = time.time()
    time.sleep(0.05)
t2 = time.time()
done = purged() - before
print(f"bulk: {N} started in {t1 - t0:.1f} s; {done} purged, "
      f"{done / max(t2 - (first or t1), 1e-9):.0f} purges/s once the first went")
if done < N:
    problems.append(("bulk not all purged", done, N))
archived = any(o.startswith("pekko.workflow.retention.archive-dir=") for o in opts.overrides)


def read_archived(label, sample):
    took = []
    for wid in sample:
        t = time.time()
        st, b = req("GET", f"/api/v1/archived-workflows/{wid}?limit=1000")
        took.append(time.time() - t)
        if st != 200:
            problems.append((label, "archived read answered", wid, st, str(b)[:200]))
            continue
        seqs = [e["seq"] for e in b["events"]]
        types = [e["type"] for e in b["events"]]
        if (b["id"] != wid or b["status"] != "COMPLETED" or seqs != list(range(1, len(seqs) + 1))
                or not types or types[0] != "WorkflowStarted" or b["seq"] != len(seqs)):
            problems.append((label, "archived", wid, b.get("status"), seqs[:12], types[:4]))
    took.sort()
    print(f"{label}: {len(sample)} archived reads, p50 {took[len(took) // 2] * 1000:.2f} ms, "
          f"p99 {took[int(len(took) * 0.99)] * 1000:.2f} ms", flush=True)


sample = random.sample(ids, min(2000, N)) if archived else []
if archived:
    read_archived("archived reads", sample)
node.stop()
node.start()
if list_all("limit=1000"):
    problems.append(("came back after restart", len(list_all("limit=1000"))))
if archived:
    read_archived("archived reads after the restart", sample[:500])
node.stop()
print(f"{counts}")
verdict(problems)
