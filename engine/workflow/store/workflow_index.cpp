#include "engine/workflow/store/workflow_index.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include "engine/core/health.hpp"
#include "engine/core/logging.hpp"
#include "engine/workflow/store/index_codec.hpp"
#include "engine/workflow/store/store_metrics.hpp"
#include "persistence/internal/prefix_memtable.hpp"
#include "persistence/internal/rocksdb_support.hpp"

namespace wfe::workflow::store {

using persistence::errc;
using persistence::fail;
using persistence::result;

namespace {

constexpr std::string_view k_format_key = "format-version";
constexpr std::string_view k_format_version = "4";
// Older formats of this index: wiped at open (derived data; reconcile refills it).
constexpr std::string_view k_old_format_versions[] = {"1", "2"};
// Format 3 lacked the timers' "w" keys: they are added at open (one pass over the "t"
// keys), the records gain their timers' first due time and count as they are updated.
constexpr std::string_view k_format_without_due_keys = "3";
constexpr std::size_t k_migration_batch = 10'000;
constexpr std::size_t k_tag_bytes = 4;

// FNV-1a of a listing prefix: cursors carry it, so a cursor of another listing is refused.
std::string prefix_tag(std::string_view prefix) {
  std::uint32_t h = 2166136261U;
  for (unsigned char c : prefix) {
    h ^= c;
    h *= 16777619U;
  }
  std::string out(k_tag_bytes, '\0');
  for (std::size_t i = 0; i < k_tag_bytes; ++i)
    out[i] = static_cast<char>(h >> (8 * (k_tag_bytes - 1 - i)));
  return out;
}

bool starts_with(const rocksdb::Slice& key, std::string_view prefix) {
  return key.size() >= prefix.size() && std::string_view(key.data(), prefix.size()) == prefix;
}

// The index's key prefixes, by which its memtables keep their lists
// (persistence/internal/prefix_memtable): a record (`r<id>`) is its own prefix, so a
// workflow's update costs a hash and a short list instead of a search of a skip list
// holding every record at a random place (~10k instructions and cache misses per
// update), and so are a workflow's timers (`t<id>`); each listing ("s"+status,
// "x"+status+definition+0) and the dead letters ("l") are one prefix each, kept in key
// order in their list (a skip list once it is large), so listings and cursors work as
// before. Every scan of this index stays inside one prefix, except the walks over all
// records or all timers (start-up: reconcile, load_timers, the stats), which read in
// total order: the memtable then orders a copy of its entries for them.
class index_prefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "wfe.workflow-index.prefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), prefix_size(key));
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }

 private:
  static std::size_t prefix_size(const rocksdb::Slice& key) {
    if (key.empty()) return 0;
    switch (key[0]) {
      case codec::k_by_status:
        return std::min<std::size_t>(key.size(), 2);
      case codec::k_by_status_definition:
        for (std::size_t i = 2; i < key.size(); ++i) {
          if (key[i] == '\0') return i + 1;
        }
        return key.size();
      case codec::k_dead_letter:
      case codec::k_timers_due:
        return 1;
      default:  // records, timers, format-version
        return key.size();
    }
  }
};

rocksdb::Options make_options(const index_settings& settings) {
  rocksdb::Options o;
  o.info_log = persistence::internal::make_info_logger("workflow index " + settings.dir.string());
  persistence::internal::bound_writeback(o, settings.bytes_per_sync);
  if (settings.env != nullptr) o.env = settings.env;
  o.prefix_extractor = std::make_shared<index_prefix>();
  o.memtable_factory.reset(persistence::internal::new_prefix_memtable_factory(o.comparator));
  o.allow_concurrent_memtable_write = false;  // prefix memtables take one writer
  // Every new workflow's first update asks for a record that does not exist yet: a
  // whole-key bloom filter in the memtable answers that miss without a search.
  o.memtable_prefix_bloom_size_ratio = 0.02;
  o.memtable_whole_key_filtering = true;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  // Derived data: a damaged WAL tail is tolerated (reconcile repairs what is lost);
  // any other damage fails the open with a message telling to delete the directory.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.max_bgerror_resume_count = 0;
  return o;
}

std::uint64_t& count_of(index_stats& s, workflow_status st) {
  switch (st) {
    case workflow_status::running:
      return s.running;
    case workflow_status::completed:
      return s.completed;
    case workflow_status::failed:
      return s.failed;
    case workflow_status::cancelled:
      return s.cancelled;
  }
  return s.running;
}

void decrement(std::uint64_t& n) {
  if (n > 0) --n;
}

}  // namespace

// A WriteBatch that counts its puts and deletes.
struct counted_batch {
  rocksdb::WriteBatch batch;
  workflow_index::io_counts n;

  void put(const rocksdb::Slice& key, const rocksdb::Slice& value) {
    batch.Put(key, value);
    ++n.puts;
  }
  void del(const rocksdb::Slice& key) {
    batch.Delete(key);
    ++n.deletes;
  }
};

