#include "persistence/rocksdb_journal.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/core/logging.hpp"
#include "persistence/internal/deferred_delete_fs.hpp"
#include "persistence/internal/key_codec.hpp"
#include "persistence/internal/prefix_memtable.hpp"
#include "persistence/internal/rocksdb_support.hpp"
#include "persistence/journal_metrics.hpp"

namespace wfe::persistence {

using internal::metadata;

namespace {

constexpr std::string_view k_journal_health = "journal";  // in core::health

std::string internal_error(std::string_view what, const std::exception& e) {
  return std::string(what) + ": unexpected exception: " + e.what();
}

}  // namespace

struct rocksdb_journal::impl {
  rocksdb_journal_config cfg;
  std::shared_ptr<journal_metrics> metrics;
  std::shared_ptr<spdlog::logger> log = core::logger("persistence");
  internal::deferred_delete_env files;  // outlives db (destroyed after it)
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, events, metadata
  rocksdb::ColumnFamilyHandle* events_cf = nullptr;
  rocksdb::ColumnFamilyHandle* metadata_cf = nullptr;
  rocksdb::WriteOptions write_options;

  // An id's metadata as the journal knows it, and the write batch that last changed it.
  struct cached {
    metadata m;
    std::uint64_t batch = 0;
  };
  // A flat table: a new id's lookup misses after one probe of its metadata (a bucket's
  // node walk was ~7 % of the journal thread), and clear() keeps the table, so refilling
  // does not rehash. Entries move on a rehash: write_many reserves room for its batch.
  using cache_type = boost::unordered_flat_map<std::string, cached>;

  std::mutex write_mutex;     // serializes check-sequence-then-write
  cache_type cache;           // id key -> metadata; under write_mutex
  // Bumped (under write_mutex) whenever ids leave the cache. Every write that changes an
  // id's metadata leaves the id in the cache, so an id missing from it with the epoch
  // unchanged since a read of its metadata (prepare) was not written since that read.
  std::atomic<std::uint64_t> cache_epoch{0};
  std::uint64_t batches = 0;  // write_many calls; under write_mutex
  bool needs_resume = false;  // under write_mutex

  ~impl() {
    for (auto* h : handles) {
      if (h != nullptr) (void)db->DestroyColumnFamilyHandle(h);
    }
    if (db) (void)db->Close();
  }

  error corruption(error e) {
    if (metrics) metrics->corruption();
    log->error("journal corruption in {}: {}", cfg.dir.string(), e.message);
    return e;
  }

  result<metadata> read_metadata(const std::string& id_key, const persistence_id& pid,
                                 const rocksdb::Snapshot* snapshot = nullptr) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    std::string value;
    auto s = db->Get(ro, metadata_cf, id_key, &value);
    if (s.IsNotFound()) return metadata{};
    if (!s.ok()) return fail(internal::from_status(s, "reading metadata of " + pid.describe()));
    auto m = internal::decode_metadata(value, pid);
    if (!m) return core::unexpected<error>{corruption(std::move(m).error())};
    return m;
  }

  // Under write_mutex: the id's cache entry, on a miss taken from `prior` (prepare's
  // read, when nothing left the cache since) or read from the database. Never evicts
  // (see write_many); the pointer stays valid until the entry is erased or an insert
  // beyond the reserved room rehashes the table.
  result<cache_type::value_type*> cache_entry(const std::string& id_key, const persistence_id& pid,
                                              const write_request::prior_read* prior = nullptr) {
    if (auto found = cache.find(id_key); found != cache.end()) return &*found;
    metadata m{};
    if (prior != nullptr && prior->valid &&
        prior->epoch == cache_epoch.load(std::memory_order_relaxed)) {
      m = metadata{prior->highest, prior->deleted_to};
    } else {
      auto read = read_metadata(id_key, pid);
      if (!read) return fail(std::move(read).error());
      m = *read;
    }
    return &*cache.emplace(id_key, cached{m, 0}).first;
  }

  // Under write_mutex: ids leave the cache only through these two.
  void clear_cache() {
    cache.clear();
    cache_epoch.fetch_add(1, std::memory_order_release);
  }
  void erase_cached(const std::string& id_key) {
    if (auto it = cache.find(id_key); it != cache.end()) cache.erase(it);
    cache_epoch.fetch_add(1, std::memory_order_release);
  }

