#include "engine/workflow/placeholders.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include <boost/json.hpp>

namespace wfe::workflow {

namespace json = boost::json;

namespace {

struct reference {
  enum class kind : std::uint8_t { id, input, output } what = kind::id;
  std::string step;               // kind::output
  std::vector<std::string> path;  // into the value
};

std::string shown(std::string_view expr) { return "${" + std::string(expr.substr(0, 128)) + "}"; }

std::vector<std::string> split_path(std::string_view rest) {
  std::vector<std::string> out;
  while (!rest.empty()) {
    const auto dot = rest.find('.');
    out.emplace_back(rest.substr(0, dot));
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return out;
}

// The text between "${" and "}".
core::expected<reference, std::string> parse_reference(std::string_view expr) {
  const auto bad = [&] {
    return core::unexpected{"placeholder " + shown(expr) +
                            " must be ${workflow.id}, ${workflow.input[.path]} or "
                            "${steps.<name>.output[.path]}"};
  };
  const auto path_of =
      [&](std::string_view rest) -> core::expected<std::vector<std::string>, std::string> {
    if (rest.empty()) return std::vector<std::string>{};
    if (rest.front() != '.') return core::unexpected{std::string()};
    auto p = split_path(rest.substr(1));
    if (std::any_of(p.begin(), p.end(), [](const std::string& k) { return k.empty(); })) {
      return core::unexpected{std::string()};
    }
    return p;
  };
  reference r;
  if (expr == "workflow.id") return r;
  if (expr.starts_with("workflow.input")) {
    auto p = path_of(expr.substr(std::string_view("workflow.input").size()));
    if (!p) return bad();
    r.what = reference::kind::input;
    r.path = std::move(*p);
    return r;
  }
  if (expr.starts_with("steps.")) {
    // Step names may hold dots: the name ends at the first ".output" that ends the
    // placeholder or is followed by a path.
    const auto body = expr.substr(6);
    for (auto at = body.find(".output"); at != std::string_view::npos;
         at = body.find(".output", at + 1)) {
      const auto rest = body.substr(at + 7);
      if (at == 0 || !(rest.empty() || rest.front() == '.')) continue;
      auto p = path_of(rest);
      if (!p) return bad();
      r.what = reference::kind::output;
      r.step = std::string(body.substr(0, at));
      r.path = std::move(*p);
      return r;
    }
  }
  return bad();
}

// Calls on_text for literal runs and on_ref for each placeholder of `s`, in order.
template <class Text, class Ref>
std::optional<std::string> scan(std::string_view s, Text&& on_text, Ref&& on_ref) {
  std::size_t from = 0;
  while (from < s.size()) {
    const auto at = s.find('$', from);
    if (at == std::string_view::npos || at + 1 >= s.size()) break;
    if (s.compare(at, 3, "$${") == 0) {  // escaped
      on_text(s.substr(from, at - from));
      on_text("${");
      from = at + 3;
      continue;
    }
    if (s[at + 1] != '{') {
      on_text(s.substr(from, at + 1 - from));
      from = at + 1;
      continue;
    }
    const auto end = s.find('}', at + 2);
    if (end == std::string_view::npos) {
      return "placeholder '" + std::string(s.substr(at, 64)) + "' has no closing '}'";
    }
    on_text(s.substr(from, at - from));
    auto ref = parse_reference(s.substr(at + 2, end - at - 2));
    if (!ref) return std::move(ref).error();
    if (auto e = on_ref(*ref, s.substr(at + 2, end - at - 2))) return e;
    from = end + 1;
  }
  on_text(s.substr(std::min(from, s.size())));
  return std::nullopt;
}

core::expected<const json::value*, std::string> lookup(const reference& r,
                                                       const placeholder_scope& scope,
                                                       std::string_view expr,
                                                       json::value& scratch) {
  const json::value* v = nullptr;
  switch (r.what) {
    case reference::kind::id:
      scratch = json::string(scope.workflow_id);
      return &scratch;
    case reference::kind::input:
      v = &scope.workflow_input;
      break;
    case reference::kind::output: {
      auto it = std::find_if(scope.outputs.begin(), scope.outputs.end(),
                             [&](const step_output& o) { return o.step == r.step; });
      if (it == scope.outputs.end()) {
        return core::unexpected{"placeholder " + shown(expr) + ": step '" + r.step +
                                "' is not one this step depends on"};
      }
      v = &*it->output;
      break;
    }
  }
  for (const auto& key : r.path) {
    const json::value* next = nullptr;
    if (const auto* o = v->if_object()) {
      next = o->if_contains(key);
    } else if (const auto* a = v->if_array()) {
      std::size_t i = 0;
      const auto* end = key.data() + key.size();
      if (auto [p, ec] = std::from_chars(key.data(), end, i);
          ec == std::errc{} && p == end && i < a->size()) {
        next = &(*a)[i];
      }
    }
    if (next == nullptr) {
      return core::unexpected{"placeholder " + shown(expr) + " names nothing: no '" + key + "'"};
    }
    v = next;
  }
  return v;
}

std::string text_of(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  return json::serialize(v);
}

void percent_encode(std::string_view in, std::string& out) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (const unsigned char c : in) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

core::expected<json::value, std::string> resolve_string(const json::string& s,
                                                        const placeholder_scope& scope,
                                                        bool in_url) {
  const std::string_view text(s);
  if (text.find("${") == std::string_view::npos) return json::value(s);
  std::string out;
  int refs = 0;
  bool literal = false;
  json::value first;       // the first placeholder's value
  std::string first_text;  // and its text
  auto e = scan(
      text,
      [&](std::string_view t) {
        if (!t.empty()) literal = true;
        out += t;
      },
      [&](const reference& r, std::string_view expr) -> std::optional<std::string> {
        json::value scratch;
        auto v = lookup(r, scope, expr, scratch);
        if (!v) return std::move(v).error();
        auto t = text_of(**v);
        if (in_url) {
          percent_encode(t, out);
        } else {
          out += t;
        }
        if (++refs == 1) {
          first = **v;
          first_text = std::move(t);
        }
        return std::nullopt;
      });
  if (e) return core::unexpected{std::move(*e)};
  if (refs == 1 && !literal) {
    // The string is the placeholder: its value itself (any JSON), or in the url the
    // value's text as it is (a whole URL from an earlier step).
    if (in_url) return json::value(json::string(first_text));
    return first;
  }
  return json::value(json::string(out));
}

core::expected<json::value, std::string> resolve(const json::value& v,
                                                 const placeholder_scope& scope, bool in_url) {
  if (const auto* s = v.if_string()) return resolve_string(*s, scope, in_url);
  if (const auto* a = v.if_array()) {
    json::array out;
    out.reserve(a->size());
    for (const auto& item : *a) {
      auto r = resolve(item, scope, false);
      if (!r) return r;
      out.push_back(std::move(*r));
    }
    return json::value(std::move(out));
  }
  if (const auto* o = v.if_object()) {
    json::object out;
    out.reserve(o->size());
    for (const auto& [k, item] : *o) {
      auto r = resolve(item, scope, false);
      if (!r) return r;
      out[k] = std::move(*r);
    }
    return json::value(std::move(out));
  }
  return v;
}

template <class F>
std::optional<std::string> each_string(const json::value& v, F&& f) {
  if (const auto* s = v.if_string()) return f(std::string_view(*s));
  if (const auto* a = v.if_array()) {
    for (const auto& item : *a) {
      if (auto e = each_string(item, f)) return e;
    }
  } else if (const auto* o = v.if_object()) {
    for (const auto& [k, item] : *o) {
      if (auto e = each_string(item, f)) return e;
    }
  }
  return std::nullopt;
}

}  // namespace

bool has_placeholders(const json::value& input) {
  return each_string(input,
                     [](std::string_view s) -> std::optional<std::string> {
                       if (s.find("${") != std::string_view::npos) return std::string();
                       return std::nullopt;
                     })
      .has_value();
}

core::expected<json::value, std::string> resolve_placeholders(const json::value& input,
                                                              const placeholder_scope& scope) {
  const auto* o = input.if_object();
  if (o == nullptr) return resolve(input, scope, false);
  json::object out;
  out.reserve(o->size());
  for (const auto& [k, item] : *o) {
    auto r = k == "url" ? resolve(item, scope, true) : resolve(item, scope, false);
    if (!r) return r;
    out[k] = std::move(*r);
  }
  return json::value(std::move(out));
}

std::optional<std::string> check_placeholders(const json::value& input,
                                              std::span<const std::string> depends_on) {
  return each_string(input, [&](std::string_view s) {
    return scan(
        s, [](std::string_view) {},
        [&](const reference& r, std::string_view expr) -> std::optional<std::string> {
          if (r.what == reference::kind::output &&
              std::find(depends_on.begin(), depends_on.end(), r.step) == depends_on.end()) {
            return "placeholder " + shown(expr) + ": step '" + r.step +
                   "' is not in this step's dependsOn";
          }
          return std::nullopt;
        });
  });
}

}  // namespace wfe::workflow
