#pragma once
// FNV-1a, 64 bit (offset basis 14695981039346656037, prime 1099511628211): stable across
// processes, platforms and versions, which std::hash is not. What the node stores or
// sends keyed by a hash uses it: entity id -> shard (workflow/runtime/shard_hash.hpp,
// part of every journal key), the workflow index's value hashes, external task tokens.
// Pinned by the published test vectors (engine/workflow/runtime/shard_hash.test.cpp).

#include <cstdint>
#include <string_view>

namespace wfe::core {

inline constexpr std::uint64_t k_fnv1a_64_basis = 14695981039346656037ULL;

// `h` continues a hash (the basis starts one): fnv1a_64(b, fnv1a_64(a)) == fnv1a_64(a + b).
[[nodiscard]] constexpr std::uint64_t fnv1a_64(std::string_view bytes,
                                               std::uint64_t h = k_fnv1a_64_basis) {
  for (char c : bytes) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace wfe::core
