#!/usr/bin/env python3
"""Acknowledged starts survive kill -9. 16 clients start workflows of four kinds (noop,
a sleep chain, a step failing once then retried, a 100 ms sleep), one in five pinned to
version 1; the node is killed at a random moment and restarted into the next round's
load. At the end every id answered 201 must answer GET, complete, have a history with
seq 1..n starting with WorkflowStarted, and be listed as COMPLETED under its definition.
(Found the gateway routing bug fixed in 9867fb9.)"""
import random
import threading
import time

from probe_common import Node, define, kill_rounds, list_all, parse, post, req, verdict, wait_until_ended

opts = parse(__doc__)
node = Node(opts)
node.start()
defs = {
    "c1": [{"name": "a", "task": "noop"}],
    "c3": [{"name": "a", "task": "sleep", "input": {"ms": 5}},
           {"name": "b", "task": "sleep", "input": {"ms": 5}, "dependsOn": ["a"]},
           {"name": "c", "task": "noop", "dependsOn": ["b"]}],
    "cf": [{"name": "a", "task": "fail", "input": {"times": 1},
            "retry": {"maxAttempts": 3, "initialIntervalMs": 300, "backoffCoefficient": 2,
                      "maxIntervalMs": 1000}},
           {"name": "b", "task": "noop", "dependsOn": ["a"]}],
    "cs": [{"name": "a", "task": "sleep", "input": {"ms": 100}}],
}
for name, steps in defs.items():
    define(name, steps)
acked, lock, stop, problems = {}, threading.Lock(), threading.Event(), []


def client(t, rnd):
    c, i = None, 0
    while not stop.is_set():
        i += 1
        wid, d = f"r{rnd}-t{t}-{i}", random.choice(list(defs))
        body = {"id": wid, "definition": d, "input": {"k": i}}
        if i % 5 == 0:
            body["version"] = 1
        try:
            c, status, data = post(c, "/api/v1/workflows", body)
            if status == 201:
                with lock:
                    acked[wid] = d
            elif status not in (429, 503):
                problems.append(("start answered", wid, status, data[:200]))
        except OSError:
            c = None
            time.sleep(0.05)


kill_rounds(node, opts.rounds, lambda rnd: [(client, (t, rnd)) for t in range(16)],
            lambda rnd: print(f"round {rnd}: killed, {len(acked)} acknowledged so far", flush=True),
            stop, longest=3.0)

for wid, b in wait_until_ended(acked, 240, problems).items():
    if b["status"] != "COMPLETED":
        problems.append(("status", wid, b["status"]))
    st, h = req("GET", f"/api/v1/workflows/{wid}/history?limit=1000")
    seqs = [e["seq"] for e in h["events"]]
    if seqs != list(range(1, len(seqs) + 1)) or h["events"][0]["type"] != "WorkflowStarted":
        problems.append(("history", wid, seqs[:10]))
for name in defs:
    listed = {w["id"] for w in list_all(f"status=COMPLETED&definition={name}&limit=1000")}
    missing = [w for w, d in acked.items() if d == name and w not in listed]
    problems += [("not listed as COMPLETED", w) for w in missing]
print(f"{len(acked)} acknowledged starts checked")
node.stop()
verdict(problems)
