#!/usr/bin/env python3
"""Random requests against every route: methods, paths (bad ids, escapes), query
strings, bodies (random JSON shaped like the API's, truncated JSON, random bytes).
Every answer must be < 500 (503 allowed) and every 4xx must be {"error":{"code",
"message"}}; the node must stay up and stop cleanly. --rounds is the number of
thousands of requests; SEED picks the sequence."""
import http.client
import json
import os
import random

from probe_common import Node, define, parse, req, verdict, PORT

opts = parse(__doc__, rounds=4)
random.seed(int(os.environ.get("SEED", "1")))
node = Node(opts)
node.start()
define("f1", [{"name": "a", "task": "queue:fq"}, {"name": "b", "task": "noop", "dependsOn": ["a"]}])
for i in range(5):
    req("POST", "/api/v1/workflows", {"id": f"f-{i}", "definition": "f1"})
paths = ["/api/v1/workflow-definitions", "/api/v1/workflow-definitions/f1", "/api/v1/workflows",
         "/api/v1/workflows/f-1", "/api/v1/workflows/f-1/history", "/api/v1/workflows/f-1/signals/s",
         "/api/v1/workflows/f-1/cancel", "/api/v1/tasks/poll", "/api/v1/tasks/abc/complete",
         "/api/v1/tasks/abc/fail", "/api/v1/tasks/abc/heartbeat", "/api/v1/dead-letters",
         "/api/v1/dead-letters/f-1/retry", "/api/v1/cluster/stats", "/api/v1/cluster/members",
         "/api/v1/tasks/queues", "/api/v1/tasks/queues/fq", "/api/v1/tasks/queues/%00",
         "/api/v1/cluster/sbr", "/api/v1/workflows?status=RUNNING&limit=2", "/health", "/ready",
         "/api/v1/cluster/shards", "/api/v1/cluster/shards/workflow", "/api/v1/cluster/shards/%00",
         "/api/v1/archived-workflows/f-1", "/api/v1/archived-workflows/f-1?from=0&limit=99999999",
         "/api/v1/archived-workflows/%00", "/api/v1/archived-workflows/",
         "/api/v1/archived-workflows?status=FAILED&cursor=1:0", "/api/v1/dead-letters/retry",
         "/api/v1/workflow-definitions?limit=2", "/api/v1/workflows?createdAfter=2020-01-01T00:00:00Z"]
values = [None, True, False, 0, -1, 1, 2**63, -2**63, 1e308, 0.5, "", "x", "a" * 300, "\u0000", "é",
          [], {}, [1, [2, [3]]], {"a": {"b": {}}}, "NaN", "queue:", "sleep", "noop", "http", "fail",
          3600000, 99999999999]
keys = ["id", "definition", "version", "input", "priority", "name", "steps", "task", "dependsOn",
        "retry", "timeoutMs", "maxAttempts", "initialIntervalMs", "backoffCoefficient",
        "maxIntervalMs", "nonRetryable", "queue", "workerId", "waitMs", "output", "error",
        "errorType", "message", "ms", "times", "url", "method", "body", "limit", "cursor"]


def value(depth=0):
    r = random.random()
    if depth < 3 and r < 0.15:
        return {random.choice(keys): value(depth + 1) for _ in range(random.randint(0, 5))}
    if depth < 3 and r < 0.25:
        return [value(depth + 1) for _ in range(random.randint(0, 4))]
    return random.choice(values)


def body():
    r = random.random()
    if r < 0.1:
        return "".join(random.choice('{}[]":,0123456789abc\\ \n') for _ in range(random.randint(0, 40)))
    if r < 0.15:
        return bytes(random.getrandbits(8) for _ in range(random.randint(0, 50))).decode("latin1")
    b = {random.choice(keys): value() for _ in range(random.randint(0, 6))}
    if random.random() < 0.5:
        b["steps"] = [{random.choice(keys): value() for _ in range(random.randint(0, 6))}
                      | {"name": random.choice("abc"), "task": random.choice(["noop", "sleep", "fail", "queue:q", "http", "zzz"])}
                      for _ in range(random.randint(0, 4))]
    return json.dumps(b)


problems = []
for i in range(opts.rounds * 1000):
    method = random.choice(["GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH"])
    path = random.choice(paths)
    if random.random() < 0.2:
        path = path.replace("f-1", random.choice(["", "%00", "..", "a" * 300, "%zz", "%C3%A9", "%FF%FE", "a%2Fb"]))
    if random.random() < 0.2:
        path += random.choice(["?limit=-1", "?limit=abc", "?cursor=zzz", "?status=BOGUS", "?limit=99999999999999999999"])
    payload = body().encode("utf-8", "surrogatepass")
    try:
        # Above the longest poll (pekko.workflow.tasks.poll.max-wait, 15 s): a valid poll
        # without waitMs waits default-wait (10 s) for a task that never comes.
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
        c.putrequest(method, path, skip_accept_encoding=True)
        c.putheader("Content-Type", random.choice(["application/json", "text/plain"]))
        c.putheader("Content-Length", str(len(payload)))
        c.endheaders()
        c.send(payload)
        r = c.getresponse()
        data = r.read()
        c.close()
    except OSError as e:
        if not node.alive():
            problems.append(("node died", method, path, payload[:200]))
            break
        problems.append(("no answer", method, path, str(e)))
        continue
    if r.status >= 500 and r.status != 503:
        problems.append((r.status, method, path, payload[:150], data[:200]))
    elif r.status >= 400:
        try:
            e = json.loads(data)["error"]
            assert isinstance(e["code"], str) and isinstance(e["message"], str)
        except Exception:
            problems.append(("not the error shape", r.status, method, path, data[:200]))
if node.alive() and node.stop() != 0:
    problems.append(("unclean stop",))
verdict(problems)
