#include "engine/core/config/internal/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>

namespace wfe::core::config_internal {
namespace {

using u128 = unsigned __int128;

struct split_unit {
  std::string_view number;
  std::string_view unit;
};

// Lightbend: the unit is the trailing run of letters, the number what precedes it.
split_unit split(std::string_view text) {
  text = trim(text);
  std::size_t i = text.size();
  while (i > 0 && std::isalpha(static_cast<unsigned char>(text[i - 1])) != 0) --i;
  return {trim(text.substr(0, i)), text.substr(i)};
}

bool is_integer_text(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<double> to_double(std::string_view s) {
  if (!looks_like_number(s)) return std::nullopt;
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return d;
}

std::int64_t duration_unit(std::string unit, bool& ok) {
  ok = true;
  if (unit.size() > 2 && unit.back() != 's') unit += 's';  // "second" -> "seconds"
  static const std::map<std::string, std::int64_t, std::less<>> units = {
      {"", 1'000'000},
      {"ms", 1'000'000},
      {"millis", 1'000'000},
      {"milliseconds", 1'000'000},
      {"us", 1'000},
      {"micros", 1'000},
      {"microseconds", 1'000},
      {"ns", 1},
      {"nanos", 1},
      {"nanoseconds", 1},
      {"s", 1'000'000'000},
      {"seconds", 1'000'000'000},
      {"m", 60'000'000'000},
      {"minutes", 60'000'000'000},
      {"h", 3'600'000'000'000},
      {"hours", 3'600'000'000'000},
      {"d", 86'400'000'000'000},
      {"days", 86'400'000'000'000}};
  auto it = units.find(unit);
  if (it == units.end()) {
    ok = false;
    return 0;
  }
  return it->second;
}

std::map<std::string, u128, std::less<>> make_byte_units() {
  std::map<std::string, u128, std::less<>> m = {
      {"", 1}, {"B", 1}, {"b", 1}, {"byte", 1}, {"bytes", 1}};
  struct prefix {
    const char* decimal;
    const char* binary;
    char letter;
  };
  const prefix prefixes[] = {{"kilo", "kibi", 'k'},  {"mega", "mebi", 'm'}, {"giga", "gibi", 'g'},
                             {"tera", "tebi", 't'},  {"peta", "pebi", 'p'}, {"exa", "exbi", 'e'},
                             {"zetta", "zebi", 'z'}, {"yotta", "yobi", 'y'}};
  u128 p10 = 1;
  u128 p2 = 1;
  for (std::size_t i = 0; i < std::size(prefixes); ++i) {
    const auto& pr = prefixes[i];
    p10 *= 1000;
    p2 *= 1024;
    const std::string lower(1, pr.letter);
    const std::string upper(1, static_cast<char>(std::toupper(pr.letter)));
    for (const char* suffix : {"byte", "bytes"}) {
      m[std::string(pr.decimal) + suffix] = p10;
      m[std::string(pr.binary) + suffix] = p2;
    }
    m[(i == 0 ? lower : upper) + "B"] = p10;  // kB, MB, GB...
    if (i == 0) m["KB"] = p10;                // common spelling, not in Lightbend's table
    for (const auto& s : {lower, upper, upper + "i", upper + "iB"}) m[s] = p2;  // k K Ki KiB
  }
  return m;
}

}  // namespace

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool looks_like_number(std::string_view s) {
  s = trim(s);
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

expected<std::chrono::nanoseconds, std::string> millis_to_duration(double ms) {
  const double ns = std::round(ms * 1e6);
  if (!std::isfinite(ns) || std::fabs(ns) >= 9.2e18)
    return unexpected{std::string("duration out of range")};
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

expected<std::chrono::nanoseconds, std::string> parse_duration(std::string_view text) {
  const auto [number, unit] = split(text);
  const std::string quoted = "'" + std::string(trim(text)) + "'";
  if (number.empty()) return unexpected{"invalid duration " + quoted + ": no number"};
  bool ok = false;
  const std::int64_t factor = duration_unit(std::string(unit), ok);
  if (!ok) {
    return unexpected{"invalid duration " + quoted + ": unknown time unit '" + std::string(unit) +
                      "' (use ns, us, ms, s, m, h or d, or their long names)"};
  }
  if (is_integer_text(number)) {
    std::int64_t n = 0;
    std::int64_t ns = 0;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (ec != std::errc{} || __builtin_mul_overflow(n, factor, &ns)) {
      return unexpected{"invalid duration " + quoted + ": out of range"};
    }
    return std::chrono::nanoseconds(ns);
  }
  auto d = to_double(number);
  if (!d)
    return unexpected{"invalid duration " + quoted + ": '" + std::string(number) +
                      "' is not a number"};
  auto r = millis_to_duration(*d * static_cast<double>(factor) / 1e6);
  if (!r) return unexpected{"invalid duration " + quoted + ": out of range"};
  return r;
}

expected<std::uint64_t, std::string> parse_bytes(std::string_view text) {
  static const auto units = make_byte_units();
  const auto [number, unit] = split(text);
  const std::string quoted = "'" + std::string(trim(text)) + "'";
  if (number.empty()) return unexpected{"invalid byte size " + quoted + ": no number"};
  auto it = units.find(unit);
  if (it == units.end()) {
    return unexpected{"invalid byte size " + quoted + ": unknown size unit '" + std::string(unit) +
                      "' (use B, K/KiB, M/MiB, G/GiB, T/TiB, kB, MB, GB, TB...)"};
  }
  const auto out_of_range = [&] {
    return unexpected{"byte size " + quoted + " is out of range (at most 2^64-1 bytes)"};
  };
  if (number.front() == '-') return unexpected{"invalid byte size " + quoted + ": negative"};
  const u128 max = std::numeric_limits<std::uint64_t>::max();
  if (is_integer_text(number)) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (ec != std::errc{}) return out_of_range();
    if (n != 0 && it->second > max / n) return out_of_range();
    return static_cast<std::uint64_t>(it->second * n);
  }
  auto d = to_double(number);
  if (!d)
    return unexpected{"invalid byte size " + quoted + ": '" + std::string(number) +
                      "' is not a number"};
  const long double bytes = static_cast<long double>(*d) * static_cast<long double>(it->second);
  if (!(bytes < 18446744073709551616.0L)) return out_of_range();
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace wfe::core::config_internal
