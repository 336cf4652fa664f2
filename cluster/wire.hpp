#pragma once
// Wire format of the membership protocol: membership_message <-> the protobuf
// `wfe.proto.MembershipMessage` (proto/cluster.proto), serialized to bytes.
// Decoding validates what protobuf cannot (enum ranges, ports, required fields) and
// reports failures as values.

#include <string>
#include <string_view>

#include "cluster/membership_messages.hpp"
#include "engine/core/expected.hpp"

namespace wfe::cluster {

// Serializes one membership message (never fails for a well-formed value; the error
// case covers protobuf's own serialization failure).
core::expected<std::string, std::string> encode_message(const membership_message& msg);

// Parses bytes produced by encode_message (possibly by a newer version that added
// fields). Fails with a human-readable reason on garbage or invalid values.
core::expected<membership_message, std::string> decode_message(std::string_view bytes);

}  // namespace wfe::cluster
