// journal_crash_writer: writes events to the real RocksDB journal through the journal
// actor (fsync on) from many concurrent writers, and prints one line per
// ACKNOWLEDGED write to stdout, flushed before the next write of that writer:
//
//   ack <persistence id> <highest acknowledged sequence nr>
//
// It runs until killed (the crash test sends SIGKILL at a random moment). On start it
// continues every id from the journal's highest, so rounds accumulate in one journal.
// Usage: journal_crash_writer --dir DIR [--pids N] [--max-batch M]
// Events carry "<id>:<seq>" as payload so the checker can verify their content.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "persistence/journal_actor.hpp"
#include "persistence/rocksdb_journal.hpp"

using namespace wfe::persistence;

namespace {

std::mutex out_mutex;

void print_ack(const persistence_id& pid, std::uint64_t seq) {
  std::scoped_lock lock(out_mutex);
  std::printf("ack %s %llu\n", pid.id().c_str(), static_cast<unsigned long long>(seq));
  std::fflush(stdout);  // the line is out before the writer sends its next write
}

event payload_event(const persistence_id& pid, std::uint64_t seq) {
  return event{seq, "crash", pid.id() + ":" + std::to_string(seq), "crash-writer", 0};
}

// One writer: 1..max_batch events per write (varies, so batches mix sizes), next write
// only after the acknowledgement of the previous one. With `store`, each request is
// prepared first (journal::prepare, as the workflow entities do: encoded, and a first
// write's metadata read ahead), so prepared and plain writes share the batches.
void writer(caf::event_based_actor* self, caf::actor journal_actor, persistence_id pid,
            std::uint64_t start_after, std::uint64_t max_batch,
            std::shared_ptr<const journal> store) {
  auto next = std::make_shared<std::function<void(std::uint64_t)>>();
  *next = [=](std::uint64_t highest) {
    const std::uint64_t n = 1 + (highest % max_batch);
    write_request req{pid, {}};
    for (std::uint64_t i = 1; i <= n; ++i) req.events.push_back(payload_event(pid, highest + i));
    if (store) store->prepare(req);
    request_write(self, journal_actor, std::chrono::seconds(30), std::move(req),
                  [=](result<std::uint64_t> r) {
                    if (!r) {
                      std::fprintf(stderr, "write failed: %s\n", r.error().describe().c_str());
                      std::_Exit(3);
                    }
                    print_ack(pid, *r);
                    (*next)(*r);
                  });
  };
  (*next)(start_after);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int pids = 16;
  std::uint64_t max_batch = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--pids") == 0) pids = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--max-batch") == 0) max_batch = std::stoull(argv[i + 1]);
  }
  if (dir.empty() || pids <= 0 || max_batch == 0) {
    std::fprintf(stderr, "usage: journal_crash_writer --dir DIR [--pids N] [--max-batch M]\n");
    return 64;
  }
  auto opened = rocksdb_journal::open(rocksdb_journal_config{.dir = dir, .fsync = true});
  if (!opened) {
    std::fprintf(stderr, "open failed: %s\n", opened.error().describe().c_str());
    return 2;
  }
  std::shared_ptr<journal> store = std::move(opened).value();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto journal_actor = spawn_journal_actor(sys, {store, nullptr, nullptr}, {});
  for (int i = 0; i < pids; ++i) {
    persistence_id pid{shard_id{static_cast<std::uint32_t>(i % 4)}, "crash-" + std::to_string(i)};
    auto highest = store->highest_sequence_nr(pid);
    if (!highest) return 2;
    // Every other writer prepares its requests.
    sys.spawn(writer, journal_actor, pid, *highest, max_batch,
              i % 2 == 0 ? std::shared_ptr<const journal>(store) : nullptr);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) ::pause();  // until SIGKILL
}
