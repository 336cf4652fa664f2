#include "engine/core/config/internal/value.hpp"

#include <charconv>
#include <cstdio>
#include <unordered_map>
#include <utility>

namespace wfe::core::config_internal {
namespace {

std::shared_ptr<node> new_node(kind k, config_origin o) {
  auto n = std::make_shared<node>();
  n->k = k;
  n->origin = std::move(o);
  return n;
}

bool all_resolved(const std::vector<node_ptr>& items) {
  for (const auto& i : items) {
    if (!i->resolved) return false;
  }
  return true;
}

std::string with_article(kind k) {
  return (k == kind::object ? "an " : "a ") + std::string(type_name(k));
}

bool is_structured(const node& n) { return n.k == kind::list || n.k == kind::object; }

// The layers of a merge stack, or the node itself as a single layer.
void append_layers(std::vector<node_ptr>& out, const node_ptr& n) {
  if (n->k == kind::merge_stack) {
    out.insert(out.end(), n->items.begin(), n->items.end());
  } else {
    out.push_back(n);
  }
}

node_ptr make_stack(const node_ptr& over, const node_ptr& under) {
  auto n = new_node(kind::merge_stack, over->origin);
  n->resolved = false;
  append_layers(n->items, over);
  append_layers(n->items, under);
  return n;
}

node_ptr merge_objects(const node& over, const node& under) {
  std::vector<field> fields;
  fields.reserve(under.fields.size() +
                 over.fields.size());  // `index` views the keys: no reallocation
  fields.insert(fields.end(), under.fields.begin(), under.fields.end());
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < fields.size(); ++i) index.emplace(fields[i].key, i);
  for (const auto& f : over.fields) {
    auto it = index.find(f.key);
    if (it == index.end()) {
      fields.push_back(f);
    } else {
      fields[it->second].value = merge(f.value, fields[it->second].value);
    }
  }
  return make_object(std::move(fields), over.origin);
}

bool is_simple_key(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string render_key(std::string_view k) {
  return is_simple_key(k) ? std::string(k) : quote_json(k);
}

void render_into(std::string& out, const node& n, int indent);

void render_fields(std::string& out, const node& n, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const auto& f : n.fields) {
    out += pad + render_key(f.key);
    out += f.value->k == kind::object ? " " : " = ";
    render_into(out, *f.value, indent);
    out += '\n';
  }
}

void render_list(std::string& out, const node& n, int indent) {
  if (n.items.empty()) {
    out += "[]";
    return;
  }
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  out += "[\n";
  for (std::size_t i = 0; i < n.items.size(); ++i) {
    out += pad;
    render_into(out, *n.items[i], indent + 2);
    out += i + 1 < n.items.size() ? ",\n" : "\n";
  }
  out += std::string(static_cast<std::size_t>(indent), ' ') + "]";
}

void render_into(std::string& out, const node& n, int indent) {
  switch (n.k) {
    case kind::null:
      out += "null";
      return;
    case kind::boolean:
      out += n.boolean ? "true" : "false";
      return;
    case kind::number:
      out += n.text;
      return;
    case kind::string:
      out += quote_json(n.text);
      return;
    case kind::list:
      render_list(out, n, indent);
      return;
    case kind::object:
      if (n.fields.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      render_fields(out, n, indent + 2);
      out += std::string(static_cast<std::size_t>(indent), ' ') + "}";
      return;
    case kind::substitution:
      out += (n.subst_optional ? "${?" : "${") + join_path(n.subst_path) + "}";
      return;
    case kind::concat:
      for (const auto& p : n.items) render_into(out, *p, indent);
      return;
    case kind::merge_stack:
      render_into(out, *n.items.front(), indent);
      return;
  }
}

}  // namespace

node_ptr make_null(config_origin o) { return new_node(kind::null, std::move(o)); }

node_ptr make_bool(bool b, config_origin o) {
  auto n = new_node(kind::boolean, std::move(o));
  n->boolean = b;
  return n;
}

node_ptr make_number(std::string_view text, config_origin o) {
  if (text.empty()) return nullptr;
  const char* first = text.data();
  const char* last = first + text.size();
  double d = 0;
  auto [p, ec] = std::from_chars(first, last, d);
  if (ec != std::errc{} || p != last) return nullptr;
  auto n = new_node(kind::number, std::move(o));
  n->text = std::string(text);
  n->number = d;
  std::int64_t i = 0;
  auto [pi, eci] = std::from_chars(first, last, i);
  n->is_integer = eci == std::errc{} && pi == last;
  n->integer = n->is_integer ? i : 0;
  return n;
}

node_ptr make_string(std::string s, config_origin o, bool whitespace) {
  auto n = new_node(kind::string, std::move(o));
  n->text = std::move(s);
  n->whitespace = whitespace;
  return n;
}

node_ptr make_list(std::vector<node_ptr> items, config_origin o) {
  auto n = new_node(kind::list, std::move(o));
  n->resolved = all_resolved(items);
  n->items = std::move(items);
  return n;
}

node_ptr make_object(std::vector<field> fields, config_origin o) {
  auto n = new_node(kind::object, std::move(o));
  for (const auto& f : fields) n->resolved = n->resolved && f.value->resolved;
  n->fields = std::move(fields);
  return n;
}

node_ptr make_substitution(path_t path, bool optional, config_origin o) {
  auto n = new_node(kind::substitution, std::move(o));
  n->resolved = false;
  n->subst_path = std::move(path);
  n->subst_optional = optional;
  return n;
}

node_ptr make_concat(std::vector<node_ptr> pieces, config_origin o) {
  auto n = new_node(kind::concat, std::move(o));
  n->resolved = false;
  n->items = std::move(pieces);
  return n;
}

node_ptr find_field(const node& object, std::string_view key) {
  for (const auto& f : object.fields) {
    if (f.key == key) return f.value;
  }
  return nullptr;
}

node_ptr find_path(const node_ptr& root, const path_t& path) {
  node_ptr cur = root;
  for (const auto& key : path) {
    if (!cur || cur->k != kind::object) return nullptr;
    cur = find_field(*cur, key);
  }
  return cur;
}

node_ptr merge(const node_ptr& over, const node_ptr& under) {
  if (!under) return over;
  if (!over) return under;
  if (over->k == kind::object) {
    if (under->k == kind::object) return merge_objects(*over, *under);
    if (!under->resolved) return make_stack(over, under);
    return over;
  }
  if (over->resolved) return over;
  return make_stack(over, under);
}

node_ptr relativize(const node_ptr& n, const path_t& prefix) {
  if (prefix.empty() || n->resolved) return n;
  auto copy = std::make_shared<node>(*n);
  if (n->k == kind::substitution) {
    copy->subst_path.insert(copy->subst_path.begin(), prefix.begin(), prefix.end());
    copy->subst_prefix_len += prefix.size();
    return copy;
  }
  for (auto& item : copy->items) item = relativize(item, prefix);
  for (auto& f : copy->fields) f.value = relativize(f.value, prefix);
  return copy;
}

fold_result fold_concat(const std::vector<node_ptr>& pieces, const config_origin& o) {
  std::vector<node_ptr> live;
  bool structured = false;
  bool only_ws = true;
  for (const auto& p : pieces) {
    if (!p) continue;
    live.push_back(p);
    structured = structured || is_structured(*p);
    only_ws = only_ws && p->whitespace;
  }
  if (only_ws) return {};
  if (structured) std::erase_if(live, [](const node_ptr& p) { return p->whitespace; });
  if (live.size() == 1) return {live.front(), {}};
  for (std::size_t i = 1; i < live.size(); ++i) {
    const bool same = live[i]->k == live[0]->k;
    if ((structured || is_structured(*live[i])) && !same) {
      return {nullptr, std::string("cannot concatenate ") + with_article(live[0]->k) + " with " +
                           with_article(live[i]->k)};
    }
  }
  if (live[0]->k == kind::list) {
    std::vector<node_ptr> items;
    for (const auto& l : live) items.insert(items.end(), l->items.begin(), l->items.end());
    return {make_list(std::move(items), o), {}};
  }
  if (live[0]->k == kind::object) {
    node_ptr acc = live[0];
    for (std::size_t i = 1; i < live.size(); ++i) acc = merge(live[i], acc);
    return {acc, {}};
  }
  std::string text;
  for (const auto& l : live) text += scalar_text(*l);
  return {make_string(std::move(text), o), {}};
}

const char* type_name(kind k) {
  switch (k) {
    case kind::null:
      return "null";
    case kind::boolean:
      return "boolean";
    case kind::number:
      return "number";
    case kind::string:
      return "string";
    case kind::list:
      return "list";
    case kind::object:
      return "object";
    case kind::substitution:
      return "substitution";
    case kind::concat:
      return "concatenation";
    case kind::merge_stack:
      return "unresolved merge";
  }
  return "value";
}

std::optional<config_value_type> public_type(kind k) {
  switch (k) {
    case kind::null:
      return config_value_type::null;
    case kind::boolean:
      return config_value_type::boolean;
    case kind::number:
      return config_value_type::number;
    case kind::string:
      return config_value_type::string;
    case kind::list:
      return config_value_type::list;
    case kind::object:
      return config_value_type::object;
    default:
      return std::nullopt;
  }
}

std::string scalar_text(const node& n) {
  switch (n.k) {
    case kind::null:
      return "null";
    case kind::boolean:
      return n.boolean ? "true" : "false";
    case kind::number:
    case kind::string:
      return n.text;
    default:
      return {};
  }
}

std::optional<path_t> split_path(std::string_view text) {
  path_t out;
  std::string cur;
  bool has = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        cur += text[i];
      }
      if (i >= text.size()) return std::nullopt;
      has = true;
    } else if (c == '.') {
      if (!has) return std::nullopt;
      out.push_back(std::move(cur));
      cur.clear();
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (!has) return std::nullopt;
  out.push_back(std::move(cur));
  return out;
}

std::string join_path(const path_t& path) {
  std::string out;
  for (const auto& p : path) {
    if (!out.empty()) out += '.';
    out += render_key(p);
  }
  return out;
}

std::string render(const node& n) {
  if (n.k != kind::object) {
    std::string out;
    render_into(out, n, 0);
    return out;
  }
  if (n.fields.empty()) return "{}\n";
  std::string out;
  render_fields(out, n, 0);
  return out;
}

std::string quote_json(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace wfe::core::config_internal
