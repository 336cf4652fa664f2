#pragma once
// The workflow index: DERIVED data in its own RocksDB (pekko.workflow.store.dir; default
// `workflow-index` next to the journal dir), rebuildable from the journal at any time.
// Holds the visibility records of workflows (with secondary keys by status, definition
// and both), the open dead letters, and the pending timers of each workflow.
//
// Writes are NOT synced: a crash may lose the newest updates; reconcile() at start finds
// every workflow whose journal is ahead of its record and the runtime recovers it (a
// recovering entity sends a fresh index_update and set_timers). `workflow-engine restore`
// must delete this directory (the restored journal is the truth; an empty index makes
// reconcile() recover every workflow).
//
// Keys (one default column family, prefix bytes; big-endian numbers sort as numbers;
// `inv` = ~created_at_ms so that newest sorts first):
//   "r" id                                  -> workflow_record + whether "l"/"w" exist
//                                              (with a hash of each value; for "w" also
//                                              its first due time, which names the key,
//                                              and its size)
//   "s" status inv id                       -> ""
//   "x" status definition 0x00 inv id       -> ""
//   "l" id                                  -> dead_letter_record
//   "w" first-due id                        -> the workflow's pending timers, in due
//                                              order of each set's first timer:
//                                              load_timers reads the sets due first,
//                                              and only those (format 3: "t" id)
//   "format-version"                        -> "4" (an index of format "1" or "2" is
//                                              wiped at open; reconcile() then recovers
//                                              everything; format "3"'s timer sets are
//                                              moved to their "w" keys)
// A listing filtered by status is a range scan over one prefix; one without a status
// filter (all workflows, or all of a definition) merges the scans of the four statuses
// in (inv, id) order — two secondary keys per workflow instead of four ("a" and "d"
// listings of format 2 cost two skip-list inserts per new workflow, ~5 % of a start's
// instructions). A cursor is the hex of the listing's tag and the last item's (inv, id),
// so it survives inserts and deletes between pages.
//
// An update costs one Get per id per batch (the record) and writes only what changed:
// the secondary keys in old∖new are deleted and those in new∖old put; an identical record,
// dead letter or timer set is not rewritten.
//
// Thread-safety: not thread-safe; one owner at a time — start-up code (reconcile,
// load_timers) before the index actor is spawned, then only the index actor. Besides,
// load_timers may run on another thread next to the owner (the timer service's reads
// beyond max-timers).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>

#include "engine/workflow/store/records.hpp"
#include "engine/workflow/store/store_settings.hpp"
#include "persistence/errc.hpp"

namespace wfe::persistence {
class journal;
}

namespace wfe::workflow::store {

class store_metrics;

class workflow_index {
 public:
  // Opens (creating if missing) the index at settings.dir. A directory held by another
  // process -> errc::locked; damage or an unknown format version -> errc::corruption
  // (delete the directory: the index is rebuilt by reconcile()). An index of a previous
  // format ("1", "2") is wiped and starts empty (logged as a warning).
  [[nodiscard]] static persistence::result<std::unique_ptr<workflow_index>> open(
      const index_settings& settings, std::shared_ptr<store_metrics> metrics = nullptr);

  ~workflow_index();
  workflow_index(const workflow_index&) = delete;
  workflow_index& operator=(const workflow_index&) = delete;

  // Applies the updates in order in ONE WriteBatch (not synced). An update whose
  // record.seq is below the indexed one is skipped; an update with an invalid id is
  // skipped with a warning. Returns how many were applied (an update identical to what
  // is indexed counts as applied and writes nothing).
  [[nodiscard]] persistence::result<std::uint64_t> apply(const std::vector<index_update>& updates);

  // Counts updates that a newer one of the same workflow replaced before they were
  // written (the index actor's linger): workflow_index_updates_coalesced_total.
  void count_coalesced(std::uint64_t updates);
  // The index actor's failed writes (kept for another try) and the updates it gave up on:
  // workflow_index_write_failures_total, workflow_index_updates_dropped_total.
  void count_write_failure();
  void count_dropped(std::uint64_t updates);

  // Deletes everything the index holds about these workflows (reconcile: ids the journal
  // does not know).
  [[nodiscard]] persistence::result<std::uint64_t> remove(const std::vector<std::string>& ids);

  [[nodiscard]] persistence::result<workflow_page> list(const list_workflows& query) const;
  [[nodiscard]] persistence::result<dead_letter_page> list(const list_dead_letters& query) const;
  [[nodiscard]] persistence::result<workflow_page> list(const list_expired& query) const;
  [[nodiscard]] persistence::result<std::optional<workflow_record>> record(
      const std::string& id) const;
  [[nodiscard]] persistence::result<std::optional<dead_letter_record>> dead_letter(
      const std::string& id) const;