  // Off the journal's thread (prepare): the id's metadata as of now, with the epoch it
  // was read in (loaded first: a removal from the cache after it makes the read stale).
  // From memory only (memtables, filters and cached blocks: kBlockCacheTier): the
  // requester's thread — the HTTP io thread, with the shards on it — must not wait for
  // the disk. A read that would (Incomplete), an error or a damaged record leaves
  // `prior` unset: write_many reads on its own thread and reports what it finds.
  void read_ahead(write_request& request) const {
    const auto epoch = cache_epoch.load(std::memory_order_acquire);
    rocksdb::ReadOptions ro;
    ro.read_tier = rocksdb::kBlockCacheTier;
    std::string value;
    const auto s = db->Get(ro, metadata_cf, internal::encode_id_key(request.pid), &value);
    metadata m{};
    if (s.ok()) {
      auto decoded = internal::decode_metadata(value, request.pid);
      if (!decoded) return;
      m = *decoded;
    } else if (!s.IsNotFound()) {
      return;
    }
    request.prior = write_request::prior_read{true, m.highest, m.deleted_to, epoch};
  }

  // Under write_mutex: the cache is emptied when it holds metadata_cache_entries ids.
  result<metadata> cached_metadata(const std::string& id_key, const persistence_id& pid) {
    if (cache.size() >= cfg.metadata_cache_entries && cache.count(id_key) == 0) clear_cache();
    auto entry = cache_entry(id_key, pid);
    if (!entry) return fail(std::move(entry).error());
    return (*entry)->second.m;
  }

  // Under write_mutex: after a failed write RocksDB refuses writes until resumed.
  // Busy means RocksDB is already recovering on its own (its SstFileManager does so
  // for a full disk once space returns): then the write is simply tried, failing fast
  // with the original error while RocksDB is still stopped.
  result<done> resume_if_needed() {
    if (!needs_resume) return done{};
    auto s = db->Resume();
    internal::report_resume(s, cfg.health.get(), k_journal_health, "journal " + cfg.dir.string());
    if (s.IsBusy()) return done{};
    if (!s.ok()) {
      return fail(internal::from_status(
          s, "journal " + cfg.dir.string() + " is read-only after a failed write; resume failed"));
    }
    log->info("journal {} resumed writing after an earlier write failure", cfg.dir.string());
    needs_resume = false;
    return done{};
  }

  // Under write_mutex, before a write that changes one id's metadata: writing resumed
  // if a failed write stopped it, then the id's metadata (cached).
  result<metadata> metadata_for_write(const std::string& id_key, const persistence_id& pid) {
    if (auto resumed = resume_if_needed(); !resumed) return fail(std::move(resumed).error());
    return cached_metadata(id_key, pid);
  }

  // Deletes events from..to of `pid` into `batch`: a point delete of each sequence nr's
  // key up to k_point_deletes_max events, else one DeleteRange. A key holds a write's
  // events under its last one's number, so every key ending in from..to goes, however
  // many events it holds; a write that reaches past `to` stays whole (replay skips its
  // events up to the metadata's deleted_to) until a later delete or purge reaches its
  // end. RocksDB 7.8 fragments every range tombstone of a memtable again for each new
  // iterator, so with retention purging thousands of workflows every replay would slow
  // down with them (seen in the snapshot store: 285 instead of 2,275 purges per second);
  // point tombstones cost only a reader that passes over them.
  static constexpr std::uint64_t k_point_deletes_max = 4096;
  void delete_events(rocksdb::WriteBatch& batch, const persistence_id& pid, std::uint64_t from,
                     std::uint64_t to) {
    if (from > to) return;
    if (to - from < k_point_deletes_max) {
      const auto id_key = internal::encode_id_key(pid);
      std::string key;
      for (auto seq = from; seq <= to; ++seq) {
        internal::encode_event_key(id_key, seq, key);
        batch.Delete(events_cf, key);
      }
      return;
    }
    batch.DeleteRange(events_cf, internal::encode_event_key(pid, from),
                      internal::encode_event_key(pid, to) + '\0');
  }

  rocksdb::Status commit(rocksdb::WriteBatch& batch) {
    auto s = db->Write(write_options, &batch);
    if (!s.ok()) {
      needs_resume = true;
      log->warn("journal write to {} failed: {}", cfg.dir.string(), s.ToString());
      // A full disk: the deleted files kept for live copies go first (they count
      // against the free space RocksDB waits for before it resumes).
      if (s.IsNoSpace()) files.fs->release_all();
    }
    return s;
  }

