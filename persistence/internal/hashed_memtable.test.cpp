// The hashed memtable (internal::new_hashed_memtable_factory) as the stores use it,
// against an ordered map: random puts and deletes over many prefixes (more than the
// memtable has buckets, so buckets hold several prefixes), memtables flushed between
// rounds (the flush reads the memtable in full key order), and every read the stores
// make compared with the model — Get, a prefix's keys forwards from a Seek, and a
// total-order walk of everything (total_order_seek).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include "persistence/internal/rocksdb_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

// As the journal's events family: the prefix is the key without its 8-byte big-endian
// sequence number.
class strip_sequence final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "test.strip-sequence"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key.size() - 8};
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

// Prefix `p` (ids of different lengths, so some are prefixes of others as strings)
// followed by a big-endian sequence number.
std::string key_of(int p, std::uint64_t seq) {
  std::string k = "id-" + std::to_string(p) + (p % 3 == 0 ? "" : "x");
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(seq >> shift));
  return k;
}

// As the index's status listings: a short fixed prefix shared by many keys, so buckets
// grow past 256 entries (where the memtable turns a bucket into a skip list).
class first_bytes final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "test.first-bytes"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), std::min<std::size_t>(key.size(), 4)};
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

struct hashed_db {
  wfe::test::temp_dir dir;
  std::shared_ptr<const rocksdb::SliceTransform> prefix;
  std::unique_ptr<rocksdb::DB> db;

  hashed_db(std::size_t write_buffer_size, std::shared_ptr<const rocksdb::SliceTransform> p)
      : prefix(std::move(p)) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = write_buffer_size;
    o.prefix_extractor = prefix;
    o.memtable_factory.reset(
        wfe::persistence::internal::new_hashed_memtable_factory(write_buffer_size));
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

// A prefix's keys, as the stores read them: forwards from a Seek, stopping where the
// prefix ends (in prefix mode what lies beyond is undefined, so no read goes there). Not
// backwards: with this memtable a SeekForPrev and Prev in prefix mode miss keys (1 of 3,
// 0 of 1 ... in a first version of this test), and no store reads a hashed family
// backwards (rocksdb_support.hpp).
void check_prefix_reads(const hashed_db& h, const ordered_model& m, const std::string& from) {
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
}

void check_all(const hashed_db& h, const ordered_model& m, std::mt19937_64& rng, int prefixes) {
  auto& db = *h.db;
  // Get: present and absent keys.
  for (int i = 0; i < 200; ++i) {
    const auto k = key_of(static_cast<int>(rng() % prefixes), rng() % 40);
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
  for (int i = 0; i < 30; ++i) {
    check_prefix_reads(h, m, key_of(static_cast<int>(rng() % prefixes), rng() % 8));
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
void run_against_model(hashed_db& h, std::uint64_t seed) {
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
          const auto k = key_of(p, rng() % next_seq[p]);  // a delete
          batch.Delete(k);
          m.erase(k);
          continue;
        }
        const auto k = key_of(p, seq);
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

}  // namespace

TEST_CASE("the hashed memtable reads back what an ordered map holds: a prefix per id") {
  // 64 KB write buffers: 512 buckets for 2000 prefixes (several per bucket), and about
  // two hundred flushes, each reading a memtable in full key order.
  hashed_db h(64 * 1024, std::make_shared<strip_sequence>());
  run_against_model(h, 20261207);
}

TEST_CASE("the hashed memtable reads back what an ordered map holds: large buckets") {
  // Few 4-byte prefixes for 2000 ids: buckets of hundreds of keys (skip lists past 256).
  hashed_db h(1024 * 1024, std::make_shared<first_bytes>());
  run_against_model(h, 7);
}
