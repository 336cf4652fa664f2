// raft_groups: what Canonical's C Raft (Debian's libraft-dev 0.15) itself costs per
// replication group, the first evaluation REPLICATION.md asks for ("an raft_io over
// our CAF transport and RocksDB, one instance per group … write our own Raft only if
// it cannot serve hundreds of groups per node efficiently").
//
// Each group is a raft_fixture: three raft instances over the library's in-memory I/O
// with a virtual clock (no sockets, no disk, no threads), as a node would host one
// replica of each of its shards' groups and its peers the other two. Measured on this
// process's CPU clock, so the figures are the library's own work plus the fixture's
// in-memory network and disk, an upper bound of what Raft itself adds to a node per group
// (our raft_io, the wire and RocksDB come on top):
//   - heap per group after start and election (three replicas; after writes the
//     fixture's in-memory disk keeps every entry, so only the raft logs' length is told),
//   - idle cost: CPU per group per second of virtual time with a leader and no writes
//     (heartbeats every heartbeat-timeout),
//   - write cost: CPU per committed entry, proposals of `batch` entries of `bytes` each,
//     one in flight per group, committed by the majority and applied on all three
//     replicas (snapshots every 128 entries keep the logs short).
// Not part of the CMake build (libraft-dev is not a dependency of the engine yet):
// bench/run_raft_eval.sh installs the package, compiles and runs it.
//
// raft_groups [groups] [idle seconds] [entries per group] [batch] [bytes]

extern "C" {  // the headers of libraft-dev 0.15 declare no C linkage themselves
#include <raft.h>
#include <raft/fixture.h>
}
#include <malloc.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

struct counter {
  std::uint64_t applied = 0;
};

int fsm_apply(raft_fsm* fsm, const raft_buffer* /*buf*/, void** result) {
  ++static_cast<counter*>(fsm->data)->applied;
  *result = nullptr;
  return 0;
}

int fsm_snapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n) {
  auto* b = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
  b->len = sizeof(std::uint64_t);
  b->base = raft_malloc(b->len);
  std::memcpy(b->base, &static_cast<counter*>(fsm->data)->applied, b->len);
  *bufs = b;
  *n = 1;
  return 0;
}

int fsm_restore(raft_fsm* fsm, raft_buffer* buf) {
  std::memcpy(&static_cast<counter*>(fsm->data)->applied, buf->base, sizeof(std::uint64_t));
  raft_free(buf->base);
  return 0;
}

