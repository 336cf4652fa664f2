#pragma once
// Lightbend's duration and byte-size syntax ("30 seconds", "512MiB", ...) and the
// string -> number coercion rules.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/expected.hpp"

namespace wfe::core::config_internal {

// "2h", "30 seconds", "1.5s", "500" (milliseconds). Errors are messages.
[[nodiscard]] expected<std::chrono::nanoseconds, std::string> parse_duration(std::string_view text);
// A plain number of milliseconds (a number value read as a duration).
[[nodiscard]] expected<std::chrono::nanoseconds, std::string> millis_to_duration(double ms);

// "8MiB", "512k", "1 GB", "1024" (bytes).
[[nodiscard]] expected<std::uint64_t, std::string> parse_bytes(std::string_view text);

// True when `text` (trimmed) has HOCON/JSON number syntax.
[[nodiscard]] bool looks_like_number(std::string_view text);
[[nodiscard]] std::string_view trim(std::string_view text);

}  // namespace wfe::core::config_internal
