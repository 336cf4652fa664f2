#pragma once
// Keys of the RocksDB journal. Format (all integers big-endian so byte order is
// numeric order):
//
//   event key:    shard (4 bytes) | escaped id | 0x00 0x01 | sequence nr (8 bytes)
//   metadata key: shard (4 bytes) | escaped id | 0x00 0x01
//
// The id is escaped (0x00 -> 0x00 0xFF) and terminated by 0x00 0x01, so no encoded id
// is a prefix of another ("a" vs "a\0b" vs "ab"), ids sort bytewise, and all events of
// a shard, and of an id within it, form one contiguous key range.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "persistence/persistence_id.hpp"

namespace rocksdb {
class SliceTransform;
}

namespace wfe::persistence::internal {

// shard | escaped id | terminator: the metadata key, and the prefix of every event key.
[[nodiscard]] std::string encode_id_key(const persistence_id& pid);

[[nodiscard]] std::string encode_event_key(const persistence_id& pid, std::uint64_t sequence_nr);
// The same key from the id's encode_id_key, into `out` (a writer's reused buffer).
void encode_event_key(std::string_view id_key, std::uint64_t sequence_nr, std::string& out);

// The events family's prefix extractor: an event key minus its 8-byte sequence number
// (the id key), by which its memtable keeps a list per id (prefix_memtable.hpp).
[[nodiscard]] std::shared_ptr<const rocksdb::SliceTransform> event_key_prefix();

// The 4-byte prefix shared by every key of a shard: iterate it to move a shard.
[[nodiscard]] std::string encode_shard_prefix(shard_id shard);

struct decoded_event_key {
  persistence_id pid;
  std::uint64_t sequence_nr = 0;
};

// nullopt when `key` is not a well-formed key of that kind.
[[nodiscard]] std::optional<persistence_id> decode_id_key(std::string_view key);
[[nodiscard]] std::optional<decoded_event_key> decode_event_key(std::string_view key);

// Printable form of a raw key for error messages: hex of the bytes.
[[nodiscard]] std::string hex(std::string_view bytes);

}  // namespace wfe::persistence::internal
