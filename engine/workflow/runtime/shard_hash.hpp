#pragma once
// entity id -> shard id (DESIGN.md §6): FNV-1a 64 of the id's bytes, modulo the number
// of shards. Stable across processes, platforms and versions (std::hash is none of
// these): every node must map an id to the same shard, and the shard is part of the
// journal key, so changing this function orphans stored workflows. Pinned by tests.

#include <cstdint>
#include <string_view>

#include "engine/core/fnv1a.hpp"

namespace wfe::workflow::runtime {

using core::fnv1a_64;

// The shard of `entity_id` among `number_of_shards` (> 0) shards: 0 .. n-1.
[[nodiscard]] constexpr std::uint32_t shard_of(std::string_view entity_id,
                                               std::uint32_t number_of_shards) {
  return static_cast<std::uint32_t>(fnv1a_64(entity_id) % number_of_shards);
}

}  // namespace wfe::workflow::runtime