  std::vector<result<std::uint64_t>> write_many(std::vector<write_request>& requests);
  result<std::uint64_t> replay(const persistence_id& pid, std::uint64_t from, std::uint64_t to,
                               std::uint64_t max, const replay_callback& on_event);
  result<std::vector<persistence_id>> list_ids(const std::string& prefix);
  // Visits the metadata records whose key starts with `prefix`, in key order, until
  // `visit` returns false; a malformed key is corruption.
  result<done> walk_ids(const std::string& prefix,
                        const std::function<bool(persistence_id&&, std::string_view)>& visit);
};

namespace {

rocksdb::Options make_options(const rocksdb_journal_config& cfg, rocksdb::Env* env) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // Stop on any inconsistency found in the background instead of carrying on.
  o.paranoid_checks = true;
  o.wal_recovery_mode = cfg.wal_recovery_mode == wal_recovery::absolute_consistency
                            ? rocksdb::WALRecoveryMode::kAbsoluteConsistency
                            : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  if (cfg.write_buffer_size_bytes > 0) o.write_buffer_size = cfg.write_buffer_size_bytes;
  o.env = env;
  // No background auto-resume after a write error: the next write calls Resume()
  // itself, so writing restarts as soon as space returns, and deterministically.
  o.max_bgerror_resume_count = 0;
  // The families' prefix memtables (events_options) take one writer at a time, which
  // the journal is anyway (write_mutex).
  o.allow_concurrent_memtable_write = false;
  o.info_log = internal::make_info_logger("journal " + cfg.dir.string());
  internal::bound_writeback(o, cfg.bytes_per_sync);
  // The default family (one key) and the metadata family (~60 bytes a workflow) fill
  // their memtables rarely; until they flush, every WAL since their oldest data stays,
  // and RocksDB's own bound is 4 x the write buffers of every family (~1.5 GB here),
  // all of which a restart reads back. This bound flushes them instead.
  if (cfg.files.max_total_wal_size > 0) o.max_total_wal_size = cfg.files.max_total_wal_size;
  return o;
}

// The metadata family's prefix is its whole key (one record per id).
class whole_key final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "wfe.whole-key"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override { return key; }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

// The events family is written at random places (a key per new id) and read one id at
// a time (replay seeks an id's first event and stops at its last). A memtable with a
// list per id (internal::new_prefix_memtable_factory) appends each event to its id's
// list — a hash and one comparison — instead of searching a skip list of every event in
// the memtable (~20 key comparisons against long shared prefixes). Reads within one id
// stay in key order; nothing iterates the family across ids but flushes, which get the
// ids' lists concatenated in key order (ids are terminated: their ranges never overlap).
rocksdb::ColumnFamilyOptions events_options(const rocksdb::Options& base) {
  rocksdb::ColumnFamilyOptions o(base);
  o.prefix_extractor = internal::event_key_prefix();
  o.memtable_factory.reset(internal::new_prefix_memtable_factory(o.comparator));
  return o;
}

// The metadata family is read by point lookups that mostly miss (every new id asks for
// its highest sequence number before its first write): bloom filters in the memtable
// and in the table files answer those misses without walking the skip list or reading
// index blocks.
//
// Its memtable keeps a list per key too (see events_options; a newer version of a key
// goes first, one comparison): the two metadata records a workflow's writes put cost a
// skip-list insert each otherwise, at ~10k instructions the largest single item per
// start. Only walk_ids iterates across ids (start-up, listing a shard), in total order:
// the memtable then orders a copy of its entries for the iterator.
rocksdb::ColumnFamilyOptions metadata_options(const rocksdb::Options& base) {
  rocksdb::ColumnFamilyOptions o(base);
  o.prefix_extractor = std::make_shared<whole_key>();
  o.memtable_factory.reset(internal::new_prefix_memtable_factory(o.comparator));
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.whole_key_filtering = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// RocksDB's recovery errors do not say which WAL file is bad; list them for the operator.
std::string wal_files(const std::filesystem::path& dir) {
  std::string out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".log") continue;
    out += (out.empty() ? "" : ", ") + entry.path().string();
  }
  return out.empty() ? "none" : out;
}

}  // namespace

