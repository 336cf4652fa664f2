#pragma once
// Parsing HOCON text into an unresolved value tree (see grammar.hpp for the syntax).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/config/config.hpp"
#include "engine/core/config/internal/value.hpp"

namespace wfe::core::config_internal {

// Where a document came from: names origins and anchors relative includes.
struct source_info {
  std::string origin_name;
  std::filesystem::path base_dir;  // for relative file includes
  bool classpath = false;          // the document is a resource
  std::string resource_dir;        // "a/b/" for a resource named "a/b/c.conf"
};

// A whole document (root braces optional); the result is the root object.
[[nodiscard]] expected<node_ptr, config_error> parse_document(std::string_view text,
                                                              const source_info& src,
                                                              const config_parse_options& opts,
                                                              int depth);

// A single value (array, object, string...) for -D overrides, destined for the
// (non-empty) path `at`.
[[nodiscard]] expected<node_ptr, config_error> parse_value(std::string_view text,
                                                           std::string_view origin_name,
                                                           const path_t& at);

// -- includes (include.cpp) ------------------------------------------------------------
enum class include_kind { heuristic, file, classpath, url };

struct include_request {
  include_kind kind = include_kind::heuristic;
  std::string name;
  bool required = false;
};

struct loaded_document {
  std::string text;
  source_info source;
};

// Finds the target of an include; nullopt when it does not exist. `tried` receives a
// description of the locations looked at (for the "required include" error).
[[nodiscard]] std::optional<loaded_document> load_include(const include_request& req,
                                                          const source_info& from,
                                                          const config_parse_options& opts,
                                                          std::string& tried);

[[nodiscard]] std::optional<std::string> read_text_file(const std::filesystem::path& p);
[[nodiscard]] source_info file_source(const std::filesystem::path& p);
[[nodiscard]] source_info resource_source(std::string_view name);

}  // namespace wfe::core::config_internal
