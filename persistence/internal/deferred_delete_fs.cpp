#include "persistence/internal/deferred_delete_fs.hpp"

#include <spdlog/logger.h>

#include "engine/core/logging.hpp"

namespace wfe::persistence::internal {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

deferred_delete_fs::deferred_delete_fs(std::shared_ptr<rocksdb::FileSystem> target,
                                       deferred_delete_config cfg)
    : FileSystemWrapper(std::move(target)), cfg_(std::move(cfg)) {}

rocksdb::IOStatus deferred_delete_fs::DeleteFile(const std::string& name,
                                                 const rocksdb::IOOptions& options,
                                                 rocksdb::IODebugContext* dbg) {
  if (cfg_.keep_for.count() <= 0 || ends_with(name, ".dbtmp")) {
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
