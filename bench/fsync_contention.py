#!/usr/bin/env python3
"""How long a small synced write (a WAL's: 200 B + fdatasync) takes on this disk while
another writer does what a RocksDB memtable flush does: write 64 MB and sync it every
0.5 s. The machine's side of the journal's sync stalls (bench/README.md, "Fifteenth
pass"; persistence/README.md, "Background writes go to the disk in 1 MiB ranges").

Usage: bench/fsync_contention.py [--dir DIR] [--seconds N] [--record BYTES] [MODE...]
  MODE: none     no second writer
        bulk     64 MB written, then one fsync (a flush without bytes_per_sync)
        chunked  64 MB in 1 MB steps, each synced before the next (strict bytes_per_sync)
        delete   bulk, and the file deleted afterwards (discard on a `discard` mount)
  Default: all four. DIR defaults to a temp dir under /tmp (the disk the bench's nodes
  use); it is removed afterwards. Prints per mode: syncs, p50/p99/p99.9/max in ms and
  the count over 20 ms. --record sets the synced write's size (default 200 B; a journal
  batch of ~30 starts is ~30 KB: `--record 30000 none` is that sync on an idle disk)."""
import argparse
import os
import shutil
import tempfile
import threading
import time

MB = 1 << 20


def churn(directory, mode, stop):
    block = os.urandom(MB)
    i = 0
    while not stop.is_set():
        path = os.path.join(directory, f"flush-{i}.sst")
        with open(path, "wb") as f:
            if mode == "chunked":
                for _ in range(64):
                    f.write(block)
                    f.flush()
                    os.fdatasync(f.fileno())
            else:
                f.write(block * 64)
                f.flush()
                os.fsync(f.fileno())
        if mode == "delete":
            os.unlink(path)
        i += 1
        stop.wait(0.5)


def run(directory, mode, seconds, record_bytes=200):
    os.makedirs(directory, exist_ok=True)
    stop = threading.Event()
    writer = None
    if mode != "none":
        writer = threading.Thread(target=churn, args=(directory, mode, stop))
        writer.start()
    fd = os.open(os.path.join(directory, "wal"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    record = b"x" * record_bytes
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        os.write(fd, record)
        os.fdatasync(fd)
        lat.append(time.perf_counter() - t0)
    os.close(fd)
    stop.set()
    if writer:
        writer.join()
    lat.sort()
    at = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] * 1e3
    over = sum(1 for x in lat if x > 0.020)
    print(f"{mode:8s} {len(lat):7d} syncs  p50 {at(0.5):.2f}  p99 {at(0.99):.2f}  "
          f"p99.9 {at(0.999):.2f}  max {lat[-1] * 1e3:.1f} ms  over 20 ms: {over}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--record", type=int, default=200)
    p.add_argument("modes", nargs="*", default=["none", "bulk", "chunked", "delete"])
    a = p.parse_args()
    base = a.dir or tempfile.mkdtemp(prefix="fsync-contention.", dir="/tmp")
    try:
        for mode in a.modes:
            d = os.path.join(base, mode)
            run(d, mode, a.seconds, a.record)
            shutil.rmtree(d, ignore_errors=True)
    finally:
        if not a.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
