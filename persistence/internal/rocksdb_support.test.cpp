// The journal's value encodings against protobuf's own serializer and parser.
#include "persistence/internal/rocksdb_support.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include "persistence/internal/crc32c.hpp"
#include "proto/journal.pb.h"

using namespace wfe::persistence;
using namespace wfe::persistence::internal;

namespace {

std::string protobuf_envelope(const event& e) {
  wfe::proto::JournalEnvelope msg;
  msg.set_writer_id(e.writer_id);
  msg.set_timestamp_ms(e.timestamp_ms);
  msg.set_manifest(e.manifest);
  msg.set_payload(e.payload);
  msg.set_payload_crc32c(crc32c(e.payload));
  msg.set_sequence_nr(e.sequence_nr);
  return msg.SerializeAsString();
}

}  // namespace

TEST_CASE("envelopes are written byte for byte as protobuf writes them, and decode back") {
  std::string binary;
  for (int c = 0; c < 256; ++c) binary.push_back(static_cast<char>(c));
  const std::vector<event> events{
      {1, "WorkflowStarted", R"({"id":"a"})", "writer-1", 1700000000000},
      {0, "", "", "", 0},                              // every field at its default
      {127, "m", "p", "w", 127},                       // largest one-byte varints
      {128, "m", std::string(127, 'x'), "w", 128},     // two-byte varints and lengths
      {16384, "m", std::string(16384, 'y'), "w", -1},  // negative: ten-byte varint
      {std::numeric_limits<std::uint64_t>::max(), "m\xc3\xa9", binary, "w",
       std::numeric_limits<std::int64_t>::min()},
      {42, "StepCompleted", std::string(100000, '\0'), "w",
       std::numeric_limits<std::int64_t>::max()},
  };
  std::string reused = "left over from an earlier event";
  for (const auto& e : events) {
    CAPTURE(e.sequence_nr);
    const auto expected = protobuf_envelope(e);
    CHECK(encode_envelope(e) == expected);
    encode_envelope(e, reused);
    CHECK(reused == expected);
    std::string head = "stale head";
    std::string tail = "stale tail";
    encode_envelope_parts(e, head, tail);
    CHECK(head + e.payload + tail == expected);
    if (e.sequence_nr == 0) continue;  // decode_envelope reads real sequence numbers only
    auto decoded = decode_envelope(expected, persistence_id{shard_id{1}, "id"}, e.sequence_nr);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == e);
  }
}
