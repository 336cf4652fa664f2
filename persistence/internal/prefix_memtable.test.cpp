// The prefix memtable (internal::new_prefix_memtable_factory) as the stores use it,
// against an ordered map: random puts and deletes over many prefixes, memtables flushed
// between rounds (the flush reads the memtable in full key order), and every read
// compared with the model — Get, a prefix's keys forwards from a Seek and backwards from
// a SeekForPrev, and a total-order walk of everything (total_order_seek); also reads
// racing the writer.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/comparator.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include "persistence/internal/key_codec.hpp"
#include "persistence/internal/prefix_memtable.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

// Prefix `p` followed by a big-endian sequence number, so an id's keys go up with it.
std::string append_key_of(int p, std::uint64_t seq) {
  std::string k = "id-" + std::to_string(p) + (p % 3 == 0 ? "" : "x");
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(seq >> shift));
  return k;
}

// With `interleave`, odd sequence numbers of every third id get a high first byte: ids
// have different lengths, so such an id's keys lie on both sides of longer ids' ("id-3"
// ... "id-31x" ... "id-3p"), prefixes whose ranges interleave. RocksDB's prefix mode is
// not defined for such prefixes (a prefix's keys must be adjacent); the memtable must
// still give every entry in order to a flush and a total-order read.
std::string key_of(int p, std::uint64_t seq, bool interleave) {
  if (interleave && p % 3 == 0 && seq % 2 == 1) seq |= 0x7000000000000000ULL;
  return append_key_of(p, seq);
}

// As the index's status listings: a short fixed prefix shared by many keys, so lists
// grow past 64 entries (where the memtable turns a list into a skip list).
class first_bytes final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "test.first-bytes"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), std::min<std::size_t>(key.size(), 4)};
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

struct prefix_db {
  wfe::test::temp_dir dir;
  std::shared_ptr<const rocksdb::SliceTransform> prefix;
  std::unique_ptr<rocksdb::DB> db;
  bool interleave = false;  // key_of

  prefix_db(std::size_t write_buffer_size, std::shared_ptr<const rocksdb::SliceTransform> p,
            const rocksdb::Comparator* comparator = rocksdb::BytewiseComparator())
      : prefix(std::move(p)) {
    rocksdb::Options o;
    o.comparator = comparator;
    o.create_if_missing = true;
    o.write_buffer_size = write_buffer_size;
    o.prefix_extractor = prefix;
    o.memtable_factory.reset(wfe::persistence::internal::new_prefix_memtable_factory(o.comparator));
    o.allow_concurrent_memtable_write = false;
    o.paranoid_checks = true;
    o.check_flush_compaction_key_order = true;
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(o, (dir.path() / "db").string(), &raw);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    db.reset(raw);
  }
};

using ordered_model = std::map<std::string, std::string>;

// A prefix's keys, as the stores read them: forwards from a Seek and backwards from a
// SeekForPrev, stopping where the prefix ends (in prefix mode what lies beyond is
// undefined, so no read goes there).
void check_prefix_reads(const prefix_db& h, const ordered_model& m, const std::string& from) {
  const auto prefix = h.prefix->Transform(from).ToString();
  const auto in_prefix = [&](const rocksdb::Slice& k) {
    return h.prefix->Transform(k) == rocksdb::Slice(prefix);
  };
  std::vector<std::string> want;
  for (auto at = m.lower_bound(from); at != m.end(); ++at) {
    if (in_prefix(at->first)) want.push_back(at->first);
  }
  std::vector<std::string> forwards;
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator(rocksdb::ReadOptions{}));
  for (it->Seek(from); it->Valid() && in_prefix(it->key()); it->Next()) {
    const auto k = it->key().ToString();
    forwards.push_back(k);
    const auto at = m.find(k);
    CHECK_MESSAGE((at != m.end() && at->second == it->value().ToString()), k);
  }
  REQUIRE(it->status().ok());
  CHECK_MESSAGE(forwards == want, prefix << ": " << forwards.size() << " of " << want.size());

  std::vector<std::string> want_back;
  for (auto at = m.upper_bound(from); at != m.begin();) {
    --at;
    if (in_prefix(at->first)) want_back.push_back(at->first);
  }
  std::vector<std::string> backwards;
  for (it->SeekForPrev(from); it->Valid() && in_prefix(it->key()); it->Prev()) {
    backwards.push_back(it->key().ToString());
  }
  REQUIRE(it->status().ok());
  CHECK_MESSAGE(backwards == want_back,
                prefix << " backwards: " << backwards.size() << " of " << want_back.size());
}

