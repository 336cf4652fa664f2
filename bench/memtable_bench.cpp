// memtable_bench: the journal's events family under three memtables in one run — our
// prefix memtable (persistence/internal/prefix_memtable), RocksDB's hashed linked lists
// (what the stores used before) and RocksDB's default skip list. Per round, a fresh
// RocksDB (WAL off, one memtable large enough for everything) gets `ids` workflows of 5
// events each (keys as the journal writes them: shard | id | 0x00 0x01 | seq), then one
// flush; prints the insert and flush time per memtable (the best of the rounds after
// the first, and the mean), interleaved so the VM's drift hits them alike.
//
// Usage: memtable_bench [ids (default 100000)] [rounds (default 6)]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "persistence/internal/key_codec.hpp"
#include "persistence/internal/prefix_memtable.hpp"

namespace {

struct memtable_kind {
  const char* name;
  std::function<rocksdb::MemTableRepFactory*(const rocksdb::Comparator*)> make;
  double insert_ms_sum = 0;
  double flush_ms_sum = 0;
  double insert_ms_best = 1e18;
  double flush_ms_best = 1e18;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// One round: inserts, then a flush; false when RocksDB refused something.
bool run(memtable_kind& kind, int ids, std::uint64_t seed, const std::filesystem::path& dir,
         bool counted) {
  std::filesystem::remove_all(dir);
  rocksdb::Options o;
  o.create_if_missing = true;
  o.write_buffer_size = std::size_t{1} << 30;  // one memtable holds the round
  o.prefix_extractor = wfe::persistence::internal::event_key_prefix();
  o.memtable_factory.reset(kind.make(o.comparator));
  o.allow_concurrent_memtable_write = false;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, dir.string(), &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "memtable_bench: open: %s\n", s.ToString().c_str());
    return false;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  std::mt19937_64 rng(seed);
  const std::string value(150, 'v');
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < ids; ++i) {
    std::string id("\x00\x00\x00\x07", 4);
    id += "wf-" + std::to_string(rng());
    id.append("\x00\x01", 2);
    rocksdb::WriteBatch batch;
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
      std::string key = id;
      for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(seq >> shift));
      batch.Put(key, value);
    }
    s = db->Write(wo, &batch);
    if (!s.ok()) {
      std::fprintf(stderr, "memtable_bench: write: %s\n", s.ToString().c_str());
      return false;
    }
  }
  const double insert_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  s = db->Flush(rocksdb::FlushOptions{});
  const double flush_ms = ms_since(t1);
  if (!s.ok()) {
    std::fprintf(stderr, "memtable_bench: flush: %s\n", s.ToString().c_str());
    return false;
  }
  if (counted) {
    kind.insert_ms_sum += insert_ms;
    kind.flush_ms_sum += flush_ms;
    kind.insert_ms_best = std::min(kind.insert_ms_best, insert_ms);
    kind.flush_ms_best = std::min(kind.flush_ms_best, flush_ms);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int ids = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 6;
  if (ids <= 0 || rounds < 2) {
    std::fprintf(stderr, "usage: memtable_bench [ids > 0] [rounds >= 2]\n");
    return 2;
  }
  std::vector<memtable_kind> kinds{
      {"prefix (ours)",
       [](const rocksdb::Comparator* c) {
         return wfe::persistence::internal::new_prefix_memtable_factory(c);
       }},
      {"hashed linked lists",
       [](const rocksdb::Comparator*) { return rocksdb::NewHashLinkListRepFactory(65536); }},
      {"skip list (default)",
       [](const rocksdb::Comparator*) { return new rocksdb::SkipListFactory(); }},
  };
  const auto dir = std::filesystem::temp_directory_path() /
                   ("wfe-memtable-bench-" + std::to_string(::getpid()));
  for (int r = 0; r < rounds; ++r) {
    for (auto& k : kinds) {
      if (!run(k, ids, static_cast<std::uint64_t>(r), dir, r > 0)) return 1;
    }
  }
  std::filesystem::remove_all(dir);
  const double n = rounds - 1;
  std::printf("%d workflows x 5 events per round, %d rounds (the first not counted)\n", ids,
              rounds);
  for (const auto& k : kinds) {
    std::printf("%-22s insert best %7.1f ms mean %7.1f ms | flush best %7.1f ms mean %7.1f ms\n",
                k.name, k.insert_ms_best, k.insert_ms_sum / n, k.flush_ms_best, k.flush_ms_sum / n);
  }
  return 0;
}
