#include "engine/workflow/store/workflow_index.hpp"

#include <exception>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "engine/core/logging.hpp"
#include "engine/workflow/store/index_codec.hpp"
#include "engine/workflow/store/store_metrics.hpp"
#include "persistence/internal/rocksdb_support.hpp"

namespace wfe::workflow::store {

using persistence::errc;
using persistence::fail;
using persistence::result;

namespace {

constexpr std::string_view k_format_key = "format-version";
constexpr std::string_view k_format_version = "1";
constexpr std::size_t k_tag_bytes = 4;

core::unexpected<persistence::error> as_failure(persistence::error e) {
  return core::unexpected<persistence::error>{std::move(e)};
}

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

rocksdb::Options make_options() {
  rocksdb::Options o;
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

struct workflow_index::impl {
  index_settings settings;
  std::shared_ptr<store_metrics> metrics;
  std::shared_ptr<spdlog::logger> log = core::logger("workflow");
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;  // sync = false: derived data
  index_stats stats;
  bool needs_resume = false;

  ~impl() {
    if (db) (void)db->Close();
  }

  persistence::error error_of(const rocksdb::Status& s, const std::string& what) const {
    return persistence::internal::from_status(
        s, what + " (workflow index " + settings.dir.string() + ")");
  }

  // What the index holds about one workflow, as seen during a batch.
  struct current {
    std::optional<workflow_record> record;
    bool dead_letter = false;
    bool timers = false;
  };

  result<current> read_current(const std::string& id) {
    current c;
    std::string value;
    auto s = db->Get(rocksdb::ReadOptions{}, codec::record_key(id), &value);
    if (!s.ok() && !s.IsNotFound()) return as_failure(error_of(s, "reading record of " + id));
    if (s.ok()) {
      c.record = codec::decode_record(value);
      if (!c.record) log->warn("workflow index: damaged record of '{}' is replaced", id);
    }
    s = db->Get(rocksdb::ReadOptions{}, codec::dead_letter_key(id), &value);
    if (!s.ok() && !s.IsNotFound()) return as_failure(error_of(s, "reading dead letter of " + id));
    c.dead_letter = s.ok();
    s = db->Get(rocksdb::ReadOptions{}, codec::timers_key(id), &value);
    if (!s.ok() && !s.IsNotFound()) return as_failure(error_of(s, "reading timers of " + id));
    c.timers = s.ok();
    return c;
  }

  result<std::uint64_t> count_prefix(std::string_view prefix) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
    std::uint64_t n = 0;
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      ++n;
    }
    if (!it->status().ok()) return as_failure(error_of(it->status(), "counting"));
    return n;
  }

  result<persistence::done> compute_stats() {
    for (auto st : {workflow_status::running, workflow_status::completed, workflow_status::failed,
                    workflow_status::cancelled}) {
      auto n = count_prefix(codec::list_prefix(st, {}));
      if (!n) return as_failure(std::move(n).error());
      count_of(stats, st) = *n;
    }
    auto dl = count_prefix(std::string(1, codec::k_dead_letter));
    if (!dl) return as_failure(std::move(dl).error());
    stats.dead_letters = *dl;
    auto t = count_prefix(std::string(1, codec::k_timers));
    if (!t) return as_failure(std::move(t).error());
    stats.workflows_with_timers = *t;
    return persistence::done{};
  }

  result<persistence::done> commit(rocksdb::WriteBatch& batch) {
    if (needs_resume) {
      auto r = db->Resume();
      if (r.ok()) needs_resume = false;
    }
    auto s = db->Write(write_options, &batch);
    if (!s.ok()) {
      needs_resume = true;
      return as_failure(error_of(s, "writing"));
    }
    return persistence::done{};
  }

  void publish() {
    if (metrics) metrics->index_counts(stats);
  }

