#include "persistence/snapshot_store.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "engine/core/logging.hpp"
#include "persistence/internal/crc32c.hpp"
#include "persistence/internal/deferred_delete_fs.hpp"
#include "persistence/internal/key_codec.hpp"
#include "persistence/internal/rocksdb_support.hpp"
#include "persistence/journal_metrics.hpp"
#include "proto/snapshot.pb.h"

namespace wfe::persistence {
namespace {

constexpr std::string_view k_snapshot_store_health = "snapshot-store";  // in core::health

std::string encode(const persistence_id& pid, const snapshot& s) {
  proto::SnapshotEnvelope msg;
  msg.set_sequence_nr(s.sequence_nr);
  msg.set_timestamp_ms(s.timestamp_ms);
  msg.set_manifest(s.manifest);
  msg.set_payload(s.payload);
  msg.set_payload_crc32c(internal::crc32c(s.payload));
  msg.set_persistence_id(pid.id());
  msg.set_shard(pid.shard().value);
  if (s.event_crc) msg.set_event_payload_crc32c(*s.event_crc);
  return msg.SerializeAsString();
}

// Every check a stored snapshot must pass; the error names what is wrong.
result<snapshot> decode(std::string_view bytes, const persistence_id& pid, std::uint64_t seq) {
  const auto where = "snapshot of " + pid.describe() + " at sequence nr " + std::to_string(seq);
  proto::SnapshotEnvelope msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return fail(errc::corruption, "unparsable " + where);
  if (const auto crc = internal::crc32c(msg.payload()); crc != msg.payload_crc32c())
    return fail(errc::corruption, "payload CRC32C mismatch in " + where);
  if (msg.sequence_nr() != seq || msg.persistence_id() != pid.id() ||
      msg.shard() != pid.shard().value)
    return fail(errc::corruption, where + " carries another id or sequence nr");
  snapshot out{seq, msg.timestamp_ms(), std::move(*msg.mutable_manifest()),
               std::move(*msg.mutable_payload())};
  if (msg.has_event_payload_crc32c()) out.event_crc = msg.event_payload_crc32c();
  return out;
}

}  // namespace

namespace {

// An iterator over the keys of one id only, bounded both ways: a Seek or SeekForPrev
// never walks over the deleted keys of other ids, which stay (as tombstones) until a
// compaction drops them — every purged workflow (retention) leaves some, and an
// unbounded seek from an id without snapshots would walk them all.
class id_iterator {
 public:
  id_iterator(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, const persistence_id& pid)
      : lower_(internal::encode_event_key(pid, 0)),
        upper_(internal::encode_event_key(pid, max_sequence_nr) + '\0'),
        lower_slice_(lower_),
        upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_slice_;
    ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db.NewIterator(ro, cf));
  }
  id_iterator(const id_iterator&) = delete;
  id_iterator& operator=(const id_iterator&) = delete;

  rocksdb::Iterator* operator->() const { return it_.get(); }

 private:
  std::string lower_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

struct rocksdb_snapshot_store::impl {
  rocksdb_snapshot_store_config cfg;
  std::shared_ptr<journal_metrics> metrics;
  std::shared_ptr<spdlog::logger> log = core::logger("persistence");
  internal::deferred_delete_env files;  // outlives db (destroyed after it)
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default (format), snapshots
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  rocksdb::WriteOptions write_options;
  std::mutex write_mutex;     // save's read-then-trim must not interleave with another save
  bool needs_resume = false;  // under write_mutex: a write failed (e.g. a full disk)

  // Under write_mutex. After a failed write RocksDB refuses writes until Resume() (its
  // auto-resume is off, as in the journal); Busy = it is recovering by itself: just try.
  rocksdb::Status write(rocksdb::WriteBatch& batch) {
    if (needs_resume) {
      auto resumed = db->Resume();
      internal::report_resume(resumed, cfg.health.get(), k_snapshot_store_health,
                              "snapshot store " + cfg.dir.string());
      if (resumed.ok()) needs_resume = false;
    }
    auto st = db->Write(write_options, &batch);
    if (!st.ok()) needs_resume = true;
    if (st.IsNoSpace()) files.fs->release_all();  // as the journal does
    return st;
  }