result<std::unique_ptr<rocksdb_journal>> rocksdb_journal::open(
    const rocksdb_journal_config& cfg, std::shared_ptr<journal_metrics> metrics) try {
  auto p = std::make_unique<impl>();
  p->cfg = cfg;
  p->metrics = std::move(metrics);
  p->write_options.sync = cfg.fsync;
  p->files =
      internal::make_deferred_delete_env(cfg.env, {.store = "journal " + cfg.dir.string(),
                                                   .keep_for = cfg.files.keep_deleted_for,
                                                   .max_bytes = cfg.files.keep_deleted_max_bytes});
  const auto options = make_options(cfg, p->files.env.get());
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      {rocksdb::kDefaultColumnFamilyName, options},
      {"events", events_options(options)},
      {"metadata", metadata_options(options)}};
  std::string not_rolled_back;
  auto s = internal::open_rolling_back_copies(options, cfg.dir, families, p->handles, p->db,
                                              cfg.files.roll_back_incomplete_copies, "journal",
                                              not_rolled_back);
  if (!s.ok()) {
    auto e = internal::from_status(s, "cannot open journal " + cfg.dir.string());
    if (internal::is_lock_error(s)) {
      e.code = errc::locked;
      e.message += " (is a node running with this journal?)";
    }
    e.message += not_rolled_back;
    if (e.code != errc::corruption) return fail(std::move(e));
    e.message += " (write-ahead log files: " + wal_files(cfg.dir) + ")";
    return fail(p->corruption(std::move(e)));
  }
  p->events_cf = p->handles[1];
  p->metadata_cf = p->handles[2];
  // Format 2 stores a write's events under one key; format 1's keys (one event each) read
  // the same way, so a journal of format 1 is upgraded by writing on.
  if (auto ok = internal::check_format_version(*p->db, p->handles[0], p->write_options, "journal",
                                               p->cfg.dir, "2", {"1"});
      !ok)
    return fail(std::move(ok).error());
  if (cfg.verify_on_start) {
    s = p->db->VerifyChecksum();
    if (!s.ok()) {
      return fail(
          p->corruption(internal::from_status(s, "checksum verification of " + cfg.dir.string())));
    }
  }
  p->log->info("journal opened at {} (fsync {}, verify-on-start {})", cfg.dir.string(),
               cfg.fsync ? "on" : "off", cfg.verify_on_start ? "on" : "off");
  return std::unique_ptr<rocksdb_journal>(new rocksdb_journal(std::move(p)));
} catch (const std::exception& e) {
  return fail(errc::internal, internal_error("opening journal " + cfg.dir.string(), e));
}

