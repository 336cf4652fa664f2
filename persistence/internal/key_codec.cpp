#include "persistence/internal/key_codec.hpp"

#include <rocksdb/slice_transform.h>

namespace wfe::persistence::internal {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

std::uint64_t get_be(std::string_view bytes) {
  std::uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// Decodes "shard | escaped id | terminator" at the start of `key`; returns the id and
// how many bytes it used.
std::optional<std::pair<persistence_id, std::size_t>> decode_prefix(std::string_view key) {
  if (key.size() < 6) return std::nullopt;
  const auto shard = static_cast<std::uint32_t>(get_be(key.substr(0, 4)));
  std::string id;
  for (std::size_t i = 4; i + 1 < key.size(); ++i) {
    if (key[i] != '\0') {
      id.push_back(key[i]);
      continue;
    }
    const auto next = static_cast<unsigned char>(key[i + 1]);
    if (next == 0x01) return std::make_pair(persistence_id{shard_id{shard}, std::move(id)}, i + 2);
    if (next != 0xFF) return std::nullopt;
    id.push_back('\0');
    ++i;
  }
  return std::nullopt;
}

// The events family's prefix is the persistence id: an event key minus its 8-byte
// sequence number (the name is stored in the store's OPTIONS file; keep it).
class id_of_event_key final : public rocksdb::SliceTransform {
 public:
  static constexpr std::size_t k_sequence_bytes = 8;
  const char* Name() const override { return "wfe.id-of-event-key"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key.size() - k_sequence_bytes};
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > k_sequence_bytes; }
};

}  // namespace

std::string encode_shard_prefix(shard_id shard) {
  std::string out;
  put_u32(out, shard.value);
  return out;
}

std::string encode_id_key(const persistence_id& pid) {
  std::string out;
  out.reserve(4 + pid.id().size() + 2 + 8);
  put_u32(out, pid.shard().value);
  const auto& id = pid.id();
  if (id.find('\0') == std::string::npos) {
    out.append(id);  // nothing to escape: the common case
  } else {
    for (char c : id) {
      out.push_back(c);
      if (c == '\0') out.push_back('\xFF');
    }
  }
  out.push_back('\0');
  out.push_back('\x01');
  return out;
}

std::string encode_event_key(const persistence_id& pid, std::uint64_t sequence_nr) {
  auto out = encode_id_key(pid);
  put_u64(out, sequence_nr);
  return out;
}

void encode_event_key(std::string_view id_key, std::uint64_t sequence_nr, std::string& out) {
  out.assign(id_key);
  put_u64(out, sequence_nr);
}

std::optional<persistence_id> decode_id_key(std::string_view key) {
  auto prefix = decode_prefix(key);
  if (!prefix || prefix->second != key.size()) return std::nullopt;
  return std::move(prefix->first);
}

std::optional<decoded_event_key> decode_event_key(std::string_view key) {
  auto prefix = decode_prefix(key);
  if (!prefix || prefix->second + 8 != key.size()) return std::nullopt;
  return decoded_event_key{std::move(prefix->first), get_be(key.substr(prefix->second))};
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xF]);
  }
  return out;
}

std::shared_ptr<const rocksdb::SliceTransform> event_key_prefix() {
  static const auto extractor = std::make_shared<const id_of_event_key>();
  return extractor;
}

}  // namespace wfe::persistence::internal
