#!/usr/bin/env python3
"""Timers that are overdue when the node starts. Each round starts workflows whose first
step fails once and retries 1.5 s later, kills the node with SIGKILL before the retries
are due, waits until they are overdue and starts it again: at start-up the timer service
fires hundreds of loaded timers at once. Every workflow must then complete without any
request touching it, seen through the list alone (a GET would recover a stuck entity).
PER_CLIENT (env, default 100) starts per client thread per round, 8 threads.
(The scenario of the bug fixed in 5f112d6: shards started entities for those timers
before they had their links, and the retried step was journaled as scheduled and never
dispatched. It is a race of CAF's scheduling: on this 2-core machine the timer service
ran after the links were in and the probe did not catch the old binary; a CI machine
did. workflow_region.test.cpp reproduces it deterministically.)"""
import os
import threading
import time

from probe_common import Node, define, list_all, parse, req, verdict

opts = parse(__doc__, rounds=5)
PER_CLIENT = int(os.environ.get("PER_CLIENT", "100"))
node = Node(opts)
node.start()
define("late", [{"name": "a", "task": "fail", "input": {"times": 1},
                 "retry": {"maxAttempts": 3, "initialIntervalMs": 1500,
                           "backoffCoefficient": 1, "maxIntervalMs": 1500}},
                {"name": "b", "task": "noop", "dependsOn": ["a"]}])
problems, acked = [], []
for rnd in range(opts.rounds):
    lock = threading.Lock()

    def client(t):
        for i in range(PER_CLIENT):
            wid = f"r{rnd}-t{t}-{i}"
            st, b = req("POST", "/api/v1/workflows", {"id": wid, "definition": "late"})
            if st == 201:
                with lock:
                    acked.append(wid)
            else:
                problems.append(("start answered", wid, st, str(b)[:200]))

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    node.kill9()  # within ~1 s of the first start: no retry was due yet
    time.sleep(2.0)  # every retry timer is overdue now
    node.start()
    print(f"round {rnd}: {len(acked)} acknowledged, node restarted with their timers overdue",
          flush=True)

# Through the index only: nothing here wakes an entity.
deadline = time.time() + 60
while time.time() < deadline:
    done = {w["id"] for w in list_all("status=COMPLETED&definition=late&limit=1000")}
    if all(w in done for w in acked):
        break
    time.sleep(1)
missing = [w for w in acked if w not in done]
problems += [("not COMPLETED 60 s after the last restart", w) for w in missing]
print(f"{len(acked)} acknowledged, {len(acked) - len(missing)} completed")
node.stop()
verdict(problems)
