#!/usr/bin/env python3
"""Dead letters and their retries across kill -9 and graceful stops. Six clients start
workflows whose step "ship" is `fail {"times": T}` with 2 attempts per run (T = 1: no dead
letter; 3 and 5: one and two dead-letter retries needed; one definition fails "ship" while
a parallel sleep runs, which goes back to PENDING); two retriers list the dead letters and
retry them (and retry ids that are not dead letters: must be 404, never 5xx but 503). The
node is stopped at random moments, kill -9 and SIGTERM in turn (a SIGTERM must end the
node with exit 0 within 30 s). Then, with nobody retrying, once no workflow is RUNNING:
the dead letters are exactly the FAILED workflows, each naming its step and its attempts
(over the workflow's life: 2 per run). Then
everything is retried until all are COMPLETED. At the end: every acknowledged start is
COMPLETED, its history is seq 1..n, every acknowledged retry (202) is a
StepRetriedFromDeadLetter in it, each retry follows one WorkflowFailed, "ship" ran T + 1
attempts in all, and no dead letter is left."""
import http.client
import random
import signal
import threading
import time

from probe_common import call, Node, define, list_all, parse, req, verdict, PORT

opts = parse(__doc__, rounds=4)
node = Node(opts)
node.start()
retry = {"maxAttempts": 2, "initialIntervalMs": 20, "backoffCoefficient": 1.0, "maxIntervalMs": 20}
times = {"dl1": 1, "dl3": 3, "dl5": 5, "dlp": 3}
for name, t in times.items():
    ship = {"name": "ship", "task": "fail", "input": {"times": t}, "retry": retry}
    if name == "dlp":
        define(name, [ship, {"name": "slow", "task": "sleep", "input": {"ms": 300}},
                      {"name": "end", "task": "noop", "dependsOn": ["ship", "slow"]}])
    else:
        define(name, [{"name": "a", "task": "noop"}, dict(ship, dependsOn=["a"]),
                      {"name": "end", "task": "sleep", "input": {"ms": 20}, "dependsOn": ["ship"]}])
lock, stop, problems = threading.Lock(), threading.Event(), []
started, retried = {}, {}  # id -> definition; id -> acknowledged retries (202)


def dead_letters(c=None):
    """Every dead letter (following nextCursor): {workflow id: item}."""
    items, cursor = {}, None
    while True:
        path = "/api/v1/dead-letters?limit=100" + (f"&cursor={cursor}" if cursor else "")
        st, b = call(c, "GET", path) if c else req("GET", path)
        if st != 200:
            raise OSError(f"dead letters: {st} {b}")
        for it in b["items"]:
            items[it["workflowId"]] = it
        cursor = b.get("nextCursor")
        if not cursor:
            return items


def client(t, rnd):
    c, i = None, 0
    while not stop.is_set():
        i += 1
        try:
            c = c or http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            wid, d = f"d{rnd}-{t}-{i}", random.choice(list(times))
            if call(c, "POST", "/api/v1/workflows", {"id": wid, "definition": d})[0] == 201:
                with lock:
                    started[wid] = d
            time.sleep(0.01)
        except OSError:
            c = None
            time.sleep(0.05)


def retry_one(c, wid):
    st, b = call(c, "POST", f"/api/v1/dead-letters/{wid}/retry")
    if st == 202:
        with lock:
            retried[wid] = retried.get(wid, 0) + 1
    elif st >= 500 and st != 503 or st not in (202, 404, 503):
        problems.append(("dead-letter retry answered", wid, st, b))
    return st


def retrier(t):
    c = None
    while not stop.is_set():
        try:
            c = c or http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            for wid in list(dead_letters(c))[:20]:
                if stop.is_set():
                    break
                if random.random() < 0.7:
                    retry_one(c, wid)
            with lock:
                some = random.choice(list(started)) if started else None
            if some is not None:
                retry_one(c, some)  # mostly not FAILED: 404
            time.sleep(0.05)
        except (OSError, ValueError, KeyError):
            c = None
            time.sleep(0.05)


