#include "persistence/internal/key_codec.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

using namespace wfe::persistence;
using namespace wfe::persistence::internal;

namespace {
persistence_id pid(std::uint32_t shard, std::string id) { return {shard_id{shard}, std::move(id)}; }
}  // namespace

TEST_CASE("event keys sort by shard, then persistence id, then sequence number") {
  // Listed in the order the keys must sort in.
  const std::vector<std::pair<persistence_id, std::uint64_t>> ordered{
      {pid(1, "b"), 1},
      {pid(1, "b"), 2},
      {pid(1, "b"), 256},                  // numeric, not text, order of sequence numbers
      {pid(1, std::string("b\0", 2)), 1},  // an extra NUL sorts after its prefix
      {pid(1, "ba"), 1},
      {pid(2, "a"), 1},  // any id of shard 2 after all of shard 1
      {pid(256, ""), 1},
      {pid(UINT32_MAX, "a"), UINT64_MAX},
  };
  std::vector<std::string> keys;
  for (const auto& [p, seq] : ordered) keys.push_back(encode_event_key(p, seq));
  CHECK(std::is_sorted(keys.begin(), keys.end()));
  CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
}

TEST_CASE("ids that are prefixes of each other never share keys") {
  const std::vector<persistence_id> ids{pid(3, "a"), pid(3, std::string("a\0", 2)),
                                        pid(3, std::string("a\0\x01", 3)), pid(3, "ab"),
                                        pid(3, std::string("a\xff", 2))};
  for (const auto& x : ids) {
    for (const auto& y : ids) {
      if (x == y) continue;
      // No key of one id lies in the key range of another.
      const auto prefix = encode_id_key(x);
      CHECK_FALSE(encode_event_key(y, 1).starts_with(prefix));
      CHECK_FALSE(encode_id_key(y).starts_with(prefix));
    }
  }
}

TEST_CASE("every key of a shard starts with the shard prefix") {
  const auto prefix = encode_shard_prefix(shard_id{0x01020304});
  CHECK(prefix == std::string("\x01\x02\x03\x04", 4));
  CHECK(encode_event_key(pid(0x01020304, "x"), 9).starts_with(prefix));
  CHECK(encode_id_key(pid(0x01020304, "x")).starts_with(prefix));
}

TEST_CASE("keys decode back to what was encoded") {
  const auto p = pid(42, std::string("we\0ird\xff", 7));
  auto id = decode_id_key(encode_id_key(p));
  REQUIRE(id.has_value());
  CHECK(*id == p);
  auto ev = decode_event_key(encode_event_key(p, 0x0102030405060708ULL));
  REQUIRE(ev.has_value());
  CHECK(ev->pid == p);
  CHECK(ev->sequence_nr == 0x0102030405060708ULL);
  // The writer's form (from the id key, into a reused buffer) is the same key.
  std::string reused = "left over";
  for (const auto& q : {p, pid(7, "plain-id"), pid(0, std::string("\0", 1))}) {
    encode_event_key(encode_id_key(q), 77, reused);
    CHECK(reused == encode_event_key(q, 77));
  }
}

TEST_CASE("malformed keys do not decode") {
  CHECK_FALSE(decode_id_key("").has_value());
  CHECK_FALSE(decode_id_key(std::string("\0\0\0\1abc", 7)).has_value());      // no terminator
  CHECK_FALSE(decode_id_key(std::string("\0\0\0\1a\0\x02", 7)).has_value());  // bad escape
  CHECK_FALSE(decode_event_key(encode_id_key(pid(1, "a"))).has_value());      // no sequence nr
  CHECK_FALSE(decode_id_key(encode_event_key(pid(1, "a"), 1)).has_value());   // trailing bytes
}