rocksdb_journal::rocksdb_journal(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

rocksdb_journal::~rocksdb_journal() = default;

rocksdb::DB* rocksdb_journal::db() { return impl_->db.get(); }

std::uint64_t rocksdb_journal::memtable_bytes() { return internal::memtable_bytes(*impl_->db); }

std::uint64_t rocksdb_journal::deleted_files_kept_bytes() const {
  return impl_->files.fs->stats().bytes;
}

void rocksdb_journal::housekeeping() { impl_->files.fs->release_expired(); }

std::vector<result<std::uint64_t>> rocksdb_journal::write_many(
    std::vector<write_request> requests) {
  try {
    return impl_->write_many(requests);
  } catch (const std::exception& e) {
    return std::vector<result<std::uint64_t>>(
        requests.size(), fail(errc::internal, internal_error("journal write", e)));
  }
}

std::vector<result<std::uint64_t>> rocksdb_journal::impl::write_many(
    std::vector<write_request>& requests) {
  std::scoped_lock lock(write_mutex);
  std::vector<result<std::uint64_t>> results;
  results.reserve(requests.size());
  if (auto resumed = resume_if_needed(); !resumed) {
    for (std::size_t i = 0; i < requests.size(); ++i) results.emplace_back(fail(resumed.error()));
    return results;
  }
  // The cache holds each id's metadata as of this batch: an entry is updated as its
  // requests join the batch (several requests of one id see each other's sequence
  // numbers) and erased again if the batch is not written. While the batch is built
  // nothing is evicted and the table has room for every request's id (pointers into the
  // cache stay valid); a full cache is emptied afterwards, so it holds at most
  // max(metadata_cache_entries, one batch's ids).
  cache.reserve(cache.size() + requests.size());
  std::size_t bytes = 64;
  for (const auto& request : requests) {
    for (const auto& e : request.events)
      bytes += e.payload.size() + e.manifest.size() + e.writer_id.size() + 96;
  }
  rocksdb::WriteBatch batch(bytes);
  std::string id_key;  // reused buffers: WriteBatch::Put copies what it is given
  std::string key;
  std::string scratch;
  std::vector<rocksdb::Slice> parts;
  std::vector<cache_type::value_type*> touched;  // entries changed by this batch, once each
  const auto batch_nr = ++batches;
  touched.reserve(requests.size());
  // Unless the batch is written, forget what it changed (the next write reads it back):
  // after a failed write, and after an exception on the way (write_many's caller
  // answers it with an error).
  struct forget_unless_written {
    impl& owner;
    std::vector<cache_type::value_type*>& touched;
    bool written = false;
    ~forget_unless_written() {
      if (written) return;
      for (const auto* entry : touched) owner.erase_cached(entry->first);
    }
  } guard{*this, touched};
  for (auto& request : requests) {
    id_key = internal::encode_id_key(request.pid);
    auto entry = cache_entry(id_key, request.pid, &request.prior);
    if (!entry) {
      results.emplace_back(fail(std::move(entry).error()));
      continue;
    }
    auto& m = (*entry)->second.m;
    if (auto ok = validate_write(request, m.highest); !ok) {
      results.emplace_back(fail(std::move(ok).error()));
      continue;
    }
    // One key per request, under its last event's sequence nr (format 2).
    internal::encode_event_key(id_key, request.events.back().sequence_nr, key);
    if (!request.prepared.empty()) {  // encoded by prepare() on the requester's thread
      batch.Put(events_cf, key, request.prepared);
    } else {
      internal::encode_value_parts(request.events, scratch, parts);
      const rocksdb::Slice key_slice(key);
      batch.Put(events_cf, rocksdb::SliceParts(&key_slice, 1),
                rocksdb::SliceParts(parts.data(), static_cast<int>(parts.size())));
    }
    if ((*entry)->second.batch != batch_nr) {
      (*entry)->second.batch = batch_nr;
      touched.push_back(*entry);
    }
    m.highest = request.events.back().sequence_nr;
    results.emplace_back(m.highest);
  }
  if (touched.empty()) return results;
  for (const auto* entry : touched)
    batch.Put(metadata_cf, entry->first, internal::encode_metadata(entry->second.m));
  if (auto s = commit(batch); !s.ok()) {
    auto e = internal::from_status(
        s, "journal write of " + std::to_string(batch.Count()) + " records to " + cfg.dir.string());
    for (auto& r : results) {
      if (r) r = fail(e);
    }
    return results;
  }
  guard.written = true;
  if (cache.size() > cfg.metadata_cache_entries) clear_cache();
  return results;
}

void rocksdb_journal::prepare(write_request& request) const {
  if (request.events.empty()) return;  // write_many refuses it
  request.prepared = internal::encode_value(request.events);
  if (request.events.front().sequence_nr == 1) impl_->read_ahead(request);
}

result<std::uint64_t> rocksdb_journal::replay(const persistence_id& pid,
                                              std::uint64_t from_sequence_nr,
                                              std::uint64_t to_sequence_nr, std::uint64_t max,
                                              const replay_callback& on_event) {
  try {
    return impl_->replay(pid, from_sequence_nr, to_sequence_nr, max, on_event);
  } catch (const std::exception& e) {
    return fail(errc::internal, internal_error("replay of " + pid.describe(), e));
  }
}

result<std::uint64_t> rocksdb_journal::impl::replay(const persistence_id& pid, std::uint64_t from,
                                                    std::uint64_t to, std::uint64_t max,
                                                    const replay_callback& on_event) {
  // One snapshot for metadata and events: a concurrent delete cannot open a gap mid-replay.
  rocksdb::ManagedSnapshot snapshot(db.get());
  const auto id_key = internal::encode_id_key(pid);
  auto m = read_metadata(id_key, pid, snapshot.snapshot());
  if (!m) return fail(std::move(m).error());
  from = std::max({from, m->deleted_to + 1, std::uint64_t{1}});
  to = std::min(to, m->highest);
  if (from > to || max == 0) return std::uint64_t{0};
  // A key holds a write's events under its last one's sequence nr (one event in format 1,
  // any number in format 2): the first key at or after `from` holds `from`, and the
  // write holding `to` may end after it, up to the highest.
  const auto upper = internal::encode_event_key(pid, m->highest) + '\0';
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  ro.iterate_upper_bound = &upper_slice;
  ro.prefix_same_as_start = true;  // one id's events (events_options)
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events_cf));
  std::uint64_t expected = from;
  std::uint64_t count = 0;
  const auto gap = [&](const std::string& next) {
    return fail(corruption(error{errc::corruption, "gap in " + pid.describe() + ": sequence nr " +
                                                       std::to_string(expected) +
                                                       " is missing (next " + next + ")"}));
  };
  for (it->Seek(internal::encode_event_key(pid, from));
       it->Valid() && count < max && expected <= to; it->Next()) {
    auto key = internal::decode_event_key(std::string_view(it->key().data(), it->key().size()));
    if (!key || key->pid != pid || key->sequence_nr < expected) {
      return gap("key " + internal::hex(it->key().ToStringView()));
    }
    auto value = internal::value_reader::open(it->value().ToStringView(), pid, key->sequence_nr);
    if (!value) return fail(corruption(std::move(value).error()));
    // The first key may begin before `from` (a write that was partly deleted, or read
    // from its middle); every later one must begin where the one before ended.
    const auto first = value->first_sequence_nr();
    if (first > expected) {
      return gap("events stored are " + std::to_string(first) + ".." +
                 std::to_string(key->sequence_nr));
    }
    if (count > 0 && first < expected) {
      return fail(corruption(
          error{errc::corruption, "events " + std::to_string(first) + ".." +
                                      std::to_string(key->sequence_nr) + " of " + pid.describe() +
                                      " overlap those before them (sequence nr " +
                                      std::to_string(expected) + " expected next)"}));
    }
    std::string_view envelope;
    for (auto seq = first; value->next(envelope); ++seq) {
      if (seq < expected) continue;
      if (seq > to || count == max) break;
      auto e = internal::decode_envelope(envelope, pid, seq);
      if (!e) return fail(corruption(std::move(e).error()));
      on_event(*e);
      ++expected;
      ++count;
    }
  }
  if (!it->status().ok()) {
    auto e = internal::from_status(it->status(), "replay of " + pid.describe() +
                                                     " at sequence nr " + std::to_string(expected));
    return fail(e.code == errc::corruption ? corruption(std::move(e)) : std::move(e));
  }
  if (count < max && expected <= to) {
    return fail(corruption(error{
        errc::corruption, "gap in " + pid.describe() + ": sequence nr " + std::to_string(expected) +
                              " is missing but the highest is " + std::to_string(m->highest)}));
  }
  return count;
}

