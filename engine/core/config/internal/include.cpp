#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "engine/core/config/internal/parser.hpp"

namespace wfe::core::config_internal {
namespace {

namespace fs = std::filesystem;

// "x" may omit its extension, as in Lightbend: then x.conf and x.json are tried.
std::vector<std::string> candidates(const std::string& name) {
  if (fs::path(name).has_extension()) return {name};
  return {name, name + ".conf", name + ".json"};
}

void note_tried(std::string& tried, const std::string& what) {
  if (!tried.empty()) tried += ", ";
  tried += what;
}

std::optional<loaded_document> load_file(const std::string& name, const source_info& from,
                                         std::string& tried) {
  for (const auto& c : candidates(name)) {
    fs::path p(c);
    if (p.is_relative() && !from.base_dir.empty()) p = from.base_dir / p;
    note_tried(tried, p.string());
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) continue;
    if (auto text = read_text_file(p)) return loaded_document{std::move(*text), file_source(p)};
  }
  return std::nullopt;
}

std::optional<loaded_document> load_resource(std::string name, const config_parse_options& opts,
                                             std::string& tried) {
  while (!name.empty() && name.front() == '/') name.erase(0, 1);
  for (const auto& c : candidates(name)) {
    note_tried(tried, "classpath:" + c);
    if (!opts.resources) continue;
    if (auto text = opts.resources(c)) return loaded_document{std::move(*text), resource_source(c)};
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> read_text_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

source_info file_source(const std::filesystem::path& p) {
  source_info s;
  s.origin_name = p.string();
  s.base_dir = p.parent_path();
  return s;
}

source_info resource_source(std::string_view name) {
  source_info s;
  s.origin_name = "classpath:" + std::string(name);
  s.classpath = true;
  const auto slash = name.rfind('/');
  if (slash != std::string_view::npos) s.resource_dir = std::string(name.substr(0, slash + 1));
  return s;
}

std::optional<loaded_document> load_include(const include_request& req, const source_info& from,
                                            const config_parse_options& opts, std::string& tried) {
  switch (req.kind) {
    case include_kind::file:
      return load_file(req.name, from, tried);
    case include_kind::classpath:
      return load_resource(req.name, opts, tried);
    case include_kind::url:
      return std::nullopt;
    case include_kind::heuristic:
      break;
  }
  // A plain include is relative to the including document; a file that is not there
  // falls back to the classpath (Lightbend's behaviour).
  if (from.classpath) {
    const bool absolute = !req.name.empty() && req.name.front() == '/';
    return load_resource(absolute ? req.name : from.resource_dir + req.name, opts, tried);
  }
  if (auto doc = load_file(req.name, from, tried)) return doc;
  return load_resource(req.name, opts, tried);
}

}  // namespace wfe::core::config_internal
