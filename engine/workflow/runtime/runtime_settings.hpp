#pragma once
// Validated settings of the workflow runtime: the region/shard seam (pekko.cluster.sharding)
// and the runtime's own bounds (pekko.workflow.runtime). Documented with their defaults
// in conf/reference.conf.

#include <chrono>
#include <filesystem>
#include <cstddef>
#include <cstdint>

namespace wfe::core {
class settings_reader;
}

namespace wfe::workflow::runtime {

struct runtime_settings {
  // pekko.cluster.sharding.number-of-shards (read by cluster_settings; copied in).
  std::uint32_t number_of_shards = 100;
  // pekko.cluster.sharding.passivate-idle-entity-after (cluster_settings; copied in).
  std::chrono::milliseconds passivate_idle_after{120'000};
  // pekko.cluster.sharding.max-active-entities: per node, split evenly over the shards
  // (each shard keeps at most max(1, this / number-of-shards)); the least recently used
  // idle entities are passivated beyond it.
  std::uint64_t max_active_entities = 100'000;
  // pekko.workflow.runtime.passivate-finished-after: a finished workflow (COMPLETED,
  // FAILED, CANCELLED) untouched this long is passivated, without waiting for
  // passivate-idle-entity-after (0, `off`: only that). Its next message recovers it.
  std::chrono::milliseconds passivate_finished_after{5'000};
  // pekko.workflow.runtime.task-resubmit-delay / task-resubmit-max-delay: after the
  // dispatcher refused a task (queue and parking lot full), the entity offers it again
  // after resubmit_delay (+ up to 50% jitter).
  std::chrono::milliseconds task_resubmit_delay{1'000};
  std::chrono::milliseconds task_resubmit_max_delay{30'000};

  // The delay before re-offering a task refused `rejections` times before (0 for the
  // first refusal): task-resubmit-delay doubled per earlier refusal, at most
  // task-resubmit-max-delay. Jitter is the caller's.
  [[nodiscard]] std::chrono::milliseconds resubmit_delay(std::uint32_t rejections) const;
  // pekko.workflow.runtime.wake-batch-size: workflows recovered at once at start-up.
  std::size_t wake_batch_size = 200;
  // pekko.workflow.runtime.history-default-limit / history-max-limit: events per
  // GET /api/v1/workflows/{id}/history (?limit=).
  std::uint32_t history_default_limit = 1'000;
  std::uint32_t history_max_limit = 10'000;
  // pekko.workflow.runtime.inline-noop: a workflow runs its noop steps itself, in the
  // write that schedules them (decide_options::inline_noop), not on the dispatcher.
  bool inline_noop = true;
  // Where the shard actors run: on the HTTP server's io threads (true) or CAF's
  // scheduler (core/loop_dispatcher.hpp); messages per shard per turn on the io thread.
  bool shards_on_http_io = true;
  std::size_t shard_dispatcher_throughput = 64;
  // pekko.workflow.runtime.failover-log-limit: workflows resumed with steps in flight
  // after their node stopped each log a "workflow_failover" event, up to this many per
  // process (then one line says the rest are only counted: workflow_failovers_total).
  std::uint64_t failover_log_limit = 1'000;

  // pekko.workflow.retention: finished workflows (COMPLETED, FAILED, CANCELLED) whose
  // last change is older than finished-after are deleted (journal, snapshots, index
  // record and dead letter) by a sweeper that looks every sweep-interval, purging at
  // most batch-size per page (and going on at once while pages are full), at most
  // max-concurrent-purges at a time (waiting purges share the journal's synced write).
  // finished-after 0 (`off`, the default) = kept for good; DELETE still works.
  std::chrono::milliseconds retention_finished_after{0};
  std::chrono::milliseconds retention_sweep_interval{60'000};
  std::uint32_t retention_batch_size = 256;
  std::uint32_t retention_max_concurrent_purges = 32;
  // pekko.workflow.retention.archive-dir (empty, the default: no archive): the sweeper
  // appends each workflow it deletes, record and events, to a JSON-lines file there
  // first (archive.hpp), in files of at most archive-max-file-bytes, and deletes nothing
  // once the archive holds archive-max-bytes.
  std::filesystem::path retention_archive_dir;
  std::uint64_t retention_archive_max_file_bytes = 64ull << 20;
  std::uint64_t retention_archive_max_bytes = 10ull << 30;
  // ...and a page of GET /api/v1/archived-workflows reads at most this much of it. A
  // workflow with more than archive-max-events events is not archived, so not deleted
  // (its line, every event, is built in the sweeper's memory).
  std::uint64_t retention_archive_list_max_bytes = 64ull << 20;
  std::uint64_t retention_archive_max_events = 100'000;

  // Reads the keys above except the two copied from cluster_settings.
  static runtime_settings read(core::settings_reader& r);
};

}  // namespace wfe::workflow::runtime