result<std::uint64_t> rocksdb_journal::highest_sequence_nr(const persistence_id& pid) try {
  auto& p = *impl_;
  // The writer asks for an id's highest sequence nr before its first write (every new
  // entity does): through the cache, that write then finds it there instead of reading
  // it again. Other readers (journal_reader) never wait for the writer's lock: while a
  // write holds it, they read the database.
  std::unique_lock lock(p.write_mutex, std::try_to_lock);
  auto m = lock.owns_lock() ? p.cached_metadata(internal::encode_id_key(pid), pid)
                            : p.read_metadata(internal::encode_id_key(pid), pid);
  if (!m) return fail(std::move(m).error());
  return m->highest;
} catch (const std::exception& e) {
  return fail(errc::internal, internal_error("highest sequence nr of " + pid.describe(), e));
}

result<done> rocksdb_journal::delete_to(const persistence_id& pid,
                                        std::uint64_t to_sequence_nr) try {
  auto& p = *impl_;
  std::scoped_lock lock(p.write_mutex);
  const auto id_key = internal::encode_id_key(pid);
  auto m = p.metadata_for_write(id_key, pid);
  if (!m) return fail(std::move(m).error());
  const auto to = std::min(to_sequence_nr, m->highest);
  if (to <= m->deleted_to) return done{};
  rocksdb::WriteBatch batch;
  p.delete_events(batch, pid, m->deleted_to + 1, to);
  m->deleted_to = to;
  batch.Put(p.metadata_cf, id_key, internal::encode_metadata(*m));
  if (auto s = p.commit(batch); !s.ok()) {
    return fail(internal::from_status(s, "deleting events of " + pid.describe()));
  }
  p.cache.insert_or_assign(id_key, impl::cached{*m, 0});
  return done{};
} catch (const std::exception& e) {
  return fail(errc::internal, internal_error("delete of " + pid.describe(), e));
}

