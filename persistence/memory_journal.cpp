#include "persistence/memory_journal.hpp"

#include <algorithm>
#include <utility>

namespace wfe::persistence {

std::vector<result<std::uint64_t>> memory_journal::write_many(std::vector<write_request> requests) {
  std::scoped_lock lock(mutex_);
  std::vector<result<std::uint64_t>> results;
  results.reserve(requests.size());
  for (auto& request : requests) {
    auto found = streams_.find(request.pid);
    const std::uint64_t highest = found == streams_.end() ? 0 : found->second.highest;
    if (auto ok = validate_write(request, highest); !ok) {
      results.emplace_back(core::unexpected<error>{std::move(ok).error()});
      continue;
    }
    auto& s = streams_[request.pid];
    for (auto& e : request.events) {
      const auto seq = e.sequence_nr;
      s.events.emplace(seq, std::move(e));
    }
    s.highest = s.events.rbegin()->first;
    results.emplace_back(s.highest);
  }
  return results;
}

result<std::uint64_t> memory_journal::replay(const persistence_id& pid,
                                             std::uint64_t from_sequence_nr,
                                             std::uint64_t to_sequence_nr, std::uint64_t max,
                                             const replay_callback& on_event) {
  // Copy under the lock, call back without it: the callback may use the journal.
  std::vector<event> selected;
  {
    std::scoped_lock lock(mutex_);
    auto found = streams_.find(pid);
    if (found == streams_.end()) return std::uint64_t{0};
    const auto& s = found->second;
    const auto from = std::max(from_sequence_nr, s.deleted_to + 1);
    for (auto it = s.events.lower_bound(from);
         it != s.events.end() && it->first <= to_sequence_nr && selected.size() < max; ++it) {
      selected.push_back(it->second);
    }
  }
  for (const auto& e : selected) on_event(e);
  return static_cast<std::uint64_t>(selected.size());
}

result<std::uint64_t> memory_journal::highest_sequence_nr(const persistence_id& pid) {
  std::scoped_lock lock(mutex_);
  auto found = streams_.find(pid);
  return found == streams_.end() ? std::uint64_t{0} : found->second.highest;
}

result<done> memory_journal::delete_to(const persistence_id& pid, std::uint64_t to_sequence_nr) {
  std::scoped_lock lock(mutex_);
  auto found = streams_.find(pid);
  if (found == streams_.end()) return done{};
  auto& s = found->second;
  const auto to = std::min(to_sequence_nr, s.highest);
  if (to <= s.deleted_to) return done{};
  s.events.erase(s.events.begin(), s.events.upper_bound(to));
  s.deleted_to = to;
  return done{};
}

std::vector<result<done>> memory_journal::purge_many(std::vector<purge_request> requests) {
  std::scoped_lock lock(mutex_);
  std::vector<result<done>> results;
  results.reserve(requests.size());
  for (const auto& r : requests) {
    auto found = streams_.find(r.pid);
    const std::uint64_t highest = found == streams_.end() ? 0 : found->second.highest;
    if (highest != r.if_highest) {
      results.push_back(purge_conflict(r.pid, highest, r.if_highest));
      continue;
    }
    if (found != streams_.end()) streams_.erase(found);
    results.emplace_back(done{});
  }
  return results;
}

result<std::vector<persistence_id>> memory_journal::persistence_ids() {
  std::scoped_lock lock(mutex_);
  std::vector<persistence_id> ids;
  ids.reserve(streams_.size());
  for (const auto& [pid, s] : streams_) ids.push_back(pid);
  return ids;
}

result<std::vector<persistence_id>> memory_journal::persistence_ids(shard_id shard) {
  std::scoped_lock lock(mutex_);
  std::vector<persistence_id> ids;
  for (auto it = streams_.lower_bound(persistence_id{shard, ""});
       it != streams_.end() && it->first.shard() == shard; ++it) {
    ids.push_back(it->first);
  }
  return ids;
}

}  // namespace wfe::persistence
