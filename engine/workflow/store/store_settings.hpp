#pragma once
// Validated settings of the workflow store: the definition registry's bounds
// (pekko.workflow.definitions), the visibility index (pekko.workflow.store) and the
// timer service (pekko.workflow.timers). Defaults mirror conf/reference.conf.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace rocksdb {
class Env;
}

namespace wfe::core {
class health;
class settings_reader;
}

namespace wfe::workflow::store {

struct definition_settings {
  std::uint32_t max_definitions = 10'000;  // distinct names
  std::uint32_t max_versions = 1'000;      // versions per name
};

struct index_settings {
  // "" in the config = <parent of the journal dir>/workflow-index (resolved by read()).
  std::filesystem::path dir;
  std::uint32_t max_batch_updates = 1024;  // index updates per WriteBatch (and waiting)
  // How long an update waits for a newer one of the same workflow to replace it (a
  // short workflow's start and completion are then written once); 0 = written at once.
  std::chrono::milliseconds update_linger{20};
  std::uint32_t list_default_limit = 100;
  std::uint32_t list_max_limit = 1000;
  // Entries a filtered listing page looks at, at most (list_dead_letters::step).
  std::uint32_t list_max_scan = 10'000;
  std::uint32_t reconcile_batch = 1000;  // ids per reconcile() callback
  // persistence::internal::bound_writeback; not a key of its own: the node passes
  // pekko.persistence.journal.rocksdb.bytes-per-sync (engine/node_settings.cpp).
  std::uint64_t bytes_per_sync = 1ULL << 20;
  // While index writes fail (a full disk, an I/O error) the updates are kept and written
  // again after a backoff that doubles from min to max; at most max_retained_updates wait
  // (beyond, the oldest are dropped: reconcile() repairs them at the next start).
  std::chrono::milliseconds write_retry_min_backoff{100};
  std::chrono::milliseconds write_retry_max_backoff{10'000};
  std::uint32_t max_retained_updates = 100'000;
  rocksdb::Env* env = nullptr;  // tests: a file system whose disk can fill up
  // Told "workflow-index" is down while RocksDB refuses to resume writing after a failed
  // write (persistence::internal::refuses_to_resume), up once it resumes; may be null.
  std::shared_ptr<core::health> health{};
};

struct timer_settings {
  std::uint64_t max_timers = 1'000'000;               // timers held in memory
  std::chrono::milliseconds tick{1000};               // longest sleep between clock reads
  std::chrono::milliseconds redeliver_after{30'000};  // a fired timer fires again after this
  std::uint32_t max_fire_batch = 1000;                // timer_due messages per wake-up
  // While timers beyond max_timers are only in the index: the least time between two
  // reads of the index for them.
  std::chrono::milliseconds reload_interval{10'000};
};

struct store_settings {
  definition_settings definitions;
  index_settings index;
  timer_settings timers;

  // pekko.workflow.definitions.{max-definitions,max-versions},
  // pekko.workflow.store.{dir,max-batch-updates,update-linger,list-default-limit,
  //   list-max-limit,reconcile-batch},
  // pekko.workflow.timers.{max-timers,tick,redeliver-after,max-fire-batch,reload-interval}.
  // `journal_dir` resolves the default index dir.
  static store_settings read(core::settings_reader& r, const std::filesystem::path& journal_dir);
};

// The default index directory: `workflow-index` next to the journal directory
// ("./data/journal" -> "./data/workflow-index").
[[nodiscard]] std::filesystem::path default_index_dir(const std::filesystem::path& journal_dir);

}  // namespace wfe::workflow::store
