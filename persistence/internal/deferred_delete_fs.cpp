#include "persistence/internal/deferred_delete_fs.hpp"

#include <algorithm>
#include <string_view>

#include <spdlog/logger.h>

#include "engine/core/logging.hpp"

namespace wfe::persistence::internal {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Files RocksDB names by a file number, which it never reuses: WALs, table and blob
// files, MANIFEST-n and OPTIONS-n. Anything else (IDENTITY, CURRENT, temp files) may be
// written again under the same name after a delete, so it is deleted at once.
bool numbered(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string_view name = slash == std::string::npos
                                    ? std::string_view(path)
                                    : std::string_view(path).substr(slash + 1);
  for (std::string_view prefix : {"MANIFEST-", "OPTIONS-"}) {
    if (name.substr(0, prefix.size()) == prefix) return all_digits(name.substr(prefix.size()));
  }
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || !all_digits(name.substr(0, dot))) return false;
  const auto ext = name.substr(dot);
  return ext == ".log" || ext == ".sst" || ext == ".ldb" || ext == ".blob";
}

}  // namespace

deferred_delete_fs::deferred_delete_fs(std::shared_ptr<rocksdb::FileSystem> target,
                                       deferred_delete_config cfg)
    : FileSystemWrapper(std::move(target)), cfg_(std::move(cfg)) {}

rocksdb::IOStatus deferred_delete_fs::DeleteFile(const std::string& name,
                                                 const rocksdb::IOOptions& options,
                                                 rocksdb::IODebugContext* dbg) {
  if (cfg_.keep_for.count() <= 0 || !numbered(name)) {
    return target()->DeleteFile(name, options, dbg);
  }
  std::uint64_t bytes = 0;
  if (!target()->GetFileSize(name, options, &bytes, dbg).ok()) {
    return target()->DeleteFile(name, options, dbg);  // its own answer (e.g. NotFound)
  }
  const auto now = cfg_.now();
  std::scoped_lock lock(mutex_);
  for (const auto& k : kept_) {
    if (k.name == name) return rocksdb::IOStatus::OK();  // deleted again by an open's scan
  }
  kept_.push_back(kept{name, bytes, now + cfg_.keep_for});
  ++stats_.files;
  stats_.bytes += bytes;
  reap(now);
  return rocksdb::IOStatus::OK();
}

void deferred_delete_fs::reap(std::chrono::steady_clock::time_point now) {
  std::uint64_t early = 0;
  while (!kept_.empty() && (kept_.front().until <= now || stats_.bytes > cfg_.max_bytes)) {
    if (kept_.front().until > now) ++early;
    remove(kept_.front());
    kept_.pop_front();
  }
  if (early == 0) return;
  stats_.deleted_early += early;
  // At most one warning a minute: under a heavy write load this is every compaction.
  if (last_warning_ == std::chrono::steady_clock::time_point{} ||
      now - last_warning_ >= std::chrono::minutes(1)) {
    last_warning_ = now;
    core::logger("persistence")
        ->warn(
            "{}: deleted {} obsolete RocksDB file(s) before keep-deleted-files-for ({} ms): the "
            "files kept hold more than keep-deleted-files-max-bytes ({} bytes), so a "
            "file-by-file copy (tar) of the running store can miss a file ({} deleted early "
            "so far). Raise the bound, or set keep-deleted-files-for = 0s if the store is "
            "not copied while it runs",
            cfg_.store, early, cfg_.keep_for.count(), cfg_.max_bytes, stats_.deleted_early);
  }
}

void deferred_delete_fs::remove(const kept& k) {
  // A file already gone (removed by hand) is no error here: it is what was asked.
  (void)target()->DeleteFile(k.name, rocksdb::IOOptions{}, nullptr);
  --stats_.files;
  stats_.bytes -= k.bytes;
}

void deferred_delete_fs::release_expired() {
  std::scoped_lock lock(mutex_);
  reap(cfg_.now());
}

void deferred_delete_fs::release_all() {
  std::scoped_lock lock(mutex_);
  stats_.deleted_early += kept_.size();
  for (const auto& k : kept_) remove(k);
  kept_.clear();
}

deferred_delete_stats deferred_delete_fs::stats() const {
  std::scoped_lock lock(mutex_);
  return stats_;
}

deferred_delete_env make_deferred_delete_env(rocksdb::Env* base, deferred_delete_config cfg) {
  auto target = base != nullptr ? base->GetFileSystem() : rocksdb::FileSystem::Default();
  auto fs = std::make_shared<deferred_delete_fs>(std::move(target), std::move(cfg));
  auto env = rocksdb::NewCompositeEnv(fs);
  return deferred_delete_env{std::move(fs), std::move(env)};
}

}  // namespace wfe::persistence::internal
