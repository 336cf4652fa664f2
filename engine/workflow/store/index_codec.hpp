#pragma once
// Internal to the workflow index: key layout and the binary value encodings (see
// workflow_index.hpp for the layout). Values start with a format byte (records 2, dead
// letters and timers 1); numbers are big-endian, strings are u32 length + bytes. Decoders
// never throw: damage is nullopt.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/workflow/store/records.hpp"

namespace wfe::workflow::store::codec {

inline constexpr char k_record = 'r';
inline constexpr char k_all = 'a';            // a listing's name only (cursor tags), no keys
inline constexpr char k_by_status = 's';
inline constexpr char k_by_definition = 'd';  // a listing's name only (cursor tags), no keys
inline constexpr char k_by_status_definition = 'x';
inline constexpr char k_dead_letter = 'l';
// Format 3 kept a workflow's timers under "t" + id (moved at open, see workflow_index.cpp).
inline constexpr char k_timers_by_id = 't';
// A workflow's pending timers: "w" + the set's first due time (big-endian, sign bit
// flipped, so negative times sort first) + id. In due order, so load_timers reads the sets
// due first and only those; the record names the key (its first due time).
inline constexpr char k_timers_due = 'w';

// ~created_at (as unsigned) big-endian, then the id: newest first, ties by id.
[[nodiscard]] std::string order_suffix(std::int64_t created_at_ms, std::string_view id);

[[nodiscard]] std::string record_key(std::string_view id);
[[nodiscard]] std::string dead_letter_key(std::string_view id);
[[nodiscard]] std::string timers_key(std::int64_t first_due_ms, std::string_view id);
struct timers_due_entry {
  std::int64_t first_due_ms = 0;
  std::string_view id;
};
// nullopt: not a "w" key of this layout.
[[nodiscard]] std::optional<timers_due_entry> parse_timers_key(std::string_view key);

// A timer set's first due time (its key) and how many timers it has.
struct timers_meta {
  std::int64_t first_due_ms = 0;
  std::uint32_t count = 0;
  bool operator==(const timers_meta&) const = default;
};
// nullopt for an empty set (no "t" or "w" key).
[[nodiscard]] std::optional<timers_meta> meta_of(const std::vector<timer>& timers);

inline constexpr workflow_status k_statuses[] = {workflow_status::running,
                                                 workflow_status::completed,
                                                 workflow_status::failed,
                                                 workflow_status::cancelled};

// The listing prefix of a query (status and/or definition filters); also the name its
// cursors carry.
[[nodiscard]] std::string list_prefix(const std::optional<workflow_status>& status,
                                      std::string_view definition);
// Every secondary key of a record: by status, and by status and definition. A listing
// without a status filter merges the listings of every status (listing_sources).
[[nodiscard]] std::vector<std::string> secondary_keys(const workflow_record& r);
// The key prefixes a query reads: its own listing when it filters by status, else the
// listing of each status (with the same definition filter), merged in key-suffix order.
[[nodiscard]] std::vector<std::string> listing_sources(
    const std::optional<workflow_status>& status, std::string_view definition);

// What the "r" key holds: the record plus what else the index holds about the workflow,
// so that an update needs one Get: whether it has an open dead letter / pending timers,
// each with a 64-bit hash of its encoded value (equal hashes are confirmed by reading the
// value before a write is skipped; different hashes mean the value changed).
struct stored_record {
  workflow_record record;
  std::optional<std::uint64_t> dead_letter_hash;  // set: an "l" key exists
  std::optional<std::uint64_t> timers_hash;       // set: a "w" key exists
  // With timers_hash: the set's first due time (its key) and size (records written
  // before index format 4 lack it; the format's migration adds it).
  std::optional<store::codec::timers_meta> timers_meta{};
  bool operator==(const stored_record&) const = default;
};

[[nodiscard]] std::string encode(const stored_record& r);
[[nodiscard]] std::optional<stored_record> decode_stored(std::string_view bytes);
// decode_stored(bytes)->record.
[[nodiscard]] std::optional<workflow_record> decode_record(std::string_view bytes);
[[nodiscard]] std::string encode(const dead_letter_record& d);
[[nodiscard]] std::optional<dead_letter_record> decode_dead_letter(std::string_view bytes);
[[nodiscard]] std::string encode(const std::vector<timer>& timers);
[[nodiscard]] std::optional<std::vector<timer>> decode_timers(std::string_view bytes);
// How many timers an encoded set holds, without decoding it (nullopt: not a set).
[[nodiscard]] std::optional<std::uint32_t> timer_count(std::string_view bytes);

// FNV-1a 64 of an encoded value (the hashes of stored_record).
[[nodiscard]] std::uint64_t value_hash(std::string_view bytes);

[[nodiscard]] std::string to_hex(std::string_view bytes);
[[nodiscard]] std::optional<std::string> from_hex(std::string_view hex);

}  // namespace wfe::workflow::store::codec
