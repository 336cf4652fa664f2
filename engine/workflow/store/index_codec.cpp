#include "engine/workflow/store/index_codec.hpp"

#include <algorithm>

#include "engine/core/fnv1a.hpp"

namespace wfe::workflow::store::codec {
namespace {

constexpr char k_format = 1;         // dead letters, timers
constexpr char k_record_format = 2;  // records: 1 had no dead-letter/timers fields
constexpr std::uint8_t k_has_dead_letter = 1;
constexpr std::uint8_t k_has_timers = 2;
// No task in flight (workflow_record::tasks_in_flight false). Set rather than cleared so
// that records written before it existed read as "in flight": woken at start, as then.
constexpr std::uint8_t k_no_tasks_in_flight = 4;
// The first due time and count of the timers follow their hash (index format 4).
constexpr std::uint8_t k_has_timers_meta = 8;
constexpr std::uint8_t k_known_flags =
    k_has_dead_letter | k_has_timers | k_no_tasks_in_flight | k_has_timers_meta;
constexpr std::uint64_t k_sign_bit = std::uint64_t{1} << 63;
constexpr std::size_t k_timers_max = 1'000'000;  // sanity bound while decoding

void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void put_i64(std::string& out, std::int64_t v) { put_u64(out, static_cast<std::uint64_t>(v)); }

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Bounds-checked reader: any read past the end sets failed and returns zeros.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  std::uint64_t uint(int bytes) {
    if (in_.size() < static_cast<std::size_t>(bytes)) {
      failed_ = true;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
  std::uint64_t u64() { return uint(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(uint(8)); }
  std::string str() {
    const auto n = u32();
    if (failed_ || in_.size() < n) {
      failed_ = true;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  // True when everything was read without running out.
  [[nodiscard]] bool done() const { return !failed_ && in_.empty(); }
  [[nodiscard]] bool failed() const { return failed_; }

 private:
  std::string_view in_;
  bool failed_ = false;
};

bool valid_status(std::uint8_t s) {
  return s <= static_cast<std::uint8_t>(workflow_status::cancelled);
}
bool valid_kind(std::uint8_t k) { return k <= static_cast<std::uint8_t>(timer_kind::delay); }

}  // namespace

std::string order_suffix(std::int64_t created_at_ms, std::string_view id) {
  std::string out;
  out.reserve(8 + id.size());
  put_u64(out, ~static_cast<std::uint64_t>(created_at_ms));
  out.append(id);
  return out;
}

std::string record_key(std::string_view id) { return std::string(1, k_record).append(id); }
std::string dead_letter_key(std::string_view id) {
  return std::string(1, k_dead_letter).append(id);
}

std::string list_prefix(const std::optional<workflow_status>& status, std::string_view definition) {
  std::string p;
  if (status && !definition.empty()) {
    p.push_back(k_by_status_definition);
    p.push_back(static_cast<char>(*status));
    p.append(definition);
    p.push_back('\0');
  } else if (status) {
    p.push_back(k_by_status);
    p.push_back(static_cast<char>(*status));
  } else if (!definition.empty()) {
    p.push_back(k_by_definition);
    p.append(definition);
    p.push_back('\0');
  } else {
    p.push_back(k_all);
  }
  return p;
}

std::vector<std::string> secondary_keys(const workflow_record& r) {
  const auto suffix = order_suffix(r.created_at_ms, r.id);
  std::vector<std::string> keys;
  keys.reserve(2);
  keys.push_back(list_prefix(r.status, {}) + suffix);
  if (!r.definition.empty()) keys.push_back(list_prefix(r.status, r.definition) + suffix);
  return keys;
}

std::vector<std::string> listing_sources(const std::optional<workflow_status>& status,
                                         std::string_view definition) {
  if (status) return {list_prefix(status, definition)};
  std::vector<std::string> sources;
  for (auto st : k_statuses) sources.push_back(list_prefix(st, definition));
  return sources;
}

std::string encode(const stored_record& s) {
  const auto& r = s.record;
  std::string out;
  out.reserve(80 + r.id.size() + r.definition.size() + r.priority.size());
  out.push_back(k_record_format);
  put_str(out, r.id);
  put_str(out, r.definition);
  put_u32(out, r.version);
  put_u8(out, static_cast<std::uint8_t>(r.status));
  put_str(out, r.priority);
  put_i64(out, r.created_at_ms);
  put_i64(out, r.updated_at_ms);
  put_u64(out, r.seq);
  put_u8(out, static_cast<std::uint8_t>((s.dead_letter_hash ? k_has_dead_letter : 0) |
                                        (s.timers_hash ? k_has_timers : 0) |
                                        (s.timers_hash && s.timers_meta ? k_has_timers_meta : 0) |
                                        (r.tasks_in_flight ? 0 : k_no_tasks_in_flight)));
  if (s.dead_letter_hash) put_u64(out, *s.dead_letter_hash);
  if (s.timers_hash) {
    put_u64(out, *s.timers_hash);
    if (s.timers_meta) {
      put_i64(out, s.timers_meta->first_due_ms);
      put_u32(out, s.timers_meta->count);
    }
  }
  return out;
}

std::optional<stored_record> decode_stored(std::string_view bytes) {
  reader in(bytes);
  if (in.u8() != k_record_format) return std::nullopt;
  stored_record s;
  auto& r = s.record;
  r.id = in.str();
  r.definition = in.str();
  r.version = in.u32();
  const auto status = in.u8();
  r.priority = in.str();
  r.created_at_ms = in.i64();
  r.updated_at_ms = in.i64();
  r.seq = in.u64();
  const auto flags = in.u8();
  if ((flags & k_has_dead_letter) != 0) s.dead_letter_hash = in.u64();
  if ((flags & k_has_timers) != 0) {
    s.timers_hash = in.u64();
    if ((flags & k_has_timers_meta) != 0) {
      timers_meta m;
      m.first_due_ms = in.i64();
      m.count = in.u32();
      s.timers_meta = m;
    }
  } else if ((flags & k_has_timers_meta) != 0) {
    return std::nullopt;
  }
  r.tasks_in_flight = (flags & k_no_tasks_in_flight) == 0;
  if (!in.done() || !valid_status(status) || (flags & ~k_known_flags) != 0) return std::nullopt;
  r.status = static_cast<workflow_status>(status);
  return s;
}

std::optional<workflow_record> decode_record(std::string_view bytes) {
  auto s = decode_stored(bytes);
  if (!s) return std::nullopt;
  return std::move(s->record);
}

std::string encode(const dead_letter_record& d) {
  std::string out;
  out.push_back(k_format);
  put_str(out, d.id);
  put_str(out, d.workflow_id);
  put_str(out, d.step);
  put_str(out, d.error);
  put_u32(out, d.attempts);
  put_i64(out, d.at_ms);
  return out;
}

std::optional<dead_letter_record> decode_dead_letter(std::string_view bytes) {
  reader in(bytes);
  if (in.u8() != k_format) return std::nullopt;
  dead_letter_record d;
  d.id = in.str();
  d.workflow_id = in.str();
  d.step = in.str();
  d.error = in.str();
  d.attempts = in.u32();
  d.at_ms = in.i64();
  if (!in.done()) return std::nullopt;
  return d;
}

std::string encode(const std::vector<timer>& timers) {
  std::string out;
  out.push_back(k_format);
  put_u32(out, static_cast<std::uint32_t>(timers.size()));
  for (const auto& t : timers) {
    put_i64(out, t.due_ms);
    put_u8(out, static_cast<std::uint8_t>(t.kind));
    put_str(out, t.step);
    put_u32(out, t.attempt);
  }
  return out;
}

std::optional<std::vector<timer>> decode_timers(std::string_view bytes) {
  reader in(bytes);
  if (in.u8() != k_format) return std::nullopt;
  const auto n = in.u32();
  if (in.failed() || n > k_timers_max) return std::nullopt;
  std::vector<timer> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n && !in.failed(); ++i) {
    timer t;
    t.due_ms = in.i64();
    const auto kind = in.u8();
    t.step = in.str();
    t.attempt = in.u32();
    if (!valid_kind(kind)) return std::nullopt;
    t.kind = static_cast<timer_kind>(kind);
    out.push_back(std::move(t));
  }
  if (!in.done()) return std::nullopt;
  return out;
}

std::string timers_key(std::int64_t first_due_ms, std::string_view id) {
  std::string key;
  key.reserve(9 + id.size());
  key.push_back(k_timers_due);
  put_u64(key, static_cast<std::uint64_t>(first_due_ms) ^ k_sign_bit);
  key.append(id);
  return key;
}

std::optional<timers_due_entry> parse_timers_key(std::string_view key) {
  if (key.size() < 10 || key[0] != k_timers_due) return std::nullopt;
  reader in(key.substr(1, 8));
  timers_due_entry e;
  e.first_due_ms = static_cast<std::int64_t>(in.u64() ^ k_sign_bit);
  e.id = key.substr(9);
  return e;
}

std::optional<std::uint32_t> timer_count(std::string_view bytes) {
  reader in(bytes);
  if (in.u8() != k_format) return std::nullopt;
  const auto n = in.u32();
  if (in.failed()) return std::nullopt;
  return n;
}

std::optional<timers_meta> meta_of(const std::vector<timer>& timers) {
  if (timers.empty()) return std::nullopt;
  timers_meta m;
  m.first_due_ms = timers.front().due_ms;
  for (const auto& t : timers) m.first_due_ms = std::min(m.first_due_ms, t.due_ms);
  m.count = static_cast<std::uint32_t>(timers.size());
  return m;
}

std::uint64_t value_hash(std::string_view bytes) { return core::fnv1a_64(bytes); }

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xF]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

}  // namespace wfe::workflow::store::codec