void check_all(const prefix_db& h, const ordered_model& m, std::mt19937_64& rng, int prefixes) {
  auto& db = *h.db;
  // Get: present and absent keys.
  for (int i = 0; i < 200; ++i) {
    const auto k = key_of(static_cast<int>(rng() % prefixes), rng() % 40, h.interleave);
    std::string v;
    const auto s = db.Get(rocksdb::ReadOptions{}, k, &v);
    const auto at = m.find(k);
    if (at == m.end()) {
      CHECK_MESSAGE(s.IsNotFound(), k);
    } else {
      REQUIRE_MESSAGE(s.ok(), s.ToString());
      CHECK(v == at->second);
    }
  }
  for (int i = 0; i < 30 && !h.interleave; ++i) {
    check_prefix_reads(h, m, key_of(static_cast<int>(rng() % prefixes), rng() % 8, false));
  }
  // Everything in key order.
  rocksdb::ReadOptions total;
  total.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(total));
  auto want = m.begin();
  std::size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++want, ++n) {
    REQUIRE(want != m.end());
    CHECK(it->key().ToString() == want->first);
    CHECK(it->value().ToString() == want->second);
  }
  REQUIRE(it->status().ok());
  CHECK(n == m.size());
}

// Random appends, overwrites and deletes (events append per prefix, as the journal's
// do), memtables flushed as they fill, every read checked after each round and after a
// last flush and a full compaction.
void run_against_model(prefix_db& h, std::uint64_t seed) {
  ordered_model m;
  std::mt19937_64 rng(seed);
  constexpr int prefixes = 2000;
  std::map<int, std::uint64_t> next_seq;
  for (int round = 0; round < 12; ++round) {
    for (int b = 0; b < 40; ++b) {
      rocksdb::WriteBatch batch;
      for (int i = 0; i < 25; ++i) {
        const int p = static_cast<int>(rng() % prefixes);
        const auto roll = rng() % 10;
        std::uint64_t seq = 0;
        if (roll < 6 || next_seq[p] == 0) {
          seq = next_seq[p]++;  // an append
        } else if (roll < 8) {
          seq = rng() % next_seq[p];  // an overwrite of an older one
        } else {
          const auto k = key_of(p, rng() % next_seq[p], h.interleave);  // a delete
          batch.Delete(k);
          m.erase(k);
          continue;
        }
        const auto k = key_of(p, seq, h.interleave);
        const auto v = "v" + std::to_string(round) + "-" + std::to_string(rng() % 1000) +
                       std::string(rng() % 200, 'x');
        batch.Put(k, v);
        m[k] = v;
      }
      const auto s = h.db->Write(rocksdb::WriteOptions{}, &batch);
      REQUIRE_MESSAGE(s.ok(), s.ToString());
    }
    check_all(h, m, rng, prefixes);  // memtables and the files flushed so far
  }
  REQUIRE(h.db->Flush(rocksdb::FlushOptions{}).ok());
  check_all(h, m, rng, prefixes);
  REQUIRE(h.db->CompactRange(rocksdb::CompactRangeOptions{}, nullptr, nullptr).ok());
  check_all(h, m, rng, prefixes);
}

