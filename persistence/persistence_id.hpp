#pragma once
// Identity of an event stream. A persistence id always travels with its shard: the
// journal stores a shard as one contiguous key range so sharding can move, copy,
// replicate and delete a shard by range (DESIGN.md §6, REPLICATION.md).

#include <compare>
#include <cstdint>
#include <string>
#include <utility>

namespace wfe::persistence {

struct shard_id {
  std::uint32_t value = 0;
  auto operator<=>(const shard_id&) const = default;
};

// (shard, id) is the identity: the same id string under two shards is two streams.
// Sharding computes the shard from the entity id, so that never happens in practice.
class persistence_id {
 public:
  // Longest id the journal accepts; keys stay small and bounded.
  static constexpr std::size_t max_size_bytes = 1024;

  persistence_id() = default;
  persistence_id(shard_id shard, std::string id) : shard_(shard), id_(std::move(id)) {}

  [[nodiscard]] shard_id shard() const { return shard_; }
  [[nodiscard]] const std::string& id() const { return id_; }

  // "<id>@shard-<n>", for error messages and logs.
  [[nodiscard]] std::string describe() const {
    return id_ + "@shard-" + std::to_string(shard_.value);
  }

  auto operator<=>(const persistence_id&) const = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, persistence_id& x) {
    return f(x.shard_.value, x.id_);
  }

 private:
  shard_id shard_;
  std::string id_;
};

}  // namespace wfe::persistence