std::vector<result<done>> rocksdb_journal::purge_many(std::vector<purge_request> requests) try {
  auto& p = *impl_;
  std::scoped_lock lock(p.write_mutex);
  std::vector<result<done>> results;
  results.reserve(requests.size());
  if (auto resumed = p.resume_if_needed(); !resumed) {
    for (std::size_t i = 0; i < requests.size(); ++i) results.emplace_back(fail(resumed.error()));
    return results;
  }
  rocksdb::WriteBatch batch;
  std::vector<std::string> purged;   // id keys this batch deletes (a later request sees 0)
  std::vector<std::size_t> purging;  // the requests that purge, answered by the write
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    auto id_key = internal::encode_id_key(r.pid);
    const bool seen = std::find(purged.begin(), purged.end(), id_key) != purged.end();
    auto m = seen ? result<metadata>(metadata{}) : p.cached_metadata(id_key, r.pid);
    if (!m) {
      results.emplace_back(fail(std::move(m).error()));
      continue;
    }
    if (m->highest != r.if_highest) {
      results.push_back(purge_conflict(r.pid, m->highest, r.if_highest));
      continue;
    }
    results.emplace_back(done{});
    if (m->highest == 0) continue;
    p.delete_events(batch, r.pid, m->deleted_to + 1, m->highest);
    batch.Delete(p.metadata_cf, id_key);
    purged.push_back(std::move(id_key));
    purging.push_back(i);
  }
  if (purging.empty()) return results;
  if (auto s = p.commit(batch); !s.ok()) {
    auto e = internal::from_status(
        s, "purging " + std::to_string(purging.size()) + " ids in " + p.cfg.dir.string());
    for (auto i : purging) results[i] = fail(e);
    return results;
  }
  // Fresh ids from now on: their next write must start at 1.
  for (auto& id_key : purged)
    p.cache.insert_or_assign(std::move(id_key), impl::cached{metadata{}, 0});
  return results;
} catch (const std::exception& e) {
  std::vector<result<done>> results;
  for (const auto& r : requests)
    results.emplace_back(fail(errc::internal, internal_error("purge of " + r.pid.describe(), e)));
  return results;
}

result<std::vector<persistence_id>> rocksdb_journal::persistence_ids() try {
  return impl_->list_ids("");
} catch (const std::exception& e) {
  return fail(errc::internal, internal_error("listing persistence ids", e));
}

result<std::vector<persistence_id>> rocksdb_journal::persistence_ids(shard_id shard) try {
  return impl_->list_ids(internal::encode_shard_prefix(shard));
} catch (const std::exception& e) {
  return fail(errc::internal, internal_error("listing persistence ids", e));
}

result<done> rocksdb_journal::for_each_persistence_id(const id_visitor& visit) try {
  auto& p = *impl_;
  std::optional<error> bad;
  auto walked = p.walk_ids("", [&](persistence_id&& pid, std::string_view value) {
    auto m = internal::decode_metadata(value, pid);
    if (!m) {
      bad = p.corruption(std::move(m).error());
      return false;
    }
    return visit(pid, m->highest);
  });
  if (bad) return fail(std::move(*bad));
  return walked;
} catch (const std::exception& e) {
  return fail(errc::internal, internal_error("listing persistence ids", e));
}

result<std::vector<persistence_id>> rocksdb_journal::impl::list_ids(const std::string& prefix) {
  std::vector<persistence_id> ids;
  auto walked = walk_ids(prefix, [&](persistence_id&& pid, std::string_view) {
    ids.push_back(std::move(pid));
    return true;
  });
  if (!walked) return fail(std::move(walked).error());
  return ids;
}

result<done> rocksdb_journal::impl::walk_ids(
    const std::string& prefix,
    const std::function<bool(persistence_id&&, std::string_view metadata)>& visit) {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;  // across ids of a prefix memtable (metadata_options)
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, metadata_cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto pid = internal::decode_id_key(it->key().ToStringView());
    if (!pid) {
      return fail(corruption(error{
          errc::corruption, "malformed metadata key " + internal::hex(it->key().ToStringView())}));
    }
    if (!visit(std::move(*pid), it->value().ToStringView())) return done{};
  }
  if (!it->status().ok())
    return fail(internal::from_status(it->status(), "listing persistence ids"));
  return done{};
}

}  // namespace wfe::persistence
