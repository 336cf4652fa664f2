#pragma once
// Internal to the workflow index: key layout and the binary value encodings (see
// workflow_index.hpp for the layout). Values start with a format byte (1); numbers are
// big-endian, strings are u32 length + bytes. Decoders never throw: damage is nullopt.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/workflow/store/records.hpp"

namespace wfe::workflow::store::codec {

inline constexpr char k_record = 'r';
inline constexpr char k_all = 'a';
inline constexpr char k_by_status = 's';
inline constexpr char k_by_definition = 'd';
inline constexpr char k_by_status_definition = 'x';
inline constexpr char k_dead_letter = 'l';
inline constexpr char k_timers = 't';

// ~created_at (as unsigned) big-endian, then the id: newest first, ties by id.
[[nodiscard]] std::string order_suffix(std::int64_t created_at_ms, std::string_view id);

[[nodiscard]] std::string record_key(std::string_view id);
[[nodiscard]] std::string dead_letter_key(std::string_view id);
[[nodiscard]] std::string timers_key(std::string_view id);

// The listing prefix of a query (status and/or definition filters).
[[nodiscard]] std::string list_prefix(const std::optional<workflow_status>& status,
                                      std::string_view definition);
// Every secondary key of a record (all, status, definition, status+definition).
[[nodiscard]] std::vector<std::string> secondary_keys(const workflow_record& r);

[[nodiscard]] std::string encode(const workflow_record& r);
[[nodiscard]] std::optional<workflow_record> decode_record(std::string_view bytes);
[[nodiscard]] std::string encode(const dead_letter_record& d);
[[nodiscard]] std::optional<dead_letter_record> decode_dead_letter(std::string_view bytes);
[[nodiscard]] std::string encode(const std::vector<timer>& timers);
[[nodiscard]] std::optional<std::vector<timer>> decode_timers(std::string_view bytes);

[[nodiscard]] std::string to_hex(std::string_view bytes);
[[nodiscard]] std::optional<std::string> from_hex(std::string_view hex);

}  // namespace wfe::workflow::store::codec
