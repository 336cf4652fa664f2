#include "engine/core/config_loader.hpp"

#include <cstdlib>

#include "engine/core/resources.hpp"

namespace wfe::core {

namespace {

std::optional<std::string> getenv_reader(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// 'a, b' -> '["a","b"]'; a value that already looks like a list is kept as is.
std::string as_list_text(std::string_view raw) {
  auto trimmed = raw;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) {
    trimmed.remove_prefix(1);
  }
  if (trimmed.starts_with('[')) return std::string(trimmed);
  std::string out = "[";
  std::size_t start = 0;
  while (start <= raw.size()) {
    auto comma = raw.find(',', start);
    auto item = raw.substr(start, comma == std::string_view::npos ? raw.npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      if (out.size() > 1) out += ',';
      out += '"';
      for (char c : item) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out + "]";
}

config_result<config> env_layer(const env_reader& env) {
  config layer;
  for (const auto& e : env_overrides()) {
    auto value = env(e.variable);
    if (!value || value->empty()) continue;
    auto text = e.is_list ? as_list_text(*value) : *value;
    auto c = config::from_override(e.path, text, "env " + std::string(e.variable));
    if (!c) return c;
    layer = c->with_fallback(layer);
  }
  return layer;
}

config_result<config> main_layer(const config_sources& s, const config_parse_options& opts) {
  if (s.config_file) return config::parse_file(*s.config_file, opts);
  return config::parse_resource(s.config_resource.value_or("application.conf"), opts);
}

}  // namespace

const std::vector<env_override>& env_overrides() {
  static const std::vector<env_override> list = {
      {"PEKKO_HOSTNAME", "pekko.remote.artery.canonical.hostname", false},
      {"PEKKO_PORT", "pekko.remote.artery.canonical.port", false},
      {"PEKKO_ROLES", "pekko.cluster.roles", true},
      {"PEKKO_SEED_NODES", "pekko.cluster.seed-nodes", true},
  };
  return list;
}

config_parse_options resource_parse_options() {
  config_parse_options opts;
  opts.resources = [](std::string_view name) -> std::optional<std::string> {
    auto text = find_resource(name);
    if (!text) return std::nullopt;
    return std::string(*text);
  };
  return opts;
}

config_result<config> load_config(const config_sources& s) {
  auto env = s.env ? s.env : env_reader(getenv_reader);
  auto opts = resource_parse_options();
  auto reference = config::parse_resource("reference.conf", opts);
  if (!reference) return reference;
  auto main = main_layer(s, opts);
  if (!main) return main;
  auto env_cfg = env_layer(env);
  if (!env_cfg) return env_cfg;
  config overrides;
  for (const auto& [key, value] : s.overrides) {
    auto c = config::from_override(key, value, "command line -D" + key);
    if (!c) return c;
    overrides = c->with_fallback(overrides);
  }
  auto stacked = overrides.with_fallback(*env_cfg).with_fallback(*main).with_fallback(*reference);
  return stacked.resolve(env);
}

}  // namespace wfe::core