for rnd in range(opts.rounds):
    stop.clear()
    threads = [threading.Thread(target=client, args=(t, rnd)) for t in range(6)]
    threads += [threading.Thread(target=retrier, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    time.sleep(random.uniform(1.0, 3.0))
    how = "kill -9" if rnd % 2 == 0 else "SIGTERM"
    if how == "kill -9":
        node.kill9()
    else:
        node.proc.send_signal(signal.SIGTERM)
        try:
            code = node.proc.wait(timeout=30)
            if code != 0:
                problems.append(("SIGTERM: exit code", code, rnd))
        except Exception:  # subprocess.TimeoutExpired
            problems.append(("SIGTERM: still running after 30 s", rnd))
            node.kill9()
    stop.set()
    for th in threads:
        th.join()
    print(f"round {rnd} ({how}): {len(started)} started, {sum(retried.values())} retries acknowledged",
          flush=True)
    node.start()

# Nobody retries now: every workflow ends COMPLETED or FAILED by itself.
deadline = time.time() + 120
while time.time() < deadline and list_all("status=RUNNING&limit=500"):
    time.sleep(0.5)
running = list_all("status=RUNNING&limit=500")
problems += [("still RUNNING without retries", w["id"]) for w in running]
failed = {w["id"] for w in list_all("status=FAILED&limit=500")}
dead = dead_letters()
problems += [("FAILED without a dead letter", w) for w in sorted(failed - set(dead))]
problems += [("dead letter of a workflow not FAILED", w) for w in sorted(set(dead) - failed)]
for wid, it in dead.items():
    # attempts count over the workflow's life: 2 per run, as many runs as retries + 1
    st, b = req("GET", f"/api/v1/workflows/{wid}")
    ship = next((s for s in b["steps"] if s["name"] == "ship"), {}) if st == 200 else {}
    if it.get("step") != "ship" or it.get("attempts") != ship.get("attempts") or it["attempts"] % 2:
        problems.append(("dead letter names", wid, it, ship.get("attempts")))
print(f"quiet: {len(failed)} FAILED, {len(dead)} dead letters", flush=True)

# Retry until everything completed.
deadline = time.time() + 180
while time.time() < deadline:
    dead = dead_letters()
    for wid in dead:
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        retry_one(c, wid)
        c.close()
    if not dead and not list_all("status=RUNNING&limit=500"):
        break
    time.sleep(0.3)

for wid, d in started.items():
    st, b = req("GET", f"/api/v1/workflows/{wid}")
    if st != 200:
        problems.append(("acknowledged, then not found", wid, st))
        continue
    if b["status"] != "COMPLETED":
        problems.append(("not COMPLETED", wid, b["status"]))
    events = req("GET", f"/api/v1/workflows/{wid}/history?limit=1000")[1]["events"]
    if [e["seq"] for e in events] != list(range(1, len(events) + 1)):
        problems.append(("history seq", wid))
    kinds = [e["type"] for e in events]
    n_retries, n_failed = kinds.count("StepRetriedFromDeadLetter"), kinds.count("WorkflowFailed")
    if n_retries < retried.get(wid, 0):
        problems.append(("acknowledged retry missing", wid, retried[wid], n_retries))
    if n_failed != n_retries + (b["status"] == "FAILED"):
        problems.append(("failures and retries do not pair", wid, n_failed, n_retries))
    ship = next((s for s in b["steps"] if s["name"] == "ship"), None)
    if b["status"] == "COMPLETED" and (ship is None or ship.get("attempts") != times[d] + 1):
        problems.append(("ship attempts", wid, ship and ship.get("attempts"), times[d] + 1))
left = dead_letters()
problems += [("dead letter left", w) for w in left]
print(f"end: {len(started)} workflows, {sum(retried.values())} retries acknowledged", flush=True)
if node.stop() != 0:
    problems.append(("final SIGTERM: exit code", node.proc.returncode))
verdict(problems)