constexpr std::string_view k_index_health = "workflow-index";  // in core::health

struct workflow_index::impl {
  index_settings settings;
  std::shared_ptr<store_metrics> metrics;
  std::shared_ptr<spdlog::logger> log = core::logger("workflow");
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;  // sync = false: derived data
  index_stats stats;
  // Timers in the "w" keys (counted at open, kept by the writer): load_timers, on
  // another thread, tells from it how many it left out.
  std::atomic<std::uint64_t> timers_in_index{0};
  io_counts io;
  bool needs_resume = false;

  ~impl() {
    if (db) (void)db->Close();
  }

  persistence::error error_of(const rocksdb::Status& s, const std::string& what) const {
    return persistence::internal::from_status(
        s, what + " (workflow index " + settings.dir.string() + ")");
  }

  // A dead letter or the timers of one workflow as seen during a batch: whether the key
  // exists, the hash kept in the record, and the exact value when this batch knows it.
  struct side {
    bool exists = false;
    std::optional<std::uint64_t> hash;
    std::optional<std::string> value;
    // Timers only, when they exist: the set's first due time (its key) and size.
    std::optional<codec::timers_meta> meta;
  };

  // What the index holds about one workflow, as seen during a batch.
  struct current {
    std::optional<workflow_record> record;
    std::string encoded;  // the "r" value (empty: no record or a damaged one)
    side dead_letter;
    side timers;
  };

  result<bool> exists(const std::string& key, const std::string& what) {
    std::string value;
    ++io.gets;
    auto s = db->Get(rocksdb::ReadOptions{}, key, &value);
    if (!s.ok() && !s.IsNotFound()) return persistence::fail(error_of(s, what));
    return s.ok();
  }

  // One Get: the record says whether a dead letter and timers exist. Only a damaged record
  // (which is replaced) costs two more Gets.
  result<current> read_current(const std::string& id) {
    current c;
    std::string value;
    ++io.gets;
    auto s = db->Get(rocksdb::ReadOptions{}, codec::record_key(id), &value);
    if (!s.ok() && !s.IsNotFound())
      return persistence::fail(error_of(s, "reading record of " + id));
    if (s.IsNotFound()) return c;
    if (auto stored = codec::decode_stored(value)) {
      c.record = std::move(stored->record);
      c.encoded = std::move(value);
      c.dead_letter = side{stored->dead_letter_hash.has_value(), stored->dead_letter_hash, {}, {}};
      if (stored->timers_hash && !stored->timers_meta) {
        // Not written by this format (its migration adds the due times): look the set up.
        auto found = find_timers(id);
        if (!found) return persistence::fail(std::move(found).error());
        c.timers = side{found->has_value(), {}, {}, *found};
      } else {
        c.timers =
            side{stored->timers_hash.has_value(), stored->timers_hash, {}, stored->timers_meta};
      }
      return c;
    }
    log->warn("workflow index: damaged record of '{}' is replaced", id);
    auto dl = exists(codec::dead_letter_key(id), "reading dead letter of " + id);
    if (!dl) return persistence::fail(std::move(dl).error());
    auto t = find_timers(id);
    if (!t) return persistence::fail(std::move(t).error());
    c.dead_letter.exists = *dl;
    c.timers = side{t->has_value(), {}, {}, *t};
    return c;
  }