  // Scans `prefix` from the cursor; `emit(suffix, value)` returns false to skip an entry
  // (not counted). Returns the next cursor ("" at the end).
  result<std::string> scan(std::string_view prefix, const std::string& cursor, std::uint32_t limit,
                           std::size_t min_suffix,
                           const std::function<bool(std::string_view suffix)>& emit) const {
    const auto tag = prefix_tag(prefix);
    std::string start(prefix);
    bool skip_exact = false;
    if (!cursor.empty()) {
      auto raw = codec::from_hex(cursor);
      if (!raw || raw->size() < k_tag_bytes + min_suffix || raw->compare(0, k_tag_bytes, tag) != 0)
        return fail(errc::invalid_argument, "invalid cursor (not from this listing)");
      start.append(*raw, k_tag_bytes);
      skip_exact = true;
    }
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    it->Seek(start);
    if (skip_exact && it->Valid() && it->key() == rocksdb::Slice(start)) it->Next();
    std::uint32_t n = 0;
    std::string last;
    for (; it->Valid() && starts_with(it->key(), prefix); it->Next()) {
      if (n == limit) return codec::to_hex(tag + last);
      std::string_view suffix(it->key().data() + prefix.size(), it->key().size() - prefix.size());
      if (emit(suffix)) {
        ++n;
        last.assign(suffix);
      }
    }
    if (!it->status().ok()) return as_failure(error_of(it->status(), "listing"));
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
workflow_index::~workflow_index() = default;

const std::filesystem::path& workflow_index::dir() const { return impl_->settings.dir; }

result<std::unique_ptr<workflow_index>> workflow_index::open(
    const index_settings& settings, std::shared_ptr<store_metrics> metrics) try {
  auto p = std::make_unique<impl>();
  p->settings = settings;
  p->metrics = std::move(metrics);
  std::error_code ec;
  std::filesystem::create_directories(settings.dir, ec);
  if (ec) {
    return fail(errc::io_error, "cannot create workflow index directory " + settings.dir.string() +
                                    ": " + ec.message());
  }
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(make_options(), settings.dir.string(), &raw);
  p->db.reset(raw);
  if (!s.ok()) {
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
    return as_failure(std::move(e));
  }
  std::string value;
  s = p->db->Get(rocksdb::ReadOptions{}, std::string(k_format_key), &value);
  if (s.IsNotFound()) {
    s = p->db->Put(p->write_options, std::string(k_format_key), std::string(k_format_version));
  } else if (s.ok() && value != k_format_version) {
    return fail(errc::corruption, "workflow index " + settings.dir.string() +
                                      " has format version '" + value + "', this build reads '" +
                                      std::string(k_format_version) +
                                      "' (delete the directory: it is rebuilt from the journal)");
  }
  if (!s.ok()) return as_failure(p->error_of(s, "format version"));
  if (auto ok = p->compute_stats(); !ok) return as_failure(std::move(ok).error());
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
  rocksdb::WriteBatch batch;
  std::unordered_map<std::string, impl::current> seen;  // state after this batch's updates
  auto stats = p.stats;
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
      if (!c) return as_failure(std::move(c).error());
      found = seen.emplace(id, std::move(*c)).first;
    }
    auto& cur = found->second;
    if (cur.record && u.record.seq < cur.record->seq) continue;  // stale
    if (cur.record) {
      for (const auto& k : codec::secondary_keys(*cur.record)) batch.Delete(k);
      decrement(count_of(stats, cur.record->status));
    }
    for (const auto& k : codec::secondary_keys(u.record)) batch.Put(k, rocksdb::Slice());
    batch.Put(codec::record_key(id), codec::encode(u.record));
    ++count_of(stats, u.record.status);
    cur.record = u.record;

    if (u.dead_letter) {
      auto dl = *u.dead_letter;
      dl.id = id;  // one open dead letter per workflow, named by the workflow id
      dl.workflow_id = id;
      batch.Put(codec::dead_letter_key(id), codec::encode(dl));
      if (!cur.dead_letter) ++stats.dead_letters;
      cur.dead_letter = true;
    } else if (cur.dead_letter) {
      batch.Delete(codec::dead_letter_key(id));
      decrement(stats.dead_letters);
      cur.dead_letter = false;
    }

    if (!u.timers.empty()) {
      batch.Put(codec::timers_key(id), codec::encode(u.timers));
      if (!cur.timers) ++stats.workflows_with_timers;
      cur.timers = true;
    } else if (cur.timers) {
      batch.Delete(codec::timers_key(id));
      decrement(stats.workflows_with_timers);
      cur.timers = false;
    }
    ++applied;
  }
  if (batch.Count() > 0) {
    if (auto ok = p.commit(batch); !ok) return as_failure(std::move(ok).error());
  }
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
  rocksdb::WriteBatch batch;
  auto stats = p.stats;
  std::uint64_t removed = 0;
  for (const auto& id : ids) {
    auto c = p.read_current(id);
    if (!c) return as_failure(std::move(c).error());
    if (c->record) {
      for (const auto& k : codec::secondary_keys(*c->record)) batch.Delete(k);
      decrement(count_of(stats, c->record->status));
    }
    if (c->dead_letter) decrement(stats.dead_letters);
    if (c->timers) decrement(stats.workflows_with_timers);
    batch.Delete(codec::record_key(id));
    batch.Delete(codec::dead_letter_key(id));
    batch.Delete(codec::timers_key(id));
    ++removed;
  }
  if (batch.Count() > 0) {
    if (auto ok = p.commit(batch); !ok) return as_failure(std::move(ok).error());
  }
  p.stats = stats;
  p.publish();
  return removed;
} catch (const std::exception& e) {
  return fail(errc::internal,
              std::string("workflow index remove: unexpected exception: ") + e.what());
}

result<workflow_page> workflow_index::list(const list_workflows& q) const try {
  const auto& p = *impl_;
  auto limit = p.check_limit(q.limit);
  if (!limit) return as_failure(std::move(limit).error());
  if (!q.definition.empty() && !is_valid_id(q.definition)) {
    return fail(errc::invalid_argument, "definition must be 1-256 bytes of [A-Za-z0-9._:-]");
  }
  workflow_page page;
  persistence::error read_error;
  bool failed = false;
  auto next = p.scan(codec::list_prefix(q.status, q.definition), q.cursor, *limit, 9,
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
                         p.log->warn("workflow index: secondary key without record for '{}'", id);
                         return false;
                       }
                       page.items.push_back(std::move(**r));
                       return true;
                     });
  if (failed) return as_failure(std::move(read_error));
  if (!next) return as_failure(std::move(next).error());
  page.next_cursor = std::move(*next);
  return page;
} catch (const std::exception& e) {
  return fail(errc::internal,
              std::string("workflow index list: unexpected exception: ") + e.what());
}

