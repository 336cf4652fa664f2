#!/usr/bin/env python3
"""Durable timers beyond pekko.workflow.timers.max-timers. The node runs with a small
bound (max-timers 50, reload-interval 300ms; -D options given later win). Eight clients
start workflows of five kinds, every one waiting for timers: retries 300 ms apart
(-> COMPLETED), a step timeout of 400 ms on a 5 s sleep, twice (-> FAILED), a workflow
timeout of 1.5 s on a queue no worker polls (-> FAILED), a retry 4 s away
(-> COMPLETED; a third of them cancelled after the start -> CANCELLED), and a timer
step of 2 s (-> COMPLETED). Then kill -9 and
a restart, so the timers not held come back only from the index. Every acknowledged workflow must end as its kind says, seen
through the list alone (a GET would recover an entity and hide a lost timer), within
120 s. PER_CLIENT (env, default 100) starts per client."""
import os
import threading
import time

from probe_common import Node, define, list_all, parse, req, verdict

opts = parse(__doc__, rounds=1)
opts.overrides = ["pekko.workflow.timers.max-timers=50",
                  "pekko.workflow.timers.reload-interval=300ms"] + opts.overrides
PER_CLIENT = int(os.environ.get("PER_CLIENT", "100"))
node = Node(opts)
node.start()
define("ov-retry", [{"name": "a", "task": "fail", "input": {"times": 2},
                     "retry": {"maxAttempts": 3, "initialIntervalMs": 300,
                               "backoffCoefficient": 1, "maxIntervalMs": 300}}])
define("ov-step", [{"name": "a", "task": "sleep", "input": {"ms": 5000}, "timeoutMs": 400,
                    "retry": {"maxAttempts": 2, "initialIntervalMs": 200}}])
define("ov-wf", [{"name": "a", "task": "queue:nobody"}])
define("ov-far", [{"name": "a", "task": "fail", "input": {"times": 1},
                   "retry": {"maxAttempts": 2, "initialIntervalMs": 4000}}])
define("ov-timer", [{"name": "a", "task": "timer", "input": {"ms": 2000}},
                     {"name": "b", "task": "noop", "dependsOn": ["a"]}])
kinds = ["ov-retry", "ov-step", "ov-wf", "ov-far", "ov-timer"]
expected = {"ov-retry": {"COMPLETED"}, "ov-step": {"FAILED"}, "ov-wf": {"FAILED"},
            "ov-far": {"COMPLETED"}, "ov-timer": {"COMPLETED"}}
problems, acked, cancelled = [], {}, set()
lock = threading.Lock()
for rnd in range(opts.rounds):
    def client(t):
        for i in range(PER_CLIENT):
            kind = kinds[i % len(kinds)]
            wid = f"o{rnd}-t{t}-{i}"
            body = {"id": wid, "definition": kind}
            if kind == "ov-wf":
                body["timeoutMs"] = 1500
            st, b = req("POST", "/api/v1/workflows", body)
            if st != 201:
                problems.append(("start answered", wid, st, str(b)[:200]))
                continue
            with lock:
                acked[wid] = kind
            if kind == "ov-far" and i % 3 == 0:
                st, b = req("POST", f"/api/v1/workflows/{wid}/cancel", {})
                if st in (200, 202):
                    with lock:
                        cancelled.add(wid)
                else:
                    problems.append(("cancel answered", wid, st, str(b)[:200]))

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    node.kill9()
    time.sleep(1.0)
    node.start()
    print(f"round {rnd}: {len(acked)} acknowledged ({len(cancelled)} cancelled), "
          "node killed and restarted", flush=True)

# Through the index only: nothing here wakes an entity.
deadline = time.time() + 120
status = {}
while time.time() < deadline:
    status = {}
    for st in ("COMPLETED", "FAILED", "CANCELLED"):
        for w in list_all(f"status={st}&limit=1000"):
            status[w["id"]] = st
    if all(w in status for w in acked):
        break
    time.sleep(1)
for wid, kind in acked.items():
    want = {"CANCELLED"} if wid in cancelled else expected[kind]
    got = status.get(wid, "not ended")
    if got not in want:
        problems.append((f"{kind} ended {got}, expected {'/'.join(sorted(want))}", wid))
ended = sum(1 for w in acked if w in status)
print(f"{len(acked)} acknowledged, {ended} ended")
node.stop()
verdict(problems)