  ~impl() {
    for (auto* h : handles) {
      if (h != nullptr) (void)db->DestroyColumnFamilyHandle(h);
    }
    if (db) (void)db->Close();
  }

  // Sequence numbers of pid's snapshots, ascending.
  result<std::vector<std::uint64_t>> list(const persistence_id& pid) {
    const auto prefix = internal::encode_id_key(pid);
    id_iterator it(*db, cf, pid);
    std::vector<std::uint64_t> out;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      auto key = internal::decode_event_key(it->key().ToStringView());
      if (key && key->pid == pid) out.push_back(key->sequence_nr);
    }
    if (!it->status().ok())
      return fail(internal::from_status(it->status(), "listing snapshots of " + pid.describe()));
    return out;
  }

  void skip_damaged(const persistence_id& pid, std::uint64_t seq, const std::string& why) {
    if (metrics) metrics->snapshot_load_failure();
    log->warn("skipping damaged snapshot of {} at sequence nr {} in {}: {}; trying an older one",
              pid.describe(), seq, cfg.dir.string(), why);
  }

  result<std::optional<snapshot>> load_latest(const persistence_id& pid, std::uint64_t max) {
    const auto prefix = internal::encode_id_key(pid);
    id_iterator it(*db, cf, pid);
    for (it->SeekForPrev(internal::encode_event_key(pid, max));
         it->Valid() && it->key().starts_with(prefix); it->Prev()) {
      auto key = internal::decode_event_key(it->key().ToStringView());
      if (!key || key->pid != pid) {
        skip_damaged(pid, 0, "malformed key " + internal::hex(it->key().ToStringView()));
        continue;
      }
      auto s = decode(it->value().ToStringView(), pid, key->sequence_nr);
      if (s) return std::optional<snapshot>(std::move(*s));
      skip_damaged(pid, key->sequence_nr, s.error().message);
    }
    if (!it->status().ok()) {
      // An unreadable block: report it; the entity falls back to a full replay.
      if (metrics) metrics->snapshot_load_failure();
      return fail(internal::from_status(it->status(), "loading snapshot of " + pid.describe()));
    }
    return std::optional<snapshot>{};
  }

  // Under write_mutex: puts `s` and the trim of pid's older (beyond keep-n) and stale
  // snapshots into `batch`, as of what the store holds; returns the oldest kept.
  struct staged_save {
    std::uint64_t oldest_kept = 0;
    std::vector<std::uint64_t> stale;
  };
  result<staged_save> stage_save(rocksdb::WriteBatch& batch, const persistence_id& pid,
                                 const snapshot& s) {
    auto existing = list(pid);
    if (!existing) return fail(std::move(existing).error());
    batch.Put(cf, internal::encode_event_key(pid, s.sequence_nr), encode(pid, s));
    // Keep the new one and the newest keep-1 older ones (older than the new one).
    // Newer ones cannot be of this journal: an entity's snapshots only move forward, and
    // a snapshot is taken after its events are durable. They are left from a journal
    // that was replaced by an older one (a restore of the journal alone): dropped.
    std::vector<std::uint64_t> older;
    staged_save out;
    for (auto seq : *existing) {
      if (seq < s.sequence_nr) older.push_back(seq);
      if (seq > s.sequence_nr) out.stale.push_back(seq);
    }
    for (auto seq : out.stale) batch.Delete(cf, internal::encode_event_key(pid, seq));
    const std::size_t keep_older = cfg.keep_n_snapshots - 1;
    const std::size_t drop = older.size() > keep_older ? older.size() - keep_older : 0;
    for (std::size_t i = 0; i < drop; ++i)
      batch.Delete(cf, internal::encode_event_key(pid, older[i]));
    out.oldest_kept = drop < older.size() ? older[drop] : s.sequence_nr;
    return out;
  }

