#!/usr/bin/env python3
"""Signals, cancels, duplicate starts and external workers under kill -9. Eight clients
start workflows (an external-queue step, or a 400 ms sleep), start a recent id again
(must never be a second 201), signal and now and then cancel recent ones; four workers
poll and complete the queue. The node is killed at random moments and restarted. At the
end: every acknowledged signal is in its workflow's history, every acknowledged cancel
left it CANCELLED, every completion acknowledged as new (not "duplicate") is its step's
output (unless cancelled first; so a step completes once), histories are seq 1..n; a workflow whose first step waits for the
signal "go" (task signal) completed that step with the first "go" it recorded, and
completed once a "go" was acknowledged (unless cancelled). Try also -D pekko.workflow.event-sourcing.
snapshot-every=2 -D pekko.cluster.sharding.passivate-idle-entity-after=300ms."""
import http.client
import random
import threading
import time

from probe_common import call, Node, define, kill_rounds, parse, req, verdict, wait_until_ended, PORT

opts = parse(__doc__)
node = Node(opts)
node.start()
defs = {"q1": [{"name": "a", "task": "queue:work"}, {"name": "b", "task": "noop", "dependsOn": ["a"]}],
        "sl": [{"name": "a", "task": "sleep", "input": {"ms": 400}}],
        "sg": [{"name": "a", "task": "signal", "input": {"name": "go"}},
               {"name": "b", "task": "noop", "dependsOn": ["a"]}]}
for name, steps in defs.items():
    define(name, steps)
lock, stop, problems = threading.Lock(), threading.Event(), []
started, signals, cancelled, completed = {}, {}, set(), {}


def client(t, rnd):
    c, i = None, 0
    while not stop.is_set():
        i += 1
        try:
            c = c or http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            wid, d = f"s{rnd}-{t}-{i}", random.choice(list(defs))
            if call(c, "POST", "/api/v1/workflows", {"id": wid, "definition": d})[0] == 201:
                with lock:
                    started[wid] = d
            with lock:
                recent = random.choice(list(started)) if started else None
            if recent is None:
                continue
            st, b = call(c, "POST", "/api/v1/workflows", {"id": recent, "definition": started[recent]})
            if st == 201:
                problems.append(("a second 201 for", recent))
            k = random.randint(0, 10**9)
            st, b = call(c, "POST", f"/api/v1/workflows/{recent}/signals/go", {"k": k})
            if st == 200:
                with lock:
                    signals.setdefault(recent, []).append(k)
            elif st not in (404, 409, 503):
                problems.append(("signal answered", recent, st, b))
            if i % 7 == 0 and call(c, "POST", f"/api/v1/workflows/{recent}/cancel")[0] == 200:
                with lock:
                    cancelled.add(recent)
        except OSError:
            c = None
            time.sleep(0.05)


def worker(t):
    c = None
    while not stop.is_set():
        try:
            c = c or http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            st, task = call(c, "POST", "/api/v1/tasks/poll", {"queue": "work", "workerId": f"w{t}", "waitMs": 200})
            if st != 200:
                continue
            k = random.randint(0, 10**9)
            st, b = call(c, "POST", f"/api/v1/tasks/{task['token']}/complete", {"output": {"k": k}})
            if st == 200 and not b.get("duplicate"):
                # Every completion acknowledged as new must be the step's output: the
                # step completes once, so a second new acknowledgement (the task ran
                # again after a restart) means the first was lost.
                with lock:
                    completed.setdefault(task["workflowId"], []).append(k)
        except OSError:
            c = None
            time.sleep(0.05)


kill_rounds(node, opts.rounds,
            lambda rnd: [(client, (t, rnd)) for t in range(8)] + [(worker, (t,)) for t in range(4)],
            lambda rnd: print(f"round {rnd}: {len(started)} started, {sum(map(len, signals.values()))} "
                              f"signals, {len(cancelled)} cancels, {len(completed)} completions",
                              flush=True),
            stop)
stop.clear()
# Signal-step workflows nobody signalled yet get their "go" now, so that all can end.
for wid, d in list(started.items()):
    if d != "sg":
        continue
    k = random.randint(0, 10**9)
    st, b = req("POST", f"/api/v1/workflows/{wid}/signals/go", {"k": k})
    if st == 200:
        signals.setdefault(wid, []).append(k)
    elif st != 409:
        problems.append(("final signal answered", wid, st, b))
workers = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
for th in workers:
    th.start()
wait_until_ended(started, 120, problems)
stop.set()
for th in workers:
    th.join()
for wid in started:
    st, b = req("GET", f"/api/v1/workflows/{wid}")
    if st != 200:
        continue
    events = req("GET", f"/api/v1/workflows/{wid}/history?limit=1000")[1]["events"]
    if [e["seq"] for e in events] != list(range(1, len(events) + 1)):
        problems.append(("history seq", wid))
    got = [e["data"].get("payload", {}).get("k") for e in events if e["type"] == "SignalReceived"]
    problems += [("acknowledged signal missing", wid, k) for k in signals.get(wid, []) if k not in got]
    if wid in cancelled and b["status"] != "CANCELLED":
        problems.append(("acknowledged cancel lost", wid, b["status"]))
    if started[wid] == "sg" and b["status"] != "CANCELLED":
        if b["status"] != "COMPLETED":
            problems.append(("signal step not completed", wid, b["status"]))
        elif got and b["steps"][0].get("output", {}).get("k") != got[0]:
            problems.append(("signal step output is not the first go", wid))
    outs = [e["data"].get("output", {}).get("k") for e in events if e["type"] == "StepCompleted"]
    if b["status"] != "CANCELLED":
        problems += [("acknowledged completion lost", wid, k) for k in completed.get(wid, []) if k not in outs]
node.stop()
verdict(problems)
