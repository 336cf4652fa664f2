#!/usr/bin/env bash
# What this machine charges for entering its kernel: the time of a null system call
# (getppid) and of a first touch of a fresh 4 KiB page (a page fault), and of a page in a
# region given MADV_HUGEPAGE (faults per 2 MiB when transparent huge pages are on).
# On the project's PVM guests both are ~1 µs (bench/README.md "Fortieth pass"): they,
# not instructions, set the price of a system call or a fault per workflow start.
#
# Usage: bench/syscall_cost.sh        Needs gcc (make test installs it).
set -euo pipefail
tmp=$(mktemp -d /tmp/syscall-cost.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp"/cost.c <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}
static double touch(size_t bytes, int huge) {
  char* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -1;
  if (huge) madvise(p, bytes, MADV_HUGEPAGE);
  double a = now();
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  double b = now();
  munmap(p, bytes);
  return (b - a) / (bytes / 4096);
}
int main(void) {
  const int n = 1000000;
  double a = now();
  for (int i = 0; i < n; ++i) syscall(SYS_getppid);
  printf("null system call: %.0f ns\n", (now() - a) / n);
  printf("first touch of a 4 KiB page: %.0f ns\n", touch(256u << 20, 0));
  printf("first touch of a 4 KiB page with MADV_HUGEPAGE: %.0f ns (per 4 KiB)\n",
         touch(256u << 20, 1));
  return 0;
}
C
gcc -O2 -o "$tmp"/cost "$tmp"/cost.c
for round in 1 2 3; do echo "round $round:"; "$tmp"/cost; done