  // Every workflow's pending timers (workflows without timers are absent), in id order.
  // A timer set that does not decode is skipped with a warning and its workflow id put in
  // `damaged`: the runtime recovers those workflows at start, which writes them again
  // (reconciliation leaves an up-to-date RUNNING workflow without a task asleep, trusting
  // its timers to wake it). At most `max_timers` timers are returned (the timer service's
  // bound, so memory does not grow with the index): whole sets, those due first; the
  // others are counted in `dropped` (from a count the writer keeps: approximate while it
  // writes), with the earliest due time among them. The sets are read in due order and
  // the read stops at the first that does not fit, so it costs what it returns, not what
  // the index holds; a damaged set past that point is found by a later read. Reads only
  // (one RocksDB iterator: a consistent view as of the call), so it may run on another
  // thread while apply() writes.
  [[nodiscard]] persistence::result<timer_load> load_timers(
      std::uint64_t max_timers = std::numeric_limits<std::uint64_t>::max()) const;

  // Calls `fn` for every record in id order; stops early when fn returns false.
  [[nodiscard]] persistence::result<std::uint64_t> for_each_record(
      const std::function<bool(const workflow_record&)>& fn) const;

  // Counts kept in memory (computed at open, updated by apply/remove).
  [[nodiscard]] index_stats stats() const;

  // RocksDB operations issued by apply() and remove() since open (puts/deletes: written
  // batches only). For tests and bench/index_bench.
  struct io_counts {
    std::uint64_t gets = 0;
    std::uint64_t puts = 0;
    std::uint64_t deletes = 0;
  };
  [[nodiscard]] io_counts io() const;

  [[nodiscard]] const std::filesystem::path& dir() const;
  // Bytes held by its RocksDB memtables (bounded by write_buffer_size); thread-safe.
  [[nodiscard]] std::uint64_t memtable_bytes() const;

  struct impl;

 private:
  explicit workflow_index(std::unique_ptr<impl> p);
  [[nodiscard]] persistence::result<workflow_page> record_page(
      std::string_view listing, const std::vector<std::string>& sources, const std::string& cursor,
      std::uint32_t limit, const std::function<bool(const workflow_record&)>& keep,
      std::uint64_t max_scan = std::numeric_limits<std::uint64_t>::max(), std::string start = {},
      std::string end = {}) const;
  std::unique_ptr<impl> impl_;
};

// The index actor: a blocking (detached) actor owning the index. Handles
// index_update (fire-and-forget; everything queued is written in one WriteBatch of at
// most settings.max_batch_updates updates), list_workflows, list_dead_letters,
// list_expired, get_dead_letter, get_workflow_record, remove_workflows, get_index_stats
// and index_flush
// (store_messages.hpp). Queries first write the queued updates, so a query sees every
// update sent before it by the same sender. Updates the index could not write are
// logged and dropped (reconcile repairs them at the next start).
// Send it an exit message at shutdown (it writes what is queued first).
[[nodiscard]] caf::actor spawn_workflow_index_actor(caf::actor_system& sys,
                                                    std::shared_ptr<workflow_index> index,
                                                    const index_settings& settings);

// -- reconciliation at start ------------------------------------------------------

struct reconcile_report {
  std::uint64_t journal_workflows = 0;  // workflow ids in the journal
  std::uint64_t missing = 0;            // in the journal, not in the index
  std::uint64_t behind = 0;             // indexed seq < journal highest
  std::uint64_t ahead = 0;              // indexed seq > journal highest: removed, recovered
  std::uint64_t running = 0;            // indexed as RUNNING (and up to date)
  std::uint64_t running_idle = 0;       // ...of them with no task in flight: not recovered
  std::uint64_t removed = 0;            // in the index, not in the journal: removed
  std::uint64_t needs_recovery = 0;     // ids passed to on_batch
};

// Compares the journal with the index and passes, in batches of at most `batch` ids, every
// workflow id that needs recovery: missing from the index, indexed with a seq below the
// journal's highest, indexed with a seq above it (the journal was restored from an older
// backup: the record, its dead letter and timers are removed first), or RUNNING with a task
// in flight (a SCHEDULED or RUNNING step: tasks live in memory, so the recovered entity
// dispatches them again). An up-to-date RUNNING record without one (waiting for a retry
// timer, its workflow timeout or a request) is left asleep, like a passivated entity: the timer
// service loads its timers from the index. Records of ids the journal does not have are removed
// from the index. Journal ids that are not valid workflow ids (the definition registry's reserved
// id) are skipped. Memory: the journal's id list (journal::persistence_ids()) plus one batch. Call
// it at start-up, before spawn_workflow_index_actor takes the index.
[[nodiscard]] persistence::result<reconcile_report> reconcile(
    persistence::journal& journal, workflow_index& index, std::uint32_t batch,
    const std::function<void(std::vector<std::string>&&)>& on_batch);

}  // namespace wfe::workflow::store
