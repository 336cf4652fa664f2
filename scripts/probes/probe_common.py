"""Shared by the probes: one workflow-engine node on 127.0.0.1 (HTTP 18080, metrics
19095, transport 25520) over a data directory that survives kill -9 and restarts."""
import argparse
import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

PORT = 18080


def parse(description, rounds=3):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("binary", help="the workflow-engine binary")
    p.add_argument("--rounds", type=int, default=rounds, help="kill -9 rounds")
    p.add_argument("--dir", default="/tmp/wfe-probe", help="data directory (wiped first)")
    p.add_argument("-D", dest="overrides", action="append", default=[],
                   help="extra -Dkey=value for the node (repeatable, without the -D)")
    return p.parse_args()


def req(method, path, body=None, timeout=10):
    """One request on a fresh connection: (status, parsed JSON body or None)."""
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        try:
            return r.status, (json.loads(data) if data else None)
        except ValueError:
            return r.status, data
    finally:
        c.close()


def post(conn, path, body, timeout=5):
    """POST JSON on a kept-alive connection (a new one when `conn` is None):
    (conn, status, body bytes). OSError propagates; the caller drops the connection."""
    conn = conn or http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return conn, r.status, r.read()


def call(conn, method, path, body=None):
    """One request on a kept-alive connection: (status, parsed JSON body or None).
    OSError propagates; the caller drops the connection."""
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def metric(series):
    """The value of the first /metrics line (port 19095) starting with `series` + " ",
    or None when there is none or the port does not answer."""
    c = http.client.HTTPConnection("127.0.0.1", 19095, timeout=10)
    try:
        c.request("GET", "/metrics")
        for line in c.getresponse().read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
    except OSError:
        return None
    finally:
        c.close()
    return None


class Node:
    def __init__(self, opts, log_dir=None):
        self.binary = opts.binary
        self.dir = opts.dir
        self.log_dir = log_dir or self.dir
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)  # (a mount point stays)
        self.args = [
            "-Dpekko.workflow.logging.level=info",
            "-Dpekko.remote.artery.canonical.hostname=127.0.0.1",
            "-Dpekko.remote.artery.canonical.port=25520", "-Dpekko.cluster.seed-nodes=[]",
            "-Dpekko.workflow.http.interface=127.0.0.1", f"-Dpekko.workflow.http.port={PORT}",
            "-Dpekko.workflow.metrics.interface=127.0.0.1", "-Dpekko.workflow.metrics.port=19095",
            f"-Dpekko.persistence.journal.rocksdb.dir={self.dir}/journal",
            f"-Dpekko.persistence.snapshot-store.rocksdb.dir={self.dir}/snapshots",
        ] + ["-D" + o for o in opts.overrides]
        self.proc = None
        self.starts = 0
        # A probe that dies (an exception, sys.exit) must not leave its node holding the
        # ports for the next one.
        atexit.register(self._kill_if_alive)

    def _kill_if_alive(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill9()

    def start(self):
        # A node left running (by another probe or a benchmark) would answer in its
        # place: this one would fail to bind and every check would test the other.
        for port in (PORT, 19095, 25520):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    sys.exit(f"127.0.0.1:{port} is taken by another process: stop it first")
        self.starts += 1
        log = open(os.path.join(self.log_dir, f"log{self.starts}"), "w")
        self.proc = subprocess.Popen([self.binary] + self.args, stdout=log,
                                     stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                if req("GET", "/ready")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                sys.exit(f"node exited {self.proc.returncode}: see {self.log_dir}/log{self.starts}")
            time.sleep(0.1)
        sys.exit("node not ready after 30 s")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait()

    def alive(self):
        return self.proc.poll() is None


def define(name, steps):
    st, b = req("POST", "/api/v1/workflow-definitions", {"name": name, "steps": steps})
    if st not in (200, 201):
        sys.exit(f"defining {name}: {st} {b}")


def list_all(query):
    """Every item of GET /api/v1/workflows?<query>, following nextCursor."""
    items, cursor = [], None
    while True:
        st, b = req("GET", "/api/v1/workflows?" + query + (f"&cursor={cursor}" if cursor else ""))
        if st != 200:
            sys.exit(f"listing {query}: {st} {b}")
        items += b["items"]
        cursor = b.get("nextCursor")
        if not cursor:
            return items


def verdict(problems):
    print(f"problems: {len(problems)}")
    for p in problems[:20]:
        print("  ", p)
    sys.exit(1 if problems else 0)


def kill_rounds(node, rounds, targets, report, stop, longest=2.5):
    """Each round: run a thread per (function, args) of targets(round), kill -9 the node
    after 1..`longest` s, set `stop`, join the threads, report(round), restart the node."""
    for rnd in range(rounds):
        stop.clear()
        threads = [threading.Thread(target=f, args=a) for f, a in targets(rnd)]
        for th in threads:
            th.start()
        time.sleep(random.uniform(1.0, longest))
        node.kill9()
        stop.set()
        for th in threads:
            th.join()
        report(rnd)
        node.start()


def wait_until_ended(ids, timeout_s, problems):
    """Polls GET /api/v1/workflows/{id} until every id is COMPLETED, FAILED or CANCELLED;
    returns {id: its last JSON}. An id that is not found, or not ended in time, is a
    problem."""
    ended, pending, deadline = {}, set(ids), time.time() + timeout_s
    while pending and time.time() < deadline:
        for wid in list(pending):
            st, b = req("GET", f"/api/v1/workflows/{wid}")
            if st != 200:
                problems.append(("acknowledged, then not found", wid, st))
                pending.discard(wid)
            elif b["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                ended[wid] = b
                pending.discard(wid)
        time.sleep(0.5)
    problems += [(f"not ended in {timeout_s} s", wid) for wid in pending]
    return ended