  // Every save in one synced write, except that a second save of an id waits for the
  // write of the first (its trim reads what the first wrote).
  std::vector<result<std::uint64_t>> save_many(const std::vector<save_request>& requests) {
    std::scoped_lock lock(write_mutex);
    std::vector<result<std::uint64_t>> results(requests.size(), std::uint64_t{0});
    rocksdb::WriteBatch batch;
    std::vector<std::pair<std::size_t, staged_save>> staged;  // request index, its trim
    auto commit = [&] {
      if (staged.empty()) return;
      auto st = write(batch);
      for (auto& [i, trim] : staged) {
        const auto& pid = requests[i].pid;
        if (!st.ok()) {
          results[i] = fail(internal::from_status(st, "saving snapshot of " + pid.describe()));
          continue;
        }
        if (metrics) metrics->snapshot_saved();
        if (!trim.stale.empty())
          warn_stale(pid, trim.stale, requests[i].s.sequence_nr, "its new snapshot");
        results[i] = trim.oldest_kept;
      }
      batch.Clear();
      staged.clear();
    };
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto& r = requests[i];
      if (r.s.sequence_nr == 0) {
        results[i] = fail(errc::invalid_argument, "snapshot at sequence nr 0");
        continue;
      }
      if (std::any_of(staged.begin(), staged.end(),
                      [&](const auto& e) { return requests[e.first].pid == r.pid; })) {
        commit();
      }
      auto trim = stage_save(batch, r.pid, r.s);
      if (!trim) {
        results[i] = fail(std::move(trim).error());
        continue;
      }
      staged.emplace_back(i, std::move(*trim));
    }
    commit();
    return results;
  }

  // Deletes pid's snapshots with a sequence nr above `seq`; returns their sequence nrs.
  result<std::vector<std::uint64_t>> delete_after(const persistence_id& pid, std::uint64_t seq) {
    std::scoped_lock lock(write_mutex);
    const auto prefix = internal::encode_id_key(pid);
    std::vector<std::uint64_t> above;
    {
      id_iterator it(*db, cf, pid);
      for (it->Seek(internal::encode_event_key(pid, seq) + '\0');
           it->Valid() && it->key().starts_with(prefix); it->Next()) {
        auto key = internal::decode_event_key(it->key().ToStringView());
        if (key && key->pid == pid && key->sequence_nr > seq) above.push_back(key->sequence_nr);
      }
      if (!it->status().ok())
        return fail(internal::from_status(it->status(), "listing snapshots of " + pid.describe()));
    }
    if (above.empty()) return above;
    rocksdb::WriteBatch batch;
    for (auto n : above) batch.Delete(cf, internal::encode_event_key(pid, n));
    auto st = write(batch);
    if (!st.ok()) return fail(internal::from_status(st, "deleting snapshots of " + pid.describe()));
    return above;
  }

  void warn_stale(const persistence_id& pid, const std::vector<std::uint64_t>& seqs,
                  std::uint64_t bound, std::string_view what) {
    std::string list;
    for (auto n : seqs) list += (list.empty() ? "" : ", ") + std::to_string(n);
    log->warn(
        "deleted snapshots of {} at sequence nrs {} in {}: above {} ({}), so they come from a "
        "journal that was replaced by an older one (a restore of the journal without its "
        "snapshots?); the entity recovers from its journal",
        pid.describe(), list, cfg.dir.string(), what, bound);
  }
};

