#pragma once
// A parsed HOCON configuration (https://github.com/lightbend/config/blob/main/HOCON.md),
// the format Pekko uses. Parsing is our own, on PEGTL.
//
// Life cycle, as in Lightbend Config:
//   1. parse each layer (string, file or compiled-in resource) -> unresolved `config`;
//   2. stack the layers with `with_fallback` (receiver wins over the argument);
//   3. `resolve()` once: substitutions `${a.b}`, `${?ENV}`, self references, `+=`;
//   4. read values with the typed getters. Getters on an unresolved config are a bug.
//
// Every value remembers where it came from (file:line:column), so errors of later
// validation name the file, the line and the key. A `config` is an immutable value:
// cheap to copy (shared, immutable tree), safe to read from many threads.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/expected.hpp"

namespace wfe::core {

// Where a value (or an error) came from.
struct config_origin {
  std::string file;  // a path, "classpath:reference.conf", "command line", "env PEKKO_PORT", ...
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown

  // "file:line:column", "file:line" or "file" depending on what is known.
  [[nodiscard]] std::string describe() const;
};

struct config_error {
  config_origin origin;  // where the offending text or value is
  std::string key;       // the path concerned, empty for pure syntax errors
  std::string message;   // what was expected / what is wrong

  // "node1.conf:12:5: pekko.cluster.roles: expected a list of strings, got number"
  [[nodiscard]] std::string describe() const;
};

template <class T>
using config_result = expected<T, config_error>;

enum class config_value_type { null, boolean, number, string, list, object };

// Resolves the target of `include classpath("x")` to a compiled-in resource's text.
// Returns nullopt when there is no such resource.
using resource_loader = std::function<std::optional<std::string>(std::string_view name)>;

// Where to find included files and resources, and how to read the environment.
struct config_parse_options {
  resource_loader resources;  // may be empty: then classpath includes find nothing
  // Directory against which relative `include "x"` / `include file("x")` are resolved;
  // parse_file() sets it to the file's directory.
  std::filesystem::path base_dir;
  // Bound on include nesting (guards include cycles).
  int max_include_depth = 16;
};

// Reads an environment variable for `${?VAR}` / `${VAR}` fallbacks at resolve time.
using env_reader = std::function<std::optional<std::string>(std::string_view name)>;

class config {
 public:
  config();  // an empty, resolved object

  // -- parsing (results are unresolved) ------------------------------------------
  static config_result<config> parse_string(std::string_view text, std::string_view origin_name,
                                            const config_parse_options& opts = {});
  static config_result<config> parse_file(const std::filesystem::path& file,
                                          const config_parse_options& opts = {});
  // `origin_name` of the result is "classpath:<name>".
  static config_result<config> parse_resource(std::string_view name,
                                              const config_parse_options& opts);

  // A config holding a single path = value where `value_text` is HOCON value syntax
  // if it starts with '[' or '{' and otherwise a plain string (like a Java system
  // property). Used for -Dkey=value and environment overrides.
  static config_result<config> from_override(std::string_view path, std::string_view value_text,
                                             std::string_view origin_name);

  // -- combining -------------------------------------------------------------------
  // Returns a config where keys of *this win and objects are merged recursively.
  [[nodiscard]] config with_fallback(const config& fallback) const;

  // Resolves every substitution. Unresolvable `${x}` is an error naming x and the
  // origin of the substitution; `${?x}` that resolves to nothing removes the field.
  // Substitutions look in the config first, then in the environment via `env`
  // (defaults to std::getenv).
  [[nodiscard]] config_result<config> resolve(const env_reader& env = {}) const;
  [[nodiscard]] bool is_resolved() const;

  // -- reading (resolved configs only) ---------------------------------------------
  // Paths are HOCON paths: "pekko.cluster.roles", quoted segments allowed
  // ("a.\"b.c\".d").
  [[nodiscard]] bool has(std::string_view path) const;  // present and not null
  [[nodiscard]] std::optional<config_value_type> type_of(std::string_view path) const;
  [[nodiscard]] config_origin origin_of(std::string_view path) const;  // of the value at path

  // Getters coerce like Lightbend Config: a string "8080" reads as a number, "true"/
  // "yes"/"on" as booleans, numbers as strings. A missing key or an impossible
  // conversion is an error naming the key and the value's origin.
  [[nodiscard]] config_result<std::string> get_string(std::string_view path) const;
  [[nodiscard]] config_result<bool> get_bool(std::string_view path) const;
  [[nodiscard]] config_result<std::int64_t> get_int(std::string_view path) const;
  [[nodiscard]] config_result<double> get_double(std::string_view path) const;
  // "2h", "30 seconds", "500ms", "1.5s"; a bare number is milliseconds (as Lightbend).
  [[nodiscard]] config_result<std::chrono::nanoseconds> get_duration(std::string_view path) const;
  // "8MiB", "512k", "1 GB"; a bare number is bytes.
  [[nodiscard]] config_result<std::uint64_t> get_bytes(std::string_view path) const;
  [[nodiscard]] config_result<std::vector<std::string>> get_string_list(
      std::string_view path) const;
  // The object at path as its own config (its origins preserved).
  [[nodiscard]] config_result<config> get_config(std::string_view path) const;
  // Keys directly under the object at path ("" = root), in insertion order.
  [[nodiscard]] std::vector<std::string> keys(std::string_view path = "") const;

  // Render as HOCON/JSON-ish text (for --print-config and debugging).
  [[nodiscard]] std::string render() const;

  struct impl;  // defined in internal/; public only so the implementation files can reach it

 private:
  explicit config(std::shared_ptr<const impl> p);
  std::shared_ptr<const impl> impl_;
};

}  // namespace wfe::core
