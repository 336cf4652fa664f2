#include "engine/workflow/runtime/runtime_settings.hpp"

#include "engine/core/settings_reader.hpp"

namespace wfe::workflow::runtime {

runtime_settings runtime_settings::read(core::settings_reader& r) {
  using std::chrono::milliseconds;
  runtime_settings s;
  s.max_active_entities = static_cast<std::uint64_t>(
      r.integer("pekko.cluster.sharding.max-active-entities", 1, 1'000'000'000));
  s.passivate_finished_after = r.duration_or_off("pekko.workflow.runtime.passivate-finished-after",
                                                 milliseconds(1), milliseconds(86'400'000));
  s.task_resubmit_delay = r.duration("pekko.workflow.runtime.task-resubmit-delay", milliseconds(1),
                                     milliseconds(3'600'000));
  s.task_resubmit_max_delay = r.duration("pekko.workflow.runtime.task-resubmit-max-delay",
                                         milliseconds(1), milliseconds(3'600'000));
  s.wake_batch_size =
      static_cast<std::size_t>(r.integer("pekko.workflow.runtime.wake-batch-size", 1, 100'000));
  s.history_default_limit = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.runtime.history-default-limit", 1, 1'000'000));
  s.history_max_limit = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.runtime.history-max-limit", 1, 1'000'000));
  s.inline_noop = r.boolean("pekko.workflow.runtime.inline-noop");
  s.shards_on_http_io =
      r.one_of("pekko.workflow.runtime.shard-dispatcher", {"http-io", "default"}) == "http-io";
  s.shard_dispatcher_throughput = static_cast<std::size_t>(
      r.integer("pekko.workflow.runtime.shard-dispatcher-throughput", 1, 1'000'000));
  s.failover_log_limit = static_cast<std::uint64_t>(
      r.integer("pekko.workflow.runtime.failover-log-limit", 0, 1'000'000'000));
  s.retention_finished_after =
      r.duration_or_off("pekko.workflow.retention.finished-after", milliseconds(1),
                        milliseconds(3'650LL * 86'400'000));
  s.retention_sweep_interval = r.duration("pekko.workflow.retention.sweep-interval",
                                          milliseconds(10), milliseconds(86'400'000));
  s.retention_batch_size =
      static_cast<std::uint32_t>(r.integer("pekko.workflow.retention.batch-size", 1, 10'000));
  s.retention_max_concurrent_purges = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.retention.max-concurrent-purges", 1, 1'024));
  s.retention_archive_dir = r.string("pekko.workflow.retention.archive-dir");
  s.retention_archive_max_file_bytes =
      r.bytes("pekko.workflow.retention.archive-max-file-bytes", 1 << 20, 1ull << 40);
  s.retention_archive_max_bytes =
      r.bytes("pekko.workflow.retention.archive-max-bytes", 1 << 20, 1ull << 50);
  s.retention_archive_list_max_bytes =
      r.bytes("pekko.workflow.retention.archive-list-max-bytes", 1 << 16, 1ull << 32);
  s.retention_archive_max_events = static_cast<std::uint64_t>(
      r.integer("pekko.workflow.retention.archive-max-events", 1, 10'000'000));
  if (r.ok() && s.task_resubmit_delay > s.task_resubmit_max_delay) {
    r.fail("pekko.workflow.runtime.task-resubmit-delay",
           "must not exceed pekko.workflow.runtime.task-resubmit-max-delay");
  }
  if (r.ok() && s.history_default_limit > s.history_max_limit) {
    r.fail("pekko.workflow.runtime.history-default-limit",
           "must not exceed pekko.workflow.runtime.history-max-limit");
  }
  return s;
}

std::chrono::milliseconds runtime_settings::resubmit_delay(std::uint32_t rejections) const {
  auto d = task_resubmit_delay;
  for (std::uint32_t i = 0; i < rejections && d < task_resubmit_max_delay; ++i) d *= 2;
  return std::min(d, task_resubmit_max_delay);
}

}  // namespace wfe::workflow::runtime
