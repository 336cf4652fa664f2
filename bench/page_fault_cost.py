#!/usr/bin/env python3
"""What a first touch of fresh anonymous memory costs on this machine, per 4 KiB page.

Usage: bench/page_fault_cost.py [--mib N] [--rounds R]

Maps N MiB (default 256) of anonymous memory and writes one byte per page, timing the
loop: each write is a minor page fault (the kernel zeroes and maps a page). Then the same
with madvise(MADV_HUGEPAGE) first (transparent huge pages, where the kernel grants them).
The Python loop itself costs ~0.1 us per page; on bare metal a fault is well under 1 us,
on some VMs (shadow paging) over 10 us. bench/README.md ("Thirty-second pass") uses it to
price the faults a node takes per workflow start.
"""
import argparse
import mmap
import time

PAGE = mmap.PAGESIZE


def touch(size, huge):
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge and hasattr(mmap, "MADV_HUGEPAGE"):
        m.madvise(mmap.MADV_HUGEPAGE)
    start = time.perf_counter()
    for off in range(0, size, PAGE):
        m[off] = 1
    took = time.perf_counter() - start
    m.close()
    return took * 1e6 / (size // PAGE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    size = a.mib << 20
    for r in range(a.rounds):
        plain = touch(size, False)
        huge = touch(size, True)
        print(f"round {r + 1}: {plain:.2f} us per 4 KiB page faulted in; "
              f"{huge:.2f} us per page with MADV_HUGEPAGE")


if __name__ == "__main__":
    main()