  // The key of a workflow's timers when its record cannot name it (a damaged record): a
  // walk over every timer set. Rare (RocksDB checksums catch most damage first).
  result<std::optional<codec::timers_meta>> find_timers(const std::string& id) {
    const std::string prefix(1, codec::k_timers_due);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
    for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      auto key = codec::parse_timers_key(std::string_view(it->key().data(), it->key().size()));
      if (!key || key->id != id) continue;
      const auto n = codec::timer_count(std::string_view(it->value().data(), it->value().size()));
      return std::optional<codec::timers_meta>{
          codec::timers_meta{key->first_due_ms, n.value_or(0)}};
    }
    if (!it->status().ok())
      return persistence::fail(error_of(it->status(), "finding timers of " + id));
    return std::optional<codec::timers_meta>{};
  }

  // Brings a workflow's timers from `cur` to `timers` (empty: none). Their key holds the
  // first due time: a set due at the same first time is written in place (or not at all
  // when unchanged, as write_side); one due at another time moves. Updates `count` (sets)
  // and `delta` (timers).
  result<persistence::done> write_timers(counted_batch& batch, const std::string& id, side& cur,
                                         const std::vector<timer>& timers, std::uint64_t& count,
                                         std::int64_t& delta) {
    const auto next_meta = codec::meta_of(timers);
    // Plain values: GCC 12 sees the optional's members as maybe-uninitialized.
    const bool had = cur.exists && cur.meta.has_value();
    const std::int64_t old_due = had ? cur.meta->first_due_ms : 0;
    const std::int64_t old_count = had ? cur.meta->count : 0;
    std::optional<std::string> next;
    if (next_meta) next = codec::encode(timers);
    if (had && next_meta && old_due == next_meta->first_due_ms) {
      auto ok = write_side(batch, codec::timers_key(old_due, id), cur, std::move(next), count);
      if (!ok) return persistence::fail(std::move(ok).error());
    } else {
      if (cur.exists) {
        if (had) batch.del(codec::timers_key(old_due, id));
        decrement(count);
      }
      cur = side{};
      if (next) {
        const auto hash = codec::value_hash(*next);
        batch.put(codec::timers_key(next_meta->first_due_ms, id), *next);
        ++count;
        cur = side{true, hash, std::move(next), {}};
      }
    }
    cur.meta = next_meta;
    delta += static_cast<std::int64_t>(next_meta ? next_meta->count : 0) - old_count;
    return persistence::done{};
  }

  void add_timers_held(std::int64_t delta) {
    const auto held = static_cast<std::int64_t>(timers_in_index.load(std::memory_order_relaxed));
    timers_in_index.store(static_cast<std::uint64_t>(std::max<std::int64_t>(0, held + delta)),
                          std::memory_order_relaxed);
  }

  // Brings a dead letter or timers key from `cur` to `next` (nullopt: absent), writing only
  // what changed: equal hashes are confirmed with the exact value (known from this batch,
  // or one Get) before the Put is skipped. Updates `count` (keys of this kind).
  result<persistence::done> write_side(counted_batch& batch, const std::string& key, side& cur,
                                       std::optional<std::string> next, std::uint64_t& count) {
    if (!next) {
      if (cur.exists) {
        batch.del(key);
        decrement(count);
      }
      cur = side{};
      return persistence::done{};
    }
    const auto hash = codec::value_hash(*next);
    bool unchanged = false;
    if (cur.exists && cur.hash == hash) {
      if (cur.value) {
        unchanged = *cur.value == *next;
      } else {
        std::string value;
        ++io.gets;
        auto s = db->Get(rocksdb::ReadOptions{}, key, &value);
        if (!s.ok() && !s.IsNotFound()) return persistence::fail(error_of(s, "reading " + key));
        unchanged = s.ok() && value == *next;
      }
    }
    if (!unchanged) batch.put(key, *next);
    if (!cur.exists) ++count;
    cur = side{true, hash, std::move(next), {}};
    return persistence::done{};
  }

  result<persistence::done> open_db() {
    std::error_code ec;
    std::filesystem::create_directories(settings.dir, ec);
    if (ec) {
      return fail(errc::io_error, "cannot create workflow index directory " +
                                      settings.dir.string() + ": " + ec.message());
    }
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(make_options(settings), settings.dir.string(), &raw);
    db.reset(raw);
    if (s.ok()) return persistence::done{};
    auto e = persistence::internal::from_status(
        s, "cannot open workflow index " + settings.dir.string());
    if (persistence::internal::is_lock_error(s)) {
      e.code = errc::locked;
      e.message += " (is a node running with this data directory?)";
    } else if (e.code == errc::corruption) {
      e.message +=
          " (the index is derived data: delete the directory and restart; it is "
          "rebuilt from the journal)";
    }
    return persistence::fail(std::move(e));
  }

  // `total_order`: the keys under `prefix` are not one index_prefix (records, timers).
  result<std::uint64_t> count_prefix(std::string_view prefix, bool total_order = false) const {
    rocksdb::ReadOptions ro;
    ro.total_order_seek = total_order;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    std::uint64_t n = 0;
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      ++n;
    }
    if (!it->status().ok()) return persistence::fail(error_of(it->status(), "counting"));
    return n;
  }

  result<persistence::done> compute_stats() {
    for (auto st : {workflow_status::running, workflow_status::completed, workflow_status::failed,
                    workflow_status::cancelled}) {
      auto n = count_prefix(codec::list_prefix(st, {}));
      if (!n) return persistence::fail(std::move(n).error());
      count_of(stats, st) = *n;
    }
    auto dl = count_prefix(std::string(1, codec::k_dead_letter));
    if (!dl) return persistence::fail(std::move(dl).error());
    stats.dead_letters = *dl;
    const std::string timers(1, codec::k_timers_due);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
    std::uint64_t sets = 0;
    std::uint64_t held = 0;
    for (it->Seek(timers); it->Valid() && starts_with(it->key(), timers); it->Next()) {
      ++sets;
      held +=
          codec::timer_count(std::string_view(it->value().data(), it->value().size())).value_or(0);
    }
    if (!it->status().ok()) return persistence::fail(error_of(it->status(), "counting timers"));
    stats.workflows_with_timers = sets;
    timers_in_index.store(held, std::memory_order_relaxed);
    return persistence::done{};
  }

  // Format 3 -> 4: every timer set moves from "t" id to "w" first-due id, and its record
  // gains the set's first due time and size. A set that does not decode goes first in
  // due order (the earliest time), so the start-up's load_timers reports it damaged and
  // the workflow is recovered, which writes it anew.
  result<std::uint64_t> move_timers_by_due() {
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;  // across workflows, each its own prefix (index_prefix)
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    const std::string prefix(1, codec::k_timers_by_id);
    counted_batch batch;
    std::uint64_t sets = 0;
    std::string value;
    for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      const std::string id(it->key().data() + 1, it->key().size() - 1);
      const std::string_view bytes(it->value().data(), it->value().size());
      auto timers = codec::decode_timers(bytes);
      auto meta = timers ? codec::meta_of(*timers) : std::nullopt;
      if (!timers) meta = codec::timers_meta{std::numeric_limits<std::int64_t>::min(), 0};
      batch.del(it->key());
      if (meta) {
        batch.put(codec::timers_key(meta->first_due_ms, id),
                  rocksdb::Slice(bytes.data(), bytes.size()));
        auto s = db->Get(rocksdb::ReadOptions{}, codec::record_key(id), &value);
        if (!s.ok() && !s.IsNotFound())
          return persistence::fail(error_of(s, "reading record of " + id));
        auto stored = s.ok() ? codec::decode_stored(value) : std::nullopt;
        if (stored && stored->timers_hash) {
          stored->timers_meta = meta;
          batch.put(codec::record_key(id), codec::encode(*stored));
        }
      }
      if (++sets % k_migration_batch == 0) {
        if (auto ok = commit(batch); !ok) return persistence::fail(std::move(ok).error());
        batch.batch.Clear();
      }
    }
    if (!it->status().ok()) return persistence::fail(error_of(it->status(), "reading timers"));
    if (auto ok = commit(batch); !ok) return persistence::fail(std::move(ok).error());
    return sets;
  }

  // Writes the batch (if it holds anything) and counts its operations.
  result<persistence::done> commit(counted_batch& b) {
    if (b.batch.Count() == 0) return persistence::done{};
    if (needs_resume) {
      auto r = db->Resume();
      persistence::internal::report_resume(r, settings.health.get(), k_index_health,
                                           "workflow index " + settings.dir.string());
      if (r.ok()) needs_resume = false;
    }
    auto s = db->Write(write_options, &b.batch);
    if (!s.ok()) {
      needs_resume = true;
      return persistence::fail(error_of(s, "writing"));
    }
    io.puts += b.n.puts;
    io.deletes += b.n.deletes;
    return persistence::done{};
  }

  void publish() {
    if (metrics) metrics->index_counts(stats);
  }

  // Scans the key prefixes `sources` from the cursor, merged in suffix order (one source:
  // a plain range scan); `emit(suffix)` returns false to skip an entry (not counted).
  // Cursors name `listing`, so a cursor of another listing is refused. Returns the next
  // cursor ("" at the end). One snapshot for every source: a workflow moving between
  // status listings is seen in exactly one.
  // At most `max_examined` entries are looked at (emitted or skipped); the cursor then
  // resumes after the last one. `start` (a suffix) is where a first page begins.
  result<std::string> scan(std::string_view listing, const std::vector<std::string>& sources,
                           const std::string& cursor, std::uint32_t limit, std::size_t min_suffix,
                           const std::function<bool(std::string_view suffix)>& emit,
                           std::uint64_t max_examined = std::numeric_limits<std::uint64_t>::max(),
                           std::string start = {}, std::string end = {}) const {
    const auto tag = prefix_tag(listing);
    std::string from = std::move(start);
    bool skip_exact = false;
    if (!cursor.empty()) {
      auto raw = codec::from_hex(cursor);
      if (!raw || raw->size() < k_tag_bytes + min_suffix || raw->compare(0, k_tag_bytes, tag) != 0)
        return fail(errc::invalid_argument, "invalid cursor (not from this listing)");
      from.assign(*raw, k_tag_bytes);
      skip_exact = true;
    }
    rocksdb::ManagedSnapshot snapshot(db.get());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    struct source {
      std::string_view prefix;
      std::unique_ptr<rocksdb::Iterator> it;
      [[nodiscard]] bool valid() const { return it->Valid() && starts_with(it->key(), prefix); }
      [[nodiscard]] std::string_view suffix() const {
        return {it->key().data() + prefix.size(), it->key().size() - prefix.size()};
      }
    };
    std::vector<source> open;
    open.reserve(sources.size());
    for (const auto& prefix : sources) {
      source src{prefix, std::unique_ptr<rocksdb::Iterator>(db->NewIterator(ro))};
      const auto start = prefix + from;
      src.it->Seek(start);
      if (skip_exact && src.it->Valid() && src.it->key() == rocksdb::Slice(start)) src.it->Next();
      open.push_back(std::move(src));
    }
    std::uint32_t n = 0;
    std::uint64_t examined = 0;
    std::string last;
    for (;;) {
      source* next = nullptr;
      for (auto& src : open) {
        if (src.valid() && (next == nullptr || src.suffix() < next->suffix())) next = &src;
      }
      if (next == nullptr) break;
      if (!end.empty() && next->suffix() >= end) break;  // every source is past `end`
      if (n == limit || examined == max_examined) return codec::to_hex(tag + last);
      const auto suffix = next->suffix();
      ++examined;
      if (emit(suffix)) ++n;
      last.assign(suffix);
      next->it->Next();
    }
    for (const auto& src : open) {
      if (!src.it->status().ok()) return persistence::fail(error_of(src.it->status(), "listing"));
    }
    return std::string{};
  }

  result<std::uint32_t> check_limit(std::uint32_t limit) const {
    if (limit == 0) return settings.list_default_limit;
    if (limit > settings.list_max_limit) {
      return fail(errc::invalid_argument, "limit must be between 1 and " +
                                              std::to_string(settings.list_max_limit) + ", got " +
                                              std::to_string(limit));
    }
    return limit;
  }
};

