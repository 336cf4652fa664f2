// The shard function is part of the storage format (the shard prefixes journal keys):
// these values must never change.
#include "engine/workflow/runtime/shard_hash.hpp"

#include <array>
#include <string>

#include <doctest/doctest.h>

using namespace wfe::workflow::runtime;

TEST_CASE("fnv1a_64 matches the published FNV-1a test vectors") {
  CHECK(fnv1a_64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a_64("foobar") == 0x85944171f73967e8ULL);
  static_assert(fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);  // usable at compile time
  CHECK(fnv1a_64("bar", fnv1a_64("foo")) == fnv1a_64("foobar"));  // a hash continues
}

TEST_CASE("shard_of is pinned: the same id maps to the same shard forever") {
  CHECK(shard_of("wf-1", 100) == fnv1a_64("wf-1") % 100);
  CHECK(shard_of("wf-1", 100) == 42);
  CHECK(shard_of("order-42", 200) == 4);
  CHECK(shard_of("order-42", 1) == 0);
  CHECK(shard_of("\xff\x00\x80", 7) == fnv1a_64("\xff\x00\x80") % 7);  // bytes, not chars
}

TEST_CASE("shard_of spreads sequential ids over every shard") {
  std::array<int, 16> hits{};
  for (int i = 0; i < 1600; ++i) ++hits[shard_of("wf-" + std::to_string(i), 16)];
  for (int h : hits) {
    CHECK(h > 50);
    CHECK(h < 150);
  }
}
