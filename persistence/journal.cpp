#include "persistence/journal.hpp"

#include <utility>

namespace wfe::persistence {

result<std::uint64_t> journal::write(const persistence_id& pid, std::vector<event> events) {
  std::vector<write_request> requests;
  requests.push_back(write_request{pid, std::move(events)});
  auto results = write_many(std::move(requests));
  if (results.size() != 1) return fail(errc::internal, "write_many returned no result");
  return std::move(results.front());
}

result<done> journal::purge(const persistence_id& pid, std::uint64_t if_highest) {
  std::vector<purge_request> requests;
  requests.push_back(purge_request{pid, if_highest});
  auto results = purge_many(std::move(requests));
  if (results.size() != 1) return fail(errc::internal, "purge_many returned no result");
  return std::move(results.front());
}

result<done> journal::for_each_persistence_id(const id_visitor& visit) {
  auto ids = persistence_ids();
  if (!ids) return core::unexpected<error>{std::move(ids).error()};
  for (const auto& pid : *ids) {
    auto highest = highest_sequence_nr(pid);
    if (!highest) return core::unexpected<error>{std::move(highest).error()};
    if (!visit(pid, *highest)) break;
  }
  return done{};
}

result<done> validate_write(const write_request& request, std::uint64_t current_highest) {
  const auto& pid = request.pid;
  if (pid.id().empty() || pid.id().size() > persistence_id::max_size_bytes) {
    return fail(errc::invalid_argument, "persistence id must have 1.." +
                                            std::to_string(persistence_id::max_size_bytes) +
                                            " bytes: " + pid.describe());
  }
  if (request.events.empty()) {
    return fail(errc::invalid_argument, "empty batch for " + pid.describe());
  }
  const auto first = request.events.front().sequence_nr;
  if (first != current_highest + 1) {
    return fail(errc::sequence_conflict, "sequence conflict for " + pid.describe() +
                                             ": batch starts at " + std::to_string(first) +
                                             " but highest is " + std::to_string(current_highest) +
                                             " (expected " + std::to_string(current_highest + 1) +
                                             "; another writer for this id?)");
  }
  for (std::size_t i = 1; i < request.events.size(); ++i) {
    if (request.events[i].sequence_nr != first + i) {
      return fail(errc::invalid_argument,
                  "batch for " + pid.describe() + " is not contiguous: event " + std::to_string(i) +
                      " has sequence number " + std::to_string(request.events[i].sequence_nr) +
                      ", expected " + std::to_string(first + i));
    }
  }
  return done{};
}

result<done> purge_conflict(const persistence_id& pid, std::uint64_t highest,
                            std::uint64_t if_highest) {
  return fail(errc::sequence_conflict, "not purging " + pid.describe() + ": its highest is " +
                                           std::to_string(highest) + ", expected " +
                                           std::to_string(if_highest) + " (it was written since?)");
}

}  // namespace wfe::persistence
