#pragma once
// Helpers shared by the config tests.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "engine/core/config/config.hpp"

namespace wfe::core::config_test {

// An environment with exactly these variables (tests never see the real one).
inline env_reader env_of(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Parses and resolves `text`; fails the test on any error.
inline config parse_ok(std::string_view text, const config_parse_options& opts = {},
                       const env_reader& env = env_of()) {
  auto parsed = config::parse_string(text, "test.conf", opts);
  if (!parsed) FAIL("parse failed: " << parsed.error().describe());
  auto resolved = parsed->resolve(env);
  if (!resolved) FAIL("resolve failed: " << resolved.error().describe());
  return *resolved;
}

// The error of parsing `text` (fails the test if it parses).
inline config_error parse_error(std::string_view text, const config_parse_options& opts = {}) {
  auto parsed = config::parse_string(text, "bad.conf", opts);
  if (parsed) FAIL("expected a parse error for: " << text);
  return parsed.error();
}

// The error of resolving `text` (fails the test if it parses badly or resolves).
inline config_error resolve_error(std::string_view text, const env_reader& env = env_of()) {
  auto parsed = config::parse_string(text, "bad.conf");
  if (!parsed) FAIL("parse failed: " << parsed.error().describe());
  auto resolved = parsed->resolve(env);
  if (resolved) FAIL("expected a resolve error for: " << text);
  return resolved.error();
}

// A fresh directory under the system temp dir, removed at scope exit.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("wfe-config-test-" + std::to_string(stamp) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& name, std::string_view text) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

// A resource loader serving the given name -> text map.
inline resource_loader resources_of(std::map<std::string, std::string> files) {
  return [files = std::move(files)](std::string_view name) -> std::optional<std::string> {
    auto it = files.find(std::string(name));
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace wfe::core::config_test
