#pragma once
// A journal in memory: nothing survives the process. It exists so the conformance
// suite runs against two implementations, and as a fast journal for tests.

#include <map>
#include <mutex>

#include "persistence/journal.hpp"

namespace wfe::persistence {

class memory_journal final : public journal {
 public:
  [[nodiscard]] std::vector<result<std::uint64_t>> write_many(
      std::vector<write_request> requests) override;
  [[nodiscard]] result<std::uint64_t> replay(const persistence_id& pid,
                                             std::uint64_t from_sequence_nr,
                                             std::uint64_t to_sequence_nr, std::uint64_t max,
                                             const replay_callback& on_event) override;
  [[nodiscard]] result<std::uint64_t> highest_sequence_nr(const persistence_id& pid) override;
  [[nodiscard]] result<done> delete_to(const persistence_id& pid,
                                       std::uint64_t to_sequence_nr) override;
  [[nodiscard]] std::vector<result<done>> purge_many(std::vector<purge_request> requests) override;
  [[nodiscard]] result<std::vector<persistence_id>> persistence_ids() override;
  [[nodiscard]] result<std::vector<persistence_id>> persistence_ids(shard_id shard) override;

 private:
  struct stream {
    std::map<std::uint64_t, event> events;
    std::uint64_t highest = 0;
    std::uint64_t deleted_to = 0;
  };

  std::mutex mutex_;
  std::map<persistence_id, stream> streams_;  // ordered by shard, then id
};

}  // namespace wfe::persistence
