#pragma once
// Loads a config text the way the node does (file layer over reference.conf) and
// runs a module's settings reader on it (test helper).

#include <doctest/doctest.h>

#include <string>

#include "engine/core/config_loader.hpp"
#include "engine/core/settings_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace wfe::test {

struct loaded {
  core::config cfg;
  std::string errors;  // all settings errors, one per line; empty when valid
};

inline core::config load_file(const std::filesystem::path& file) {
  core::config_sources s;
  s.config_file = file;
  s.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  auto c = core::load_config(s);
  REQUIRE_MESSAGE(c, (c ? std::string() : c.error().describe()));
  return *c;
}

// Reads settings of type S from `text` written to a file named `name`.
template <class S>
std::pair<S, std::string> read_settings(std::string_view text,
                                        std::string_view name = "node.conf") {
  temp_dir dir;
  auto cfg = load_file(dir.write(name, text));
  core::settings_reader r(cfg);
  auto s = S::read(r);
  return {s, core::describe(r.errors())};
}

}  // namespace wfe::test