workflow_index::workflow_index(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

void workflow_index::count_coalesced(std::uint64_t updates) {
  if (impl_->metrics) impl_->metrics->index_coalesced(updates);
}
void workflow_index::count_write_failure() {
  if (impl_->metrics) impl_->metrics->index_write_failed();
}
void workflow_index::count_dropped(std::uint64_t updates) {
  if (impl_->metrics) impl_->metrics->index_dropped(updates);
}
workflow_index::~workflow_index() = default;

const std::filesystem::path& workflow_index::dir() const { return impl_->settings.dir; }

std::uint64_t workflow_index::memtable_bytes() const {
  return persistence::internal::memtable_bytes(*impl_->db);
}

result<std::unique_ptr<workflow_index>> workflow_index::open(
    const index_settings& settings, std::shared_ptr<store_metrics> metrics) try {
  auto p = std::make_unique<impl>();
  p->settings = settings;
  p->metrics = std::move(metrics);
  if (auto ok = p->open_db(); !ok) return persistence::fail(std::move(ok).error());
  std::string value;
  auto s = p->db->Get(rocksdb::ReadOptions{}, std::string(k_format_key), &value);
  if (s.ok() && value != k_format_version &&
      std::find(std::begin(k_old_format_versions), std::end(k_old_format_versions), value) !=
          std::end(k_old_format_versions)) {
    // An index written by an older build. Only a RocksDB with nothing but the default column
    // family opens here (the journal and the snapshot store have more), so this is an
    // index: wipe it; reconcile() finds every workflow missing and the runtime recovers
    // them, which re-sends their index updates.
    p->log->warn(
        "workflow index {} has format version '{}', this build writes '{}': wiping it (it "
        "is rebuilt from the journal: every workflow is recovered at this start)",
        settings.dir.string(), value, k_format_version);
    (void)p->db->Close();
    p->db.reset();
    s = rocksdb::DestroyDB(settings.dir.string(), make_options(settings));
    if (!s.ok()) return persistence::fail(p->error_of(s, "wiping an index of an older format"));
    if (auto ok = p->open_db(); !ok) return persistence::fail(std::move(ok).error());
    s = rocksdb::Status::NotFound();
  }
  if (s.ok() && value == k_format_without_due_keys) {
    auto sets = p->move_timers_by_due();
    if (!sets) return persistence::fail(std::move(sets).error());
    p->log->info(
        "workflow index {}: format {} -> {}: the timers of {} workflows ordered by due time",
        settings.dir.string(), value, k_format_version, *sets);
    s = rocksdb::Status::NotFound();
  }
  if (s.IsNotFound()) {
    s = p->db->Put(p->write_options, std::string(k_format_key), std::string(k_format_version));
  } else if (s.ok() && value != k_format_version) {
    return fail(errc::corruption, "workflow index " + settings.dir.string() +
                                      " has format version '" + value + "', this build reads '" +
                                      std::string(k_format_version) +
                                      "' (delete the directory: it is rebuilt from the journal)");
  }
  if (!s.ok()) return persistence::fail(p->error_of(s, "format version"));
  if (auto ok = p->compute_stats(); !ok) return persistence::fail(std::move(ok).error());
  p->publish();
  p->log->info(
      "workflow index opened at {} ({} running, {} completed, {} failed, {} cancelled, "
      "{} dead letters, {} workflows with timers)",
      settings.dir.string(), p->stats.running, p->stats.completed, p->stats.failed,
      p->stats.cancelled, p->stats.dead_letters, p->stats.workflows_with_timers);
  return std::unique_ptr<workflow_index>(new workflow_index(std::move(p)));
} catch (const std::exception& e) {
  return fail(errc::internal, "opening workflow index " + settings.dir.string() +
                                  ": unexpected exception: " + e.what());
}

result<std::uint64_t> workflow_index::apply(const std::vector<index_update>& updates) try {
  auto& p = *impl_;
  counted_batch batch;
  std::unordered_map<std::string, impl::current> seen;  // state after this batch's updates
  seen.reserve(updates.size());
  auto stats = p.stats;
  std::int64_t timers_delta = 0;
  std::uint64_t applied = 0;
  for (const auto& u : updates) {
    const auto& id = u.record.id;
    if (!is_valid_id(id) || (!u.record.definition.empty() && !is_valid_id(u.record.definition))) {
      p.log->warn("workflow index: update with an invalid id or definition name ignored ('{}')",
                  id.substr(0, 64));
      continue;
    }
    auto found = seen.find(id);
    if (found == seen.end()) {
      auto c = p.read_current(id);
      if (!c) return persistence::fail(std::move(c).error());
      found = seen.emplace(id, std::move(*c)).first;
    }
    auto& cur = found->second;
    if (cur.record && u.record.seq < cur.record->seq) continue;  // stale

    std::optional<std::string> dead_letter;
    if (u.dead_letter) {
      auto dl = *u.dead_letter;
      dl.id = id;  // one open dead letter per workflow, named by the workflow id
      dl.workflow_id = id;
      dead_letter = codec::encode(dl);
    }
    auto ok = p.write_side(batch, codec::dead_letter_key(id), cur.dead_letter,
                           std::move(dead_letter), stats.dead_letters);
    if (!ok) return persistence::fail(std::move(ok).error());
    ok = p.write_timers(batch, id, cur.timers, u.timers, stats.workflows_with_timers, timers_delta);
    if (!ok) return persistence::fail(std::move(ok).error());

    auto encoded = codec::encode(
        codec::stored_record{u.record, cur.dead_letter.hash, cur.timers.hash, cur.timers.meta});
    if (encoded != cur.encoded) {
      // Only the secondary keys that differ: a status change keeps "all" and "by definition".
      const auto next_keys = codec::secondary_keys(u.record);
      if (cur.record) {
        const auto old_keys = codec::secondary_keys(*cur.record);
        for (const auto& k : old_keys) {
          if (std::find(next_keys.begin(), next_keys.end(), k) == next_keys.end()) batch.del(k);
        }
        for (const auto& k : next_keys) {
          if (std::find(old_keys.begin(), old_keys.end(), k) == old_keys.end())
            batch.put(k, rocksdb::Slice());
        }
      } else {
        for (const auto& k : next_keys) batch.put(k, rocksdb::Slice());
      }
      batch.put(codec::record_key(id), encoded);
      cur.encoded = std::move(encoded);
    }
    if (cur.record) decrement(count_of(stats, cur.record->status));
    ++count_of(stats, u.record.status);
    cur.record = u.record;
    ++applied;
  }
  if (auto ok = p.commit(batch); !ok) return persistence::fail(std::move(ok).error());
  p.add_timers_held(timers_delta);
  stats.updates += applied;
  ++stats.batches;
  p.stats = stats;
  if (p.metrics) p.metrics->index_batch(updates.size());
  p.publish();
  return applied;
} catch (const std::exception& e) {
  return fail(errc::internal,
              std::string("workflow index write: unexpected exception: ") + e.what());
}

result<std::uint64_t> workflow_index::remove(const std::vector<std::string>& ids) try {
  auto& p = *impl_;
  counted_batch batch;
  auto stats = p.stats;
  std::uint64_t removed = 0;
  std::int64_t timers_delta = 0;
  for (const auto& id : ids) {
    auto c = p.read_current(id);
    if (!c) return persistence::fail(std::move(c).error());
    if (c->record) {
      for (const auto& k : codec::secondary_keys(*c->record)) batch.del(k);
      decrement(count_of(stats, c->record->status));
    }
    if (c->dead_letter.exists) {
      batch.del(codec::dead_letter_key(id));
      decrement(stats.dead_letters);
    }
    if (c->timers.exists) {
      auto ok = p.write_timers(batch, id, c->timers, {}, stats.workflows_with_timers, timers_delta);
      if (!ok) return persistence::fail(std::move(ok).error());
    }
    batch.del(codec::record_key(id));
    ++removed;
  }
  if (auto ok = p.commit(batch); !ok) return persistence::fail(std::move(ok).error());
  p.add_timers_held(timers_delta);
  p.stats = stats;
  p.publish();
  return removed;
} catch (const std::exception& e) {
  return fail(errc::internal,
              std::string("workflow index remove: unexpected exception: ") + e.what());
}

// A page of workflow records from listing keys (suffix: inv, id): `keep` decides which
// records are items. A listing key without a record is skipped with a warning.
result<workflow_page> workflow_index::record_page(
    std::string_view listing, const std::vector<std::string>& sources, const std::string& cursor,
    std::uint32_t limit, const std::function<bool(const workflow_record&)>& keep,
    std::uint64_t max_scan, std::string start, std::string end) const {
  workflow_page page;
  persistence::error read_error;
  bool failed = false;
  auto next = impl_->scan(
      listing, sources, cursor, limit, 9,
      [&](std::string_view suffix) {
        if (failed || suffix.size() < 9) return false;
        const std::string id(suffix.substr(8));
        auto r = record(id);
        if (!r) {
          read_error = r.error();
          failed = true;
          return false;
        }
        if (!*r) {
          impl_->log->warn("workflow index: secondary key without record for '{}'", id);
          return false;
        }
        if (!keep(**r)) return false;
        page.items.push_back(std::move(**r));
        return true;
      },
      max_scan, std::move(start), std::move(end));
  if (failed) return persistence::fail(std::move(read_error));
  if (!next) return persistence::fail(std::move(next).error());
  page.next_cursor = std::move(*next);
  return page;
}

result<workflow_page> workflow_index::list(const list_workflows& q) const try {
  const auto& p = *impl_;
  auto limit = p.check_limit(q.limit);
  if (!limit) return persistence::fail(std::move(limit).error());
  if (!q.definition.empty() && !is_valid_id(q.definition)) {
    return fail(errc::invalid_argument, "definition must be 1-256 bytes of [A-Za-z0-9._:-]");
  }
  // Newest first: the keys of records created before T start at order_suffix(T - 1), and
  // those created at or after T end before it.
  constexpr auto k_min = std::numeric_limits<std::int64_t>::min();
  if (q.created_before_ms && *q.created_before_ms == k_min) return workflow_page{};
  if (q.created_after_ms && q.created_before_ms && *q.created_after_ms >= *q.created_before_ms)
    return workflow_page{};
  std::string start = q.created_before_ms ? codec::order_suffix(*q.created_before_ms - 1, {}) : "";
  std::string end = q.created_after_ms && *q.created_after_ms != k_min
                        ? codec::order_suffix(*q.created_after_ms - 1, {})
                        : "";
  return record_page(
      codec::list_prefix(q.status, q.definition), codec::listing_sources(q.status, q.definition),
      q.cursor, *limit, [](const workflow_record&) { return true; },
      std::numeric_limits<std::uint64_t>::max(), std::move(start), std::move(end));
} catch (const std::exception& e) {
  return fail(errc::internal,
              std::string("workflow index list: unexpected exception: ") + e.what());
}

result<workflow_page> workflow_index::list(const list_expired& q) const try {
  constexpr std::uint32_t k_limit_max = 10'000;  // pekko.workflow.retention.batch-size's bound
  if (q.limit == 0 || q.limit > k_limit_max || q.max_scan < q.limit) {
    return fail(errc::invalid_argument, "expired listing: limit must be 1.." +
                                            std::to_string(k_limit_max) +
                                            " and max_scan at least the limit");
  }
  std::vector<std::string> sources;
  for (auto st : codec::k_statuses) {
    if (st != workflow_status::running) sources.push_back(codec::list_prefix(st, {}));
  }
  // Newest first: seeking to the cutoff skips every record created after it.
  return record_page(
      "expired", sources, q.cursor, q.limit,
      [&q](const workflow_record& r) {
        return r.status != workflow_status::running && r.updated_at_ms < q.updated_before_ms;
      },
      q.max_scan, codec::order_suffix(q.updated_before_ms, {}));
} catch (const std::exception& e) {
  return fail(errc::internal,
              std::string("workflow index expired listing: unexpected exception: ") + e.what());
}

result<dead_letter_page> workflow_index::list(const list_dead_letters& q) const try {
  const auto& p = *impl_;
  auto limit = p.check_limit(q.limit);
  if (!limit) return persistence::fail(std::move(limit).error());
  if (!q.definition.empty() && !is_valid_id(q.definition)) {
    return fail(errc::invalid_argument, "definition must be 1-256 bytes of [A-Za-z0-9._:-]");
  }
  if (!q.step.empty() && !is_valid_id(q.step)) {
    return fail(errc::invalid_argument, "step must be 1-256 bytes of [A-Za-z0-9._:-]");
  }
  const bool filtered = !q.definition.empty() || !q.step.empty();
  dead_letter_page page;
  const std::string prefix(1, codec::k_dead_letter);
  // The dead letter of workflow `id`, if it has one that passes the step filter.
  auto take = [&](const std::string& id) {
    std::string value;
    auto s = p.db->Get(rocksdb::ReadOptions{}, prefix + id, &value);
    if (!s.ok()) return false;
    auto d = codec::decode_dead_letter(value);
    if (!d) {
      p.log->warn("workflow index: damaged dead letter '{}' skipped", id);
      return false;
    }
    if (!q.step.empty() && d->step != q.step) return false;
    page.items.push_back(std::move(*d));
    return true;
  };
  const auto max_scan = filtered ? std::max<std::uint64_t>(p.settings.list_max_scan, *limit)
                                 : std::numeric_limits<std::uint64_t>::max();
  // With a definition: its FAILED workflows' listing (a failed workflow has its dead
  // letter), whose keys end in "<created, inverted: 8 bytes><id>".
  const auto listing =
      q.definition.empty() ? prefix : codec::list_prefix(workflow_status::failed, q.definition);
  const std::size_t id_at = q.definition.empty() ? 0 : 8;
  auto next = p.scan(
      listing, {listing}, q.cursor, *limit, id_at + 1,
      [&](std::string_view suffix) {
        return suffix.size() > id_at && take(std::string(suffix.substr(id_at)));
      },
      max_scan);
  if (!next) return persistence::fail(std::move(next).error());
  page.next_cursor = std::move(*next);
  return page;
} catch (const std::exception& e) {
  return fail(errc::internal,
              std::string("workflow index dead letters: unexpected exception: ") + e.what());
}

result<std::optional<workflow_record>> workflow_index::record(const std::string& id) const {
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, codec::record_key(id), &value);
  if (s.IsNotFound()) return std::optional<workflow_record>{};
  if (!s.ok()) return persistence::fail(impl_->error_of(s, "reading record of " + id));
  auto r = codec::decode_record(value);
  if (!r) return fail(errc::corruption, "workflow index: damaged record of '" + id + "'");
  return r;
}