namespace {

rocksdb::Options make_options(const rocksdb_snapshot_store_config& cfg, rocksdb::Env* env) {
  rocksdb::Options o;
  o.info_log = internal::make_info_logger("snapshot store " + cfg.dir.string());
  internal::bound_writeback(o, cfg.bytes_per_sync);
  o.env = env;
  // As the journal: the default family (one key) would keep every WAL until RocksDB's
  // own bound (~1 GB here) forced its flush.
  if (cfg.files.max_total_wal_size > 0) o.max_total_wal_size = cfg.files.max_total_wal_size;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.paranoid_checks = true;
  // Same reasoning as the journal: never point-in-time recovery (silent loss).
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.max_bgerror_resume_count = 0;
  return o;
}

}  // namespace

result<std::unique_ptr<rocksdb_snapshot_store>> rocksdb_snapshot_store::open(
    const rocksdb_snapshot_store_config& cfg, std::shared_ptr<journal_metrics> metrics) try {
  if (cfg.keep_n_snapshots == 0)
    return fail(errc::invalid_argument, "keep-n-snapshots must be at least 1");
  auto p = std::make_unique<impl>();
  p->cfg = cfg;
  p->metrics = std::move(metrics);
  p->write_options.sync = cfg.fsync;
  p->files =
      internal::make_deferred_delete_env(cfg.env, {.store = "snapshot store " + cfg.dir.string(),
                                                   .keep_for = cfg.files.keep_deleted_for,
                                                   .max_bytes = cfg.files.keep_deleted_max_bytes});
  const auto options = make_options(cfg, p->files.env.get());
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      {rocksdb::kDefaultColumnFamilyName, options}, {"snapshots", options}};
  std::string not_rolled_back;
  auto s = internal::open_rolling_back_copies(options, cfg.dir, families, p->handles, p->db,
                                              cfg.files.roll_back_incomplete_copies,
                                              "snapshot store", not_rolled_back);
  if (!s.ok()) {
    auto e = internal::from_status(s, "cannot open snapshot store " + cfg.dir.string());
    if (internal::is_lock_error(s)) e.code = errc::locked;
    e.message += not_rolled_back;
    return fail(std::move(e));
  }
  p->cf = p->handles[1];
  if (auto ok = internal::check_format_version(*p->db, p->handles[0], p->write_options,
                                               "snapshot store", p->cfg.dir);
      !ok)
    return fail(std::move(ok).error());
  p->log->info("snapshot store opened at {} (keep {} per id)", cfg.dir.string(),
               cfg.keep_n_snapshots);
  return std::unique_ptr<rocksdb_snapshot_store>(new rocksdb_snapshot_store(std::move(p)));
} catch (const std::exception& e) {
  return fail(errc::internal, "opening snapshot store: " + std::string(e.what()));
}

rocksdb_snapshot_store::rocksdb_snapshot_store(std::unique_ptr<impl> impl)
    : impl_(std::move(impl)) {}

rocksdb_snapshot_store::~rocksdb_snapshot_store() = default;

rocksdb::DB* rocksdb_snapshot_store::db() { return impl_->db.get(); }

std::uint64_t rocksdb_snapshot_store::memtable_bytes() {
  return internal::memtable_bytes(*impl_->db);
}

std::uint64_t rocksdb_snapshot_store::deleted_files_kept_bytes() const {
  return impl_->files.fs->stats().bytes;
}

void rocksdb_snapshot_store::housekeeping() { impl_->files.fs->release_expired(); }

result<std::uint64_t> rocksdb_snapshot_store::save(const persistence_id& pid, const snapshot& s) {
  auto results = save_many({save_request{pid, s}});
  return std::move(results.front());
}

std::vector<result<std::uint64_t>> rocksdb_snapshot_store::save_many(
    const std::vector<save_request>& requests) try {
  return impl_->save_many(requests);
} catch (const std::exception& e) {
  std::vector<result<std::uint64_t>> results;
  for (const auto& r : requests) {
    results.emplace_back(
        fail(errc::internal, "saving snapshot of " + r.pid.describe() + ": " + e.what()));
  }
  return results;
}

