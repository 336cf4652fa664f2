#include "engine/workflow/runtime/rehome.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/logging.hpp"
#include "engine/workflow/definition.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/workflow_codec.hpp"

namespace wfe::workflow::runtime {
namespace {

using persistence::persistence_id;

template <class T>
core::unexpected<persistence::error> failed(persistence::result<T>&& r) {
  return core::unexpected<persistence::error>{std::move(r).error()};
}

// The id's first event that is not deleted, if any.
persistence::result<std::optional<persistence::event>> first_event(persistence::journal& j,
                                                                   const persistence_id& pid,
                                                                   std::uint64_t highest) {
  std::optional<persistence::event> first;
  auto r = j.replay(pid, 1, highest, 1, [&](const persistence::event& e) { first = e; });
  if (!r) return failed(std::move(r));
  return first;
}

}  // namespace

persistence::result<rehome_report> rehome_misplaced_workflows(persistence::journal& j,
                                                              std::uint32_t number_of_shards,
                                                              std::uint64_t batch_events) {
  rehome_report report;
  if (number_of_shards == 0 || batch_events == 0) return report;
  // The bug wrote to one shard only, shard_of(""): only workflow ids there that belong
  // elsewhere are candidates, so only that shard's ids are listed (1/number_of_shards
  // of the journal's ids, briefly in memory; the rest of the journal is not read).
  const auto wrong_shard = shard_of("", number_of_shards);
  auto ids = j.persistence_ids(persistence::shard_id{wrong_shard});
  if (!ids) return failed(std::move(ids));
  std::vector<std::pair<persistence_id, std::uint64_t>> misplaced;
  for (auto& pid : *ids) {
    if (!is_valid_id(pid.id()) || shard_of(pid.id(), number_of_shards) == wrong_shard) continue;
    auto highest = j.highest_sequence_nr(pid);
    if (!highest) return failed(std::move(highest));
    if (*highest > 0) misplaced.emplace_back(std::move(pid), *highest);
  }
  ids->clear();
  ids->shrink_to_fit();
  auto log = core::logger("workflow");
  for (const auto& [from, highest] : misplaced) {
    const persistence_id home{persistence::shard_id{shard_of(from.id(), number_of_shards)},
                              from.id()};
    auto first = first_event(j, from, highest);
    if (!first) return failed(std::move(first));
    if (!*first) continue;  // moved by an earlier start (its events are deleted here)
    if (!is_event_manifest((*first)->manifest)) continue;  // not a workflow's events
    if ((*first)->sequence_nr != 1) {
      ++report.skipped;
      log->warn(
          "workflow '{}' is journaled under shard {} instead of {} and its events up to {} "
          "were deleted after a snapshot: not moved, it stays unreachable",
          from.id(), from.shard().value, home.shard().value, (*first)->sequence_nr - 1);
      continue;
    }
    auto home_highest = j.highest_sequence_nr(home);
    if (!home_highest) return failed(std::move(home_highest));
    if (*home_highest > 0) {
      // A copy this repair began before a crash starts with the same first event;
      // anything else is a workflow started again under the id: keep both as they are.
      auto home_first = first_event(j, home, *home_highest);
      if (!home_first) return failed(std::move(home_first));
      if (!*home_first || !(**home_first == **first) || *home_highest > highest) {
        ++report.conflicts;
        log->warn(
            "workflow '{}' is journaled under shard {} instead of {}, where another workflow "
            "of that id exists: not moved",
            from.id(), from.shard().value, home.shard().value);
        continue;
      }
    }
    for (auto next = *home_highest + 1; next <= highest;) {
      std::vector<persistence::event> events;
      auto replayed = j.replay(from, next, highest, batch_events,
                               [&](const persistence::event& e) { events.push_back(e); });
      if (!replayed) return failed(std::move(replayed));
      if (events.empty() || events.front().sequence_nr != next) {
        return core::unexpected<persistence::error>{persistence::error{
            persistence::errc::corruption, "moving workflow '" + from.id() + "' from shard " +
                                               std::to_string(from.shard().value) + ": event " +
                                               std::to_string(next) + " is missing"}};
      }
      auto written = j.write(home, std::move(events));
      if (!written) return failed(std::move(written));
      next = *written + 1;
    }
    auto deleted = j.delete_to(from, highest);
    if (!deleted) return failed(std::move(deleted));
    ++report.moved;
  }
  if (report.moved + report.conflicts + report.skipped > 0) {
    log->warn(
        "moved {} workflows journaled under another shard than their id's (written by builds "
        "before 9867fb9, which sent starts through the gateway to the wrong shard); {} left "
        "because their shard holds another workflow of the id, {} because their first events "
        "were deleted",
        report.moved, report.conflicts, report.skipped);
  }
  return report;
}

}  // namespace wfe::workflow::runtime