// One writer appending to many prefixes (in batches, as the journal's group commit)
// while readers check that what was acknowledged is there: a prefix read from its first
// key sees an unbroken run of sequence numbers at least as long as acknowledged, and a
// Get finds the last acknowledged key. Small write buffers: memtables switch and flush
// under the readers; lists turn into skip lists under them too.
void run_readers_against_writer(prefix_db& h) {
  constexpr int prefixes = 300;
  constexpr int batches = 1500;
  std::vector<std::atomic<std::uint64_t>> acknowledged(prefixes);
  std::atomic<bool> done{false};
  std::atomic<int> problems{0};
  std::atomic<long> reads{0};
  const auto reader = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!done.load()) {
      const int p = static_cast<int>(rng() % prefixes);
      const auto n = acknowledged[p].load();
      if (n == 0) continue;
      std::string v;
      if (!h.db->Get(rocksdb::ReadOptions{}, append_key_of(p, n - 1), &v).ok()) ++problems;
      std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator(rocksdb::ReadOptions{}));
      const auto first = append_key_of(p, 0);
      const auto prefix = h.prefix->Transform(first).ToString();
      std::uint64_t seen = 0;
      for (it->Seek(first); it->Valid() && h.prefix->Transform(it->key()) == prefix; it->Next()) {
        if (it->key().ToString() == append_key_of(p, seen)) ++seen;
      }
      if (!it->status().ok() || seen < n) ++problems;
      ++reads;
    }
  };
  std::thread r1(reader, 1);
  std::thread r2(reader, 2);
  std::mt19937_64 rng(3);
  std::vector<std::uint64_t> next(prefixes, 0);
  for (int b = 0; b < batches; ++b) {
    rocksdb::WriteBatch batch;
    std::vector<int> touched;
    for (int i = 0; i < 8; ++i) {
      const int p = static_cast<int>(rng() % prefixes);
      batch.Put(append_key_of(p, next[p]++), std::string(rng() % 300, 'v'));
      touched.push_back(p);
    }
    const auto s = h.db->Write(rocksdb::WriteOptions{}, &batch);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    for (const int p : touched) acknowledged[p].store(next[p]);
  }
  done = true;
  r1.join();
  r2.join();
  CHECK(problems.load() == 0);
  CHECK(reads.load() > 0);
}

}  // namespace

TEST_CASE("the prefix memtable reads back what an ordered map holds: a prefix per id") {
  // 64 KB write buffers: about two hundred flushes, each reading a memtable in full key
  // order (the lists concatenated: the prefixes' ranges do not interleave).
  prefix_db h(64 * 1024, wfe::persistence::internal::event_key_prefix());
  run_against_model(h, 20261207);
}

TEST_CASE("the prefix memtable reads back what an ordered map holds: interleaving prefixes") {
  // Flushes and total-order reads when the lists cannot just be concatenated (sorted).
  prefix_db h(64 * 1024, wfe::persistence::internal::event_key_prefix());
  h.interleave = true;
  run_against_model(h, 11);
}

TEST_CASE("the prefix memtable reads back what an ordered map holds: large prefixes") {
  // Few 4-byte prefixes for 2000 ids: lists of hundreds of keys (skip lists past 64).
  prefix_db h(1024 * 1024, std::make_shared<first_bytes>());
  run_against_model(h, 7);
}

TEST_CASE("the prefix memtable's readers see every acknowledged write while it is written") {
  SUBCASE("a prefix per id") {
    prefix_db h(64 * 1024, wfe::persistence::internal::event_key_prefix());
    run_readers_against_writer(h);
  }
  SUBCASE("large prefixes") {
    prefix_db h(256 * 1024, std::make_shared<first_bytes>());
    run_readers_against_writer(h);
  }
}

TEST_CASE("the prefix memtable keeps a family's own comparator's order") {
  // Reverse bytewise: the memtable must order by RocksDB's comparator, not bytewise.
  // Appends, overwrites and deletes, flushes (their key order checked) between rounds,
  // then every key read back and a total-order walk in the comparator's order.
  prefix_db h(64 * 1024, wfe::persistence::internal::event_key_prefix(),
              rocksdb::ReverseBytewiseComparator());
  ordered_model m;
  std::mt19937_64 rng(5);
  for (int b = 0; b < 400; ++b) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 20; ++i) {
      const auto k = append_key_of(static_cast<int>(rng() % 300), rng() % 20);
      if (rng() % 5 == 0) {
        batch.Delete(k);
        m.erase(k);
      } else {
        const auto v = std::string(rng() % 200, 'v') + std::to_string(b);
        batch.Put(k, v);
        m[k] = v;
      }
    }
    const auto s = h.db->Write(rocksdb::WriteOptions{}, &batch);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  for (const auto& [k, v] : m) {
    std::string got;
    REQUIRE(h.db->Get(rocksdb::ReadOptions{}, k, &got).ok());
    CHECK(got == v);
  }
  rocksdb::ReadOptions total;
  total.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator(total));
  auto want = m.rbegin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++want) {
    REQUIRE(want != m.rend());
    CHECK(it->key().ToString() == want->first);
  }
  REQUIRE(it->status().ok());
  CHECK(want == m.rend());
}
