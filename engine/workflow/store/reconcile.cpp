// Reconciliation of the workflow index with the journal at start (workflow_index.hpp).
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "engine/core/logging.hpp"
#include "engine/workflow/store/workflow_index.hpp"
#include "persistence/journal.hpp"

namespace wfe::workflow::store {
namespace {

std::uint64_t id_hash(std::string_view id) { return std::hash<std::string_view>{}(id); }

}  // namespace

persistence::result<reconcile_report> reconcile(
    persistence::journal& journal, workflow_index& index, std::uint32_t batch,
    const std::function<void(std::vector<std::string>&&)>& on_batch) {
  using persistence::result;
  if (batch == 0) batch = 1;
  reconcile_report report;
  std::vector<std::string> pending;
  pending.reserve(batch);
  auto emit = [&](const std::string& id) {
    pending.push_back(id);
    ++report.needs_recovery;
    if (pending.size() >= batch) {
      on_batch(std::move(pending));
      pending.clear();
      pending.reserve(batch);
    }
  };

  // One streaming pass over the journal's ids: memory holds the ids to recover and a
  // 64-bit hash per journal id (for the stale-record check below, 8 bytes each in a
  // sorted vector), not every id.
  std::vector<std::uint64_t> in_journal;
  std::vector<std::string> ahead;  // as many as the index has records ahead of the journal
  auto walked = journal.for_each_persistence_id(
      [&](const persistence::persistence_id& pid, std::uint64_t highest) {
        const auto& id = pid.id();
        if (!is_valid_id(id)) return true;  // reserved ids (the definition registry)
        ++report.journal_workflows;
        in_journal.push_back(id_hash(id));
        if (highest == 0) return true;  // every event deleted and never written: nothing to show
        auto rec = index.record(id);
        if (!rec || !*rec) {  // missing, or damaged (rec holds an error): recover it
          ++report.missing;
          emit(id);
        } else if ((*rec)->seq < highest) {
          ++report.behind;
          emit(id);
        } else if ((*rec)->seq > highest) {
          // Written for events this journal does not have: the journal was restored from
          // an older backup and the index kept. Updates below a record's seq are dropped
          // as stale, so the record (with its dead letter and timers) goes, and the
          // recovered entity writes it again.
          ++report.ahead;
          ahead.push_back(id);
          emit(id);
        } else if ((*rec)->status == workflow_status::running) {
          ++report.running;
          // Up to date and waiting only for a timer (loaded from the index) or a request:
          // nothing a restart lost, so it stays asleep like a passivated entity.
          if ((*rec)->tasks_in_flight) {
            emit(id);
          } else {
            ++report.running_idle;
          }
        }
        return true;
      });
  if (!walked) return core::unexpected<persistence::error>{std::move(walked).error()};
  if (!ahead.empty()) {
    auto removed = index.remove(ahead);
    if (!removed) return core::unexpected<persistence::error>{std::move(removed).error()};
  }
  std::sort(in_journal.begin(), in_journal.end());
  // Records the journal does not know (an index older than a restored journal).
  std::vector<std::string> stale;
  auto scanned = index.for_each_record([&](const workflow_record& r) {
    // A stale id whose 64-bit hash equals a live one's keeps its record (practically never).
    if (!std::binary_search(in_journal.begin(), in_journal.end(), id_hash(r.id)))
      stale.push_back(r.id);
    return true;
  });
  if (!scanned) return core::unexpected<persistence::error>{std::move(scanned).error()};
  if (!stale.empty()) {
    auto removed = index.remove(stale);
    if (!removed) return core::unexpected<persistence::error>{std::move(removed).error()};
    report.removed = *removed;
  }
  if (!pending.empty()) on_batch(std::move(pending));
  core::logger("workflow")
      ->info(
          "workflow index reconciled: {} workflows in the journal, {} missing from the "
          "index, {} behind, {} ahead of the journal (replaced), {} running ({} of them with "
          "no task in flight, left asleep), {} stale records removed; {} to recover",
          report.journal_workflows, report.missing, report.behind, report.ahead, report.running,
          report.running_idle, report.removed, report.needs_recovery);
  return report;
}

}  // namespace wfe::workflow::store
