#pragma once
// Reads typed, validated values out of a resolved config for the per-module
// settings structs, collecting every problem instead of stopping at the first, so
// a bad config file is fixed in one round. Each error names file:line:column and key.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/config/config.hpp"

namespace wfe::core {

class settings_reader {
 public:
  explicit settings_reader(const config& cfg) : cfg_(cfg) {}

  [[nodiscard]] const config& cfg() const { return cfg_; }

  std::string string(std::string_view key);
  std::string non_empty_string(std::string_view key);
  bool boolean(std::string_view key);
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::uint16_t port(std::string_view key, bool allow_zero = false);
  std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds min,
                                     std::chrono::milliseconds max);
  // A duration, or `off` (Pekko's spelling for a disabled duration): 0 ms.
  std::chrono::milliseconds duration_or_off(std::string_view key, std::chrono::milliseconds min,
                                            std::chrono::milliseconds max);
  std::uint64_t bytes(std::string_view key, std::uint64_t min, std::uint64_t max);
  std::vector<std::string> string_list(std::string_view key);
  // One of `allowed`; the error lists them.
  std::string one_of(std::string_view key, const std::vector<std::string_view>& allowed);

  // Records a validation failure of the value at `key` (origin looked up).
  void fail(std::string_view key, std::string message);

  [[nodiscard]] bool ok() const { return errors_.empty(); }
  [[nodiscard]] const std::vector<config_error>& errors() const { return errors_; }
  std::vector<config_error> take_errors() { return std::move(errors_); }

 private:
  template <class T>
  T take(config_result<T> r);

  const config& cfg_;
  std::vector<config_error> errors_;
};

// All errors, one per line.
std::string describe(const std::vector<config_error>& errors);

}  // namespace wfe::core