result<dead_letter_page> workflow_index::list(const list_dead_letters& q) const try {
  const auto& p = *impl_;
  auto limit = p.check_limit(q.limit);
  if (!limit) return as_failure(std::move(limit).error());
  dead_letter_page page;
  const std::string prefix(1, codec::k_dead_letter);
  auto next = p.scan(prefix, q.cursor, *limit, 1, [&](std::string_view suffix) {
    std::string value;
    auto s = p.db->Get(rocksdb::ReadOptions{}, prefix + std::string(suffix), &value);
    if (!s.ok()) return false;
    auto d = codec::decode_dead_letter(value);
    if (!d) {
      p.log->warn("workflow index: damaged dead letter '{}' skipped", suffix);
      return false;
    }
    page.items.push_back(std::move(*d));
    return true;
  });
  if (!next) return as_failure(std::move(next).error());
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
  if (!s.ok()) return as_failure(impl_->error_of(s, "reading record of " + id));
  auto r = codec::decode_record(value);
  if (!r) return fail(errc::corruption, "workflow index: damaged record of '" + id + "'");
  return r;
}

result<std::optional<dead_letter_record>> workflow_index::dead_letter(const std::string& id) const {
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, codec::dead_letter_key(id), &value);
  if (s.IsNotFound()) return std::optional<dead_letter_record>{};
  if (!s.ok()) return as_failure(impl_->error_of(s, "reading dead letter " + id));
  auto d = codec::decode_dead_letter(value);
  if (!d) return fail(errc::corruption, "workflow index: damaged dead letter '" + id + "'");
  return d;
}

result<std::vector<workflow_timers>> workflow_index::load_timers() const try {
  std::vector<workflow_timers> out;
  const std::string prefix(1, codec::k_timers);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions{}));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    std::string id(it->key().data() + 1, it->key().size() - 1);
    auto timers = codec::decode_timers(std::string_view(it->value().data(), it->value().size()));
    if (!timers) {
      // Derived data: the workflow's recovery (reconcile: RUNNING) re-registers them.
      impl_->log->warn("workflow index: damaged timers of '{}' skipped", id);
      continue;
    }
    out.push_back(workflow_timers{std::move(id), std::move(*timers)});
  }
  if (!it->status().ok()) return as_failure(impl_->error_of(it->status(), "loading timers"));
  return out;
} catch (const std::exception& e) {
  return fail(errc::internal, std::string("loading timers: unexpected exception: ") + e.what());
}

result<std::uint64_t> workflow_index::for_each_record(
    const std::function<bool(const workflow_record&)>& fn) const try {
  const std::string prefix(1, codec::k_record);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions{}));
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
  if (!it->status().ok()) return as_failure(impl_->error_of(it->status(), "scanning records"));
  return n;
} catch (const std::exception& e) {
  return fail(errc::internal, std::string("scanning records: unexpected exception: ") + e.what());
}

index_stats workflow_index::stats() const { return impl_->stats; }

}  // namespace wfe::workflow::store
