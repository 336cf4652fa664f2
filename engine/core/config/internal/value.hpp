#pragma once
// The HOCON value tree shared by the parser, the resolver and the getters.
// Nodes are immutable once built and shared between configs (shared_ptr<const node>).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/config/config.hpp"

namespace wfe::core::config_internal {

// substitution, concat and merge_stack only exist before resolve().
// Internal control flow: thrown by parse actions and the resolver, always caught and
// turned into a config_result before reaching the public API.
struct config_failure {
  config_error error;
};

enum class kind { null, boolean, number, string, list, object, substitution, concat, merge_stack };

struct node;
using node_ptr = std::shared_ptr<const node>;
using path_t = std::vector<std::string>;

struct field {
  std::string key;
  node_ptr value;
};

struct node {
  kind k = kind::null;
  config_origin origin;
  bool resolved = true;  // no substitution anywhere below
  bool boolean = false;
  bool is_integer = false;   // number: fits std::int64_t exactly
  std::int64_t integer = 0;  // number, when is_integer
  double number = 0;         // number
  std::string text;          // string value; a number's source text
  bool whitespace = false;   // string: whitespace between concatenated pieces
  // list: elements; concat: pieces; merge_stack: layers, highest priority first.
  std::vector<node_ptr> items;
  std::vector<field> fields;  // object, in insertion order
  path_t subst_path;          // substitution: absolute path
  bool subst_optional = false;
  std::size_t subst_prefix_len = 0;  // leading elements added by an enclosing include
};

node_ptr make_null(config_origin o);
node_ptr make_bool(bool b, config_origin o);
// Parses `text` (HOCON/JSON number syntax); nullptr when it is not a number.
node_ptr make_number(std::string_view text, config_origin o);
node_ptr make_string(std::string s, config_origin o, bool whitespace = false);
node_ptr make_list(std::vector<node_ptr> items, config_origin o);
node_ptr make_object(std::vector<field> fields, config_origin o);
node_ptr make_substitution(path_t path, bool optional, config_origin o);
node_ptr make_concat(std::vector<node_ptr> pieces, config_origin o);

[[nodiscard]] node_ptr find_field(const node& object, std::string_view key);
// The node at `path` below `root`, walking objects only; nullptr when absent.
[[nodiscard]] node_ptr find_path(const node_ptr& root, const path_t& path);

// `over` stacked on top of `under` (duplicate key or with_fallback): objects merge
// recursively, resolved non-objects replace, anything unresolved becomes a merge stack.
[[nodiscard]] node_ptr merge(const node_ptr& over, const node_ptr& under);

// Prefixes every substitution path with `prefix` (content included inside an object).
[[nodiscard]] node_ptr relativize(const node_ptr& n, const path_t& prefix);

// Joins already-resolved concatenation pieces: strings concatenate, lists append,
// objects merge. nullopt when no piece remains; an error message when mixed.
struct fold_result {
  node_ptr value;     // nullptr: nothing left (all pieces undefined)
  std::string error;  // non-empty on failure
};
[[nodiscard]] fold_result fold_concat(const std::vector<node_ptr>& pieces, const config_origin& o);

[[nodiscard]] const char* type_name(kind k);
[[nodiscard]] std::optional<config_value_type> public_type(kind k);
// The text of a scalar in a string context ("true", the number's source text...).
[[nodiscard]] std::string scalar_text(const node& n);

// Path helpers: "a.b" -> {"a","b"}; quoted elements keep their dots.
[[nodiscard]] std::optional<path_t> split_path(std::string_view text);
[[nodiscard]] std::string join_path(const path_t& path);

[[nodiscard]] std::string render(const node& n);
[[nodiscard]] std::string quote_json(std::string_view s);

}  // namespace wfe::core::config_internal