result<std::optional<dead_letter_record>> workflow_index::dead_letter(const std::string& id) const {
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, codec::dead_letter_key(id), &value);
  if (s.IsNotFound()) return std::optional<dead_letter_record>{};
  if (!s.ok()) return persistence::fail(impl_->error_of(s, "reading dead letter " + id));
  auto d = codec::decode_dead_letter(value);
  if (!d) return fail(errc::corruption, "workflow index: damaged dead letter '" + id + "'");
  return d;
}

result<timer_load> workflow_index::load_timers(std::uint64_t max_timers) const try {
  // The sets in due order of their first timer, whole, until the next one does not fit:
  // only what is loaded (and the first set left) is read.
  timer_load out;
  std::uint64_t held = 0;
  const auto in_index = impl_->timers_in_index.load(std::memory_order_relaxed);
  const std::string prefix(1, codec::k_timers_due);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions{}));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    auto key = codec::parse_timers_key(std::string_view(it->key().data(), it->key().size()));
    auto timers = codec::decode_timers(std::string_view(it->value().data(), it->value().size()));
    if (!key || !timers || timers->empty()) {
      std::string id = key ? std::string(key->id)
                           : codec::to_hex(std::string_view(it->key().data(), it->key().size()));
      impl_->log->warn("workflow index: damaged timers of '{}' skipped", id);
      if (key) out.damaged.push_back(std::move(id));
      continue;
    }
    const auto n = timers->size();
    if (held + n > max_timers) {
      out.dropped = std::max<std::uint64_t>(n, in_index > held ? in_index - held : 0);
      out.dropped_first_due = key->first_due_ms;
      break;
    }
    held += n;
    out.timers.push_back(workflow_timers{std::string(key->id), std::move(*timers)});
  }
  if (!it->status().ok()) return persistence::fail(impl_->error_of(it->status(), "loading timers"));
  if (out.dropped > 0) {
    impl_->log->warn(
        "workflow index: about {} timers are beyond the timer service's bound "
        "(pekko.workflow.timers.max-timers = {}); those due first are loaded",
        out.dropped, max_timers);
  }
  std::sort(out.timers.begin(), out.timers.end(),
            [](const auto& a, const auto& b) { return a.workflow_id < b.workflow_id; });
  return out;
} catch (const std::exception& e) {
  return fail(errc::internal, std::string("loading timers: unexpected exception: ") + e.what());
}

result<std::uint64_t> workflow_index::for_each_record(
    const std::function<bool(const workflow_record&)>& fn) const try {
  const std::string prefix(1, codec::k_record);
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;  // across records, each its own prefix (index_prefix)
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
  std::uint64_t n = 0;
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    auto r = codec::decode_record(std::string_view(it->value().data(), it->value().size()));
    if (!r) {
      // A record that does not decode: report it with an empty definition so callers
      // (reconcile) treat the workflow as not indexed.
      workflow_record damaged;
      damaged.id.assign(it->key().data() + 1, it->key().size() - 1);
      ++n;
      if (!fn(damaged)) break;
      continue;
    }
    ++n;
    if (!fn(*r)) break;
  }
  if (!it->status().ok())
    return persistence::fail(impl_->error_of(it->status(), "scanning records"));
  return n;
} catch (const std::exception& e) {
  return fail(errc::internal, std::string("scanning records: unexpected exception: ") + e.what());
}

index_stats workflow_index::stats() const { return impl_->stats; }

workflow_index::io_counts workflow_index::io() const { return impl_->io; }

}  // namespace wfe::workflow::store