result<std::optional<snapshot>> rocksdb_snapshot_store::load_latest(const persistence_id& pid,
                                                                    std::uint64_t max) try {
  return impl_->load_latest(pid, max);
} catch (const std::exception& e) {
  return fail(errc::internal, "loading snapshot of " + pid.describe() + ": " + e.what());
}

result<std::optional<snapshot>> rocksdb_snapshot_store::load_for_recovery(
    const persistence_id& pid, std::uint64_t journal_highest) try {
  auto dropped = impl_->delete_after(pid, journal_highest);
  if (!dropped) return fail(std::move(dropped).error());
  if (!dropped->empty())
    impl_->warn_stale(pid, *dropped, journal_highest, "the journal's highest sequence nr");
  return impl_->load_latest(pid, journal_highest);
} catch (const std::exception& e) {
  return fail(errc::internal, "loading snapshot of " + pid.describe() + ": " + e.what());
}

result<std::vector<std::uint64_t>> rocksdb_snapshot_store::list(const persistence_id& pid) try {
  return impl_->list(pid);
} catch (const std::exception& e) {
  return fail(errc::internal, "listing snapshots of " + pid.describe() + ": " + e.what());
}

result<done> rocksdb_snapshot_store::delete_to(const persistence_id& pid,
                                               std::uint64_t to_sequence_nr) {
  auto results = delete_many({delete_request{pid, to_sequence_nr}});
  return std::move(results.front());
}

std::vector<result<done>> rocksdb_snapshot_store::delete_many(
    const std::vector<delete_request>& requests) {
  std::vector<result<done>> results;
  results.reserve(requests.size());
  try {
    std::scoped_lock lock(impl_->write_mutex);
    // Point deletes of the (few: keep-n-snapshots) snapshots found, not a DeleteRange:
    // RocksDB 7.8 fragments every range tombstone of a memtable again for each new
    // iterator, so with retention purging thousands of ids every recovery's snapshot
    // lookup slowed down with them (285 instead of 2,275 purges per second, and each
    // purge reads the store first). No snapshot to delete: no write, so no sync.
    rocksdb::WriteBatch batch;
    std::vector<std::size_t> deleting;  // requests with snapshots in the batch
    std::vector<std::string> keys;
    for (const auto& r : requests) {
      keys.clear();
      id_iterator it(*impl_->db, impl_->cf, r.pid);
      const auto end = internal::encode_event_key(r.pid, r.to_sequence_nr) + '\0';
      for (it->Seek(internal::encode_event_key(r.pid, 0));
           it->Valid() && it->key().compare(end) < 0; it->Next()) {
        keys.push_back(it->key().ToString());
      }
      if (!it->status().ok()) {  // none of its snapshots is deleted
        results.emplace_back(
            fail(internal::from_status(it->status(), "listing snapshots of " + r.pid.describe())));
        continue;
      }
      for (const auto& k : keys) batch.Delete(impl_->cf, k);
      if (!keys.empty()) deleting.push_back(results.size());
      results.emplace_back(done{});
    }
    if (deleting.empty()) return results;
    if (auto s = impl_->write(batch); !s.ok()) {
      for (auto i : deleting) {
        results[i] =
            fail(internal::from_status(s, "deleting snapshots of " + requests[i].pid.describe()));
      }
    }
    return results;
  } catch (const std::exception& e) {
    results.clear();
    for (const auto& r : requests) {
      results.emplace_back(
          fail(errc::internal, "deleting snapshots of " + r.pid.describe() + ": " + e.what()));
    }
    return results;
  }
}

result<done> rocksdb_snapshot_store::put_raw_for_test(const persistence_id& pid, std::uint64_t seq,
                                                      const std::string& bytes) {
  auto s =
      impl_->db->Put(impl_->write_options, impl_->cf, internal::encode_event_key(pid, seq), bytes);
  if (!s.ok()) return fail(internal::from_status(s, "raw put"));
  return done{};
}

}  // namespace wfe::persistence
