#include "engine/workflow/store/store_settings.hpp"

#include <system_error>

#include "engine/core/settings_reader.hpp"

namespace wfe::workflow::store {

std::filesystem::path default_index_dir(const std::filesystem::path& journal_dir) {
  auto dir = journal_dir.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "data/journal/" -> "data/journal"
  return dir.parent_path() / "workflow-index";
}

store_settings store_settings::read(core::settings_reader& r,
                                    const std::filesystem::path& journal_dir) {
  store_settings s;
  auto u32 = [&r](std::string_view key, std::int64_t min, std::int64_t max) {
    return static_cast<std::uint32_t>(r.integer(key, min, max));
  };
  s.definitions.max_definitions = u32("pekko.workflow.definitions.max-definitions", 1, 10'000'000);
  s.definitions.max_versions = u32("pekko.workflow.definitions.max-versions", 1, 1'000'000);

  constexpr std::string_view k_dir = "pekko.workflow.store.dir";
  const auto dir = r.string(k_dir);
  s.index.dir = dir.empty() ? default_index_dir(journal_dir) : std::filesystem::path(dir);
  std::error_code ec1;
  std::error_code ec2;
  const auto index_dir = std::filesystem::weakly_canonical(s.index.dir, ec1);
  const auto journal = std::filesystem::weakly_canonical(journal_dir, ec2);
  if (!journal_dir.empty() && !ec1 && !ec2 && index_dir == journal) {
    r.fail(k_dir, "must differ from the journal directory (the index is its own RocksDB)");
  }
  s.index.max_batch_updates = u32("pekko.workflow.store.max-batch-updates", 1, 1'000'000);
  s.index.update_linger = r.duration("pekko.workflow.store.update-linger",
                                     std::chrono::milliseconds(0), std::chrono::seconds(10));
  s.index.list_max_limit = u32("pekko.workflow.store.list-max-limit", 1, 100'000);
  constexpr std::string_view k_default_limit = "pekko.workflow.store.list-default-limit";
  s.index.list_default_limit = u32(k_default_limit, 1, 100'000);
  if (s.index.list_default_limit > s.index.list_max_limit) {
    r.fail(k_default_limit, "must not exceed pekko.workflow.store.list-max-limit (" +
                                std::to_string(s.index.list_max_limit) + ")");
  }
  s.index.list_max_scan = u32("pekko.workflow.store.list-max-scan", 1, 10'000'000);
  if (r.ok() && s.index.list_max_scan < s.index.list_max_limit) {
    r.fail("pekko.workflow.store.list-max-scan",
           "must be at least pekko.workflow.store.list-max-limit (" +
               std::to_string(s.index.list_max_limit) + ")");
  }
  s.index.reconcile_batch = u32("pekko.workflow.store.reconcile-batch", 1, 1'000'000);
  s.index.write_retry_min_backoff =
      r.duration("pekko.workflow.store.write-retry-min-backoff", std::chrono::milliseconds(1),
                 std::chrono::minutes(10));
  constexpr std::string_view k_max_backoff = "pekko.workflow.store.write-retry-max-backoff";
  s.index.write_retry_max_backoff =
      r.duration(k_max_backoff, std::chrono::milliseconds(1), std::chrono::hours(1));
  if (r.ok() && s.index.write_retry_max_backoff < s.index.write_retry_min_backoff) {
    r.fail(k_max_backoff, "must be at least pekko.workflow.store.write-retry-min-backoff");
  }
  constexpr std::string_view k_retained = "pekko.workflow.store.max-retained-updates";
  s.index.max_retained_updates = u32(k_retained, 1, 100'000'000);
  if (r.ok() && s.index.max_retained_updates < s.index.max_batch_updates) {
    r.fail(k_retained, "must be at least pekko.workflow.store.max-batch-updates (" +
                           std::to_string(s.index.max_batch_updates) + ")");
  }

  s.timers.max_timers =
      static_cast<std::uint64_t>(r.integer("pekko.workflow.timers.max-timers", 1, 1'000'000'000));
  s.timers.tick =
      r.duration("pekko.workflow.timers.tick", std::chrono::milliseconds(1), std::chrono::hours(1));
  s.timers.redeliver_after = r.duration("pekko.workflow.timers.redeliver-after",
                                        std::chrono::milliseconds(1), std::chrono::hours(24));
  s.timers.max_fire_batch = u32("pekko.workflow.timers.max-fire-batch", 1, 1'000'000);
  s.timers.reload_interval = r.duration("pekko.workflow.timers.reload-interval",
                                        std::chrono::milliseconds(1), std::chrono::hours(24));
  return s;
}

}  // namespace wfe::workflow::store
