#include "engine/core/settings_reader.hpp"

#include <string>

namespace wfe::core {

template <class T>
T settings_reader::take(config_result<T> r) {
  if (r) return std::move(r).value();
  errors_.push_back(std::move(r).error());
  return T{};
}

void settings_reader::fail(std::string_view key, std::string message) {
  errors_.push_back(config_error{cfg_.origin_of(key), std::string(key), std::move(message)});
}

std::string settings_reader::string(std::string_view key) { return take(cfg_.get_string(key)); }

std::string settings_reader::non_empty_string(std::string_view key) {
  auto before = errors_.size();
  auto s = string(key);
  if (errors_.size() == before && s.empty()) fail(key, "must not be empty");
  return s;
}

bool settings_reader::boolean(std::string_view key) { return take(cfg_.get_bool(key)); }

std::int64_t settings_reader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  auto r = cfg_.get_int(key);
  if (!r) return take(std::move(r));
  if (*r < min || *r > max) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                  std::to_string(*r));
    return min;
  }
  return *r;
}

std::uint16_t settings_reader::port(std::string_view key, bool allow_zero) {
  return static_cast<std::uint16_t>(integer(key, allow_zero ? 0 : 1, 65535));
}

std::chrono::milliseconds settings_reader::duration(std::string_view key,
                                                    std::chrono::milliseconds min,
                                                    std::chrono::milliseconds max) {
  auto r = cfg_.get_duration(key);
  if (!r) {
    errors_.push_back(std::move(r).error());
    return min;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*r);
  if (ms < min || ms > max) {
    fail(key, "must be between " + std::to_string(min.count()) + "ms and " +
                  std::to_string(max.count()) + "ms, got " + std::to_string(ms.count()) + "ms");
    return min;
  }
  return ms;
}

std::chrono::milliseconds settings_reader::duration_or_off(std::string_view key,
                                                           std::chrono::milliseconds min,
                                                           std::chrono::milliseconds max) {
  if (auto s = cfg_.get_string(key); s && *s == "off") return std::chrono::milliseconds{0};
  return duration(key, min, max);
}

std::uint64_t settings_reader::bytes(std::string_view key, std::uint64_t min, std::uint64_t max) {
  auto r = cfg_.get_bytes(key);
  if (!r) return take(std::move(r));
  if (*r < min || *r > max) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                  " bytes, got " + std::to_string(*r));
    return min;
  }
  return *r;
}

std::vector<std::string> settings_reader::string_list(std::string_view key) {
  return take(cfg_.get_string_list(key));
}

std::string settings_reader::one_of(std::string_view key,
                                    const std::vector<std::string_view>& allowed) {
  auto before = errors_.size();
  auto s = string(key);
  if (errors_.size() != before) return s;
  for (auto a : allowed) {
    if (a == s) return s;
  }
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  fail(key, "must be one of " + list + ", got \"" + s + "\"");
  return s;
}

std::string describe(const std::vector<config_error>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.describe();
  }
  return out;
}

}  // namespace wfe::core