struct group {
  raft_fixture f{};
  raft_fsm fsms[3]{};
  counter counters[3];
};

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Heap in use (glibc's count of allocated bytes: freed memory the allocator keeps is
// not counted, unlike RSS).
double heap_bytes() { return static_cast<double>(mallinfo2().uordblks); }

bool start(group& g) {
  if (raft_fixture_initialize(&g.f) != 0) return false;
  for (int i = 0; i < 3; ++i) {
    g.fsms[i] = raft_fsm{};
    g.fsms[i].version = 1;
    g.fsms[i].data = &g.counters[i];
    g.fsms[i].apply = fsm_apply;
    g.fsms[i].snapshot = fsm_snapshot;
    g.fsms[i].restore = fsm_restore;
    if (raft_fixture_grow(&g.f, &g.fsms[i]) != 0) return false;
  }
  // The log is kept short, as a shard's would be (its state machine is RocksDB, so a
  // snapshot is cheap): the fixture checks the leader's whole log at every step, which
  // would otherwise make the cost grow with the entries written.
  for (unsigned i = 0; i < 3; ++i) {
    raft_set_snapshot_threshold(raft_fixture_get(&g.f, i), 128);
    raft_set_snapshot_trailing(raft_fixture_get(&g.f, i), 32);
  }
  raft_configuration conf;
  if (raft_fixture_configuration(&g.f, 3, &conf) != 0) return false;
  const int rv = raft_fixture_bootstrap(&g.f, &conf);
  raft_configuration_close(&conf);
  if (rv != 0 || raft_fixture_start(&g.f) != 0) return false;
  return raft_fixture_step_until_has_leader(&g.f, 10'000);
}

struct proposal {
  struct raft_apply req {};
  std::uint64_t* done = nullptr;
};

void applied_cb(struct raft_apply* req, int status, void* /*result*/) {
  auto* p = static_cast<proposal*>(req->data);
  if (status == 0) ++*p->done;
  delete p;
}

// Proposes `entries` entries in proposals of `batch` entries, one proposal in flight (the
// next once the leader applied the last), and steps the fixture until all are applied on
// every replica; false when that does not happen.
bool write(group& g, unsigned entries, unsigned batch, std::size_t bytes, std::uint64_t& done) {
  const unsigned leader = raft_fixture_leader_index(&g.f);
  if (leader >= 3) return false;
  raft* r = raft_fixture_get(&g.f, leader);
  std::vector<raft_buffer> bufs(batch);
  unsigned proposed = 0;
  while (proposed < entries) {
    const unsigned n = std::min(batch, entries - proposed);
    for (unsigned i = 0; i < n; ++i) {
      bufs[i].len = bytes;
      bufs[i].base = raft_malloc(bytes);
      std::memset(bufs[i].base, 'x', bytes);
    }
    auto* p = new proposal;
    p->req.data = p;
    p->done = &done;
    const raft_index last = raft_last_index(r) + n;
    if (raft_apply(r, &p->req, bufs.data(), n, applied_cb) != 0) {
      std::fprintf(stderr, "raft_apply: %s\n", raft_errmsg(r));
      return false;
    }
    proposed += n;
    if (!raft_fixture_step_until_applied(&g.f, leader, last, 10'000)) return false;
  }
  const raft_index last = raft_last_index(r);
  for (unsigned i = 0; i < 3; ++i) {
    if (!raft_fixture_step_until_applied(&g.f, i, last, 60'000)) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned groups = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 300;
  const unsigned idle_seconds = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 10;
  const unsigned entries = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 2000;
  const unsigned batch = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 8;
  const std::size_t bytes = argc > 5 ? static_cast<std::size_t>(std::atoi(argv[5])) : 200;
  if (groups == 0 || batch == 0) {
    std::fprintf(stderr, "usage: raft_groups [groups] [idle s] [entries] [batch] [bytes]\n");
    return 2;
  }

  const double heap0 = heap_bytes();
  const double cpu0 = cpu_seconds();
  std::vector<std::unique_ptr<group>> gs;
  for (unsigned i = 0; i < groups; ++i) {
    gs.push_back(std::make_unique<group>());
    if (!start(*gs.back())) {
      std::fprintf(stderr, "group %u: no leader\n", i);
      return 1;
    }
  }
  const double cpu_start = cpu_seconds() - cpu0;
  const double heap_groups = heap_bytes() - heap0;

  // Idle: every group with a leader, virtual time advancing, no writes.
  const double cpu1 = cpu_seconds();
  for (auto& g : gs) raft_fixture_step_until_elapsed(&g->f, idle_seconds * 1000);
  const double idle = cpu_seconds() - cpu1;

  // Writes: `entries` per group, in proposals of `batch`.
  std::uint64_t done = 0;
  const double cpu2 = cpu_seconds();
  for (auto& g : gs) {
    if (!write(*g, entries, batch, bytes, done)) {
      std::fprintf(stderr, "a group did not apply its entries\n");
      return 1;
    }
  }
  const double writing = cpu_seconds() - cpu2;
  std::uint64_t applied = 0;
  for (auto& g : gs) {
    for (auto& c : g->counters) applied += c.applied;
  }
  const double total_entries = static_cast<double>(groups) * entries;
  if (applied != static_cast<std::uint64_t>(total_entries) * 3) {
    std::fprintf(stderr, "applied %llu, expected %.0f\n", static_cast<unsigned long long>(applied),
                 total_entries * 3);
    return 1;
  }
  const double heap_after = heap_bytes() - heap0;
  // Entries each replica's raft log still holds (the fixture's in-memory "disk" keeps
  // its own copy of every entry: the heap figure after writes is the fixture's).
  std::size_t in_logs = 0;
  std::uint64_t snapshot_index = 0;
  for (auto& g : gs) {
    for (unsigned i = 0; i < 3; ++i) {
      const raft_log& log = raft_fixture_get(&g->f, i)->log;
      in_logs += log.back >= log.front ? log.back - log.front : log.size - log.front + log.back;
      snapshot_index += log.snapshot.last_index;
    }
  }

  std::printf("groups: %u (3 replicas each, in-memory fixture I/O)\n", groups);
  std::printf("start + first election: %.1f ms CPU per group\n", cpu_start * 1e3 / groups);
  std::printf(
      "heap: %.1f KiB per group after start (%.1f KiB after %u entries of %zu B, most "
      "of it the fixture's copy of every entry)\n",
      heap_groups / 1024.0 / groups, heap_after / 1024.0 / groups, entries, bytes);
  std::printf("raft logs: %.1f entries per replica left, last snapshot at %.0f on average\n",
              static_cast<double>(in_logs) / (3.0 * groups),
              static_cast<double>(snapshot_index) / (3.0 * groups));
  std::printf(
      "idle (heartbeats, %u s virtual): %.1f us CPU per group per second = %.3f %% of a core "
      "for %u groups\n",
      idle_seconds, idle * 1e6 / groups / idle_seconds, idle * 100.0 / idle_seconds, groups);
  std::printf(
      "writes: %.0f entries in proposals of %u: %.2f us CPU per committed entry "
      "(3 replicas, applied on all)\n",
      total_entries, batch, writing * 1e6 / total_entries);
  std::printf(
      "{\"groups\":%u,\"idle_us_per_group_s\":%.2f,\"write_us_per_entry\":%.2f,"
      "\"kib_per_group_at_start\":%.1f}\n",
      groups, idle * 1e6 / groups / idle_seconds, writing * 1e6 / total_entries,
      heap_groups / 1024.0 / groups);
  for (auto& g : gs) raft_fixture_close(&g->f);
  return 0;
}
