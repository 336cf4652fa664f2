#include "engine/core/config/internal/parser.hpp"

#include <unordered_map>
#include <utility>
#include <variant>

#include "engine/core/config/internal/grammar.hpp"

namespace wfe::core::config_internal {
namespace {

namespace pg = tao::pegtl;
namespace g = grammar;

struct key_token {
  enum class type { text, quoted, dot, ws } t;
  std::string s;
};

struct object_frame {
  path_t path;
  config_origin origin;
  std::vector<field> fields;
  std::unordered_map<std::string, std::size_t> index;
  path_t pending_key;
  bool pending_append = false;
  config_origin key_origin;
};

struct list_frame {
  path_t path;
  config_origin origin;
  std::vector<node_ptr> items;
};

struct concat_frame {
  path_t path;
  config_origin origin;
  std::vector<node_ptr> pieces;
};

using frame = std::variant<object_frame, list_frame, concat_frame>;

struct parse_state {
  const source_info& src;
  const config_parse_options& opts;
  int depth = 0;
  std::vector<frame> frames;
  std::vector<key_token> tokens;
  path_t subst_path;
  bool subst_optional = false;
  include_request include;

  [[nodiscard]] config_origin origin(const pg::position& p) const {
    return {src.origin_name, static_cast<int>(p.line), static_cast<int>(p.column)};
  }
  [[noreturn]] void fail(const pg::position& p, std::string message) const {
    throw config_failure{config_error{origin(p), {}, std::move(message)}};
  }
  object_frame& object() { return std::get<object_frame>(frames.back()); }
  concat_frame& concat() { return std::get<concat_frame>(frames.back()); }
  void add_piece(node_ptr n) { concat().pieces.push_back(std::move(n)); }
};

// -- helpers -----------------------------------------------------------------------------

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

unsigned hex4(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) return 0;
  return static_cast<unsigned>(std::stoul(std::string(s.substr(at, 4)), nullptr, 16));
}

// Decodes the JSON escapes of a quoted string's body (the grammar validated them).
std::string unescape(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 >= raw.size()) {
      out += raw[i];
      continue;
    }
    const char c = raw[++i];
    switch (c) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp = hex4(raw, i + 1);
        i += 4;
        const bool pair =
            cp >= 0xD800 && cp < 0xDC00 && i + 6 < raw.size() && raw.substr(i + 1, 2) == "\\u";
        if (pair) {
          const unsigned lo = hex4(raw, i + 3);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, cp);
        break;
      }
      default:
        out += c;
    }
  }
  return out;
}

std::string_view strip_quotes(std::string_view s, std::size_t n) {
  return s.substr(n, s.size() - 2 * n);
}

path_t tokens_to_path(parse_state& st, const pg::position& pos, std::string_view raw) {
  path_t out;
  std::string cur;
  bool has = false;
  auto bad = [&] {
    st.fail(pos,
            "invalid key '" + std::string(raw) +
                "': empty path element (quote keys containing '.', use \"\" for an empty key)");
  };
  for (const auto& t : st.tokens) {
    if (t.t == key_token::type::dot) {
      if (!has) bad();
      out.push_back(std::move(cur));
      cur.clear();
      has = false;
      continue;
    }
    cur += t.s;
    has = has || t.t != key_token::type::ws;
  }
  if (!has) bad();
  out.push_back(std::move(cur));
  return out;
}

path_t concat_path(const path_t& a, const path_t& b) {
  path_t out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

void merge_field(object_frame& f, const std::string& key, const node_ptr& value) {
  auto it = f.index.find(key);
  if (it == f.index.end()) {
    f.index.emplace(key, f.fields.size());
    f.fields.push_back({key, value});
  } else {
    auto& slot = f.fields[it->second].value;
    slot = merge(value, slot);
  }
}

// `a.b += v` is `a.b = ${?a.b} [v]`; dotted keys become nested objects.
void assign(object_frame& f, node_ptr value) {
  const path_t& key = f.pending_key;
  if (f.pending_append) {
    auto self = make_substitution(concat_path(f.path, key), true, f.key_origin);
    auto list = make_list({value}, value->origin);
    value = make_concat({self, list}, f.key_origin);
  }
  for (std::size_t i = key.size(); i-- > 1;) value = make_object({{key[i], value}}, f.key_origin);
  merge_field(f, key.front(), value);
}

node_ptr finish_concat(parse_state& st, concat_frame& c, const pg::position& pos) {
  if (c.pieces.size() == 1) return c.pieces.front();
  bool resolved = true;
  for (const auto& p : c.pieces) resolved = resolved && p->resolved;
  if (!resolved) return make_concat(std::move(c.pieces), c.origin);
  auto folded = fold_concat(c.pieces, c.origin);
  if (!folded.error.empty()) st.fail(pos, folded.error);
  return folded.value;
}

path_t current_value_path(const parse_state& st) {
  const frame& top = st.frames.back();
  if (const auto* o = std::get_if<object_frame>(&top)) return concat_path(o->path, o->pending_key);
  if (const auto* l = std::get_if<list_frame>(&top)) return l->path;
  return std::get<concat_frame>(top).path;
}

void do_include(parse_state& st, const pg::position& pos) {
  const include_request& req = st.include;
  if (req.kind == include_kind::url) st.fail(pos, "url(...) includes are not supported");
  if (st.depth + 1 > st.opts.max_include_depth) {
    st.fail(pos, "includes nested deeper than " + std::to_string(st.opts.max_include_depth) +
                     " levels (include cycle?) at include \"" + req.name + "\"");
  }
  std::string tried;
  auto doc = load_include(req, st.src, st.opts, tried);
  if (!doc) {
    if (req.required)
      st.fail(pos, "required include \"" + req.name + "\" not found (looked for " + tried + ")");
    return;
  }
  auto parsed = parse_document(doc->text, doc->source, st.opts, st.depth + 1);
  if (!parsed) throw config_failure{parsed.error()};
  object_frame& obj = st.object();
  const node_ptr root = relativize(*parsed, obj.path);
  for (const auto& f : root->fields) merge_field(obj, f.key, f.value);
}

// -- actions -----------------------------------------------------------------------------

template <typename Rule>
struct action : pg::nothing<Rule> {};

template <key_token::type T>
struct token_action {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.tokens.push_back({T, in.string()});
  }
};

template <>
struct action<g::key_start> {
  static void apply0(parse_state& st) { st.tokens.clear(); }
};
template <>
struct action<g::key_unquoted> : token_action<key_token::type::text> {};
template <>
struct action<g::key_dot> : token_action<key_token::type::dot> {};
template <>
struct action<g::key_ws> : token_action<key_token::type::ws> {};
template <>
struct action<g::key_quoted> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.tokens.push_back({key_token::type::quoted, unescape(strip_quotes(in.string_view(), 1))});
  }
};

template <>
struct action<g::member_key> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    object_frame& f = st.object();
    f.pending_key = tokens_to_path(st, in.position(), in.string_view());
    f.pending_append = false;
    f.key_origin = st.origin(in.position());
  }
};
template <>
struct action<g::op_append> {
  static void apply0(parse_state& st) { st.object().pending_append = true; }
};

template <>
struct action<g::subst_open> {
  static void apply0(parse_state& st) { st.subst_optional = false; }
};
template <>
struct action<g::subst_optional> {
  static void apply0(parse_state& st) { st.subst_optional = true; }
};
template <>
struct action<g::subst_key> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.subst_path = tokens_to_path(st, in.position(), in.string_view());
  }
};
template <>
struct action<g::substitution> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.add_piece(make_substitution(st.subst_path, st.subst_optional, st.origin(in.position())));
  }
};

template <>
struct action<g::value_begin> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.frames.emplace_back(concat_frame{current_value_path(st), st.origin(in.position()), {}});
  }
};
template <>
struct action<g::value> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    concat_frame c = std::move(st.concat());
    st.frames.pop_back();
    node_ptr v = finish_concat(st, c, in.position());
    if (auto* o = std::get_if<object_frame>(&st.frames.back())) {
      assign(*o, std::move(v));
    } else {
      std::get<list_frame>(st.frames.back()).items.push_back(std::move(v));
    }
  }
};

template <>
struct action<g::value_quoted> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.add_piece(
        make_string(unescape(strip_quotes(in.string_view(), 1)), st.origin(in.position())));
  }
};
template <>
struct action<g::value_triple> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.add_piece(
        make_string(std::string(strip_quotes(in.string_view(), 3)), st.origin(in.position())));
  }
};
template <>
struct action<g::value_unquoted> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.add_piece(make_string(in.string(), st.origin(in.position())));
  }
};
template <>
struct action<g::concat_ws> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.add_piece(make_string(in.string(), st.origin(in.position()), true));
  }
};
template <>
struct action<g::value_number> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    auto n = make_number(in.string_view(), st.origin(in.position()));
    st.add_piece(n ? n : make_string(in.string(), st.origin(in.position())));
  }
};
template <bool B>
struct bool_action {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.add_piece(make_bool(B, st.origin(in.position())));
  }
};
template <>
struct action<g::value_true> : bool_action<true> {};
template <>
struct action<g::value_false> : bool_action<false> {};
template <>
struct action<g::value_null> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.add_piece(make_null(st.origin(in.position())));
  }
};

template <>
struct action<g::array_open> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.frames.emplace_back(list_frame{st.concat().path, st.origin(in.position()), {}});
  }
};
template <>
struct action<g::array> {
  static void apply0(parse_state& st) {
    list_frame l = std::move(std::get<list_frame>(st.frames.back()));
    st.frames.pop_back();
    st.add_piece(make_list(std::move(l.items), l.origin));
  }
};
template <>
struct action<g::object_open> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    object_frame f;
    f.path = st.concat().path;
    f.origin = st.origin(in.position());
    st.frames.emplace_back(std::move(f));
  }
};
template <>
struct action<g::braced_object> {
  static void apply0(parse_state& st) {
    object_frame f = std::move(st.object());
    st.frames.pop_back();
    st.add_piece(make_object(std::move(f.fields), f.origin));
  }
};
template <>
struct action<g::root_open> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.object().origin = st.origin(in.position());
  }
};

template <>
struct action<g::include_begin> {
  static void apply0(parse_state& st) { st.include = {}; }
};
template <>
struct action<g::include_required> {
  static void apply0(parse_state& st) { st.include.required = true; }
};
template <include_kind K>
struct include_kind_action {
  static void apply0(parse_state& st) { st.include.kind = K; }
};
template <>
struct action<g::include_file> : include_kind_action<include_kind::file> {};
template <>
struct action<g::include_classpath> : include_kind_action<include_kind::classpath> {};
template <>
struct action<g::include_url> : include_kind_action<include_kind::url> {};
template <>
struct action<g::include_name> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    st.include.name = unescape(strip_quotes(in.string_view(), 1));
  }
};
template <>
struct action<g::include_stmt> {
  template <typename Input>
  static void apply(const Input& in, parse_state& st) {
    do_include(st, in.position());
  }
};

template <typename Grammar>
expected<node_ptr, config_error> run_parse(std::string_view text, parse_state& st) {
  try {
    pg::memory_input<> in(text.data(), text.size(), st.src.origin_name);
    if (!pg::parse<Grammar, action, g::control>(in, st)) {
      return unexpected{config_error{{st.src.origin_name, 1, 1}, {}, "syntax error"}};
    }
  } catch (const pg::parse_error& e) {
    const auto& p = e.positions().front();
    return unexpected{config_error{st.origin(p), {}, std::string(e.message())}};
  } catch (const config_failure& f) {
    return unexpected{f.error};
  } catch (const std::exception& e) {
    return unexpected{config_error{{st.src.origin_name}, {}, e.what()}};
  }
  object_frame root = std::move(st.object());
  return make_object(std::move(root.fields), root.origin);
}

}  // namespace

expected<node_ptr, config_error> parse_document(std::string_view text, const source_info& src,
                                                const config_parse_options& opts, int depth) {
  parse_state st{src, opts, depth, {}, {}, {}, false, {}};
  object_frame root;
  root.origin = {src.origin_name, 1, 1};
  st.frames.emplace_back(std::move(root));
  return run_parse<g::document>(text, st);
}

expected<node_ptr, config_error> parse_value(std::string_view text, std::string_view origin_name,
                                             const path_t& at) {
  const source_info src{std::string(origin_name), {}, false, {}};
  const config_parse_options opts;
  parse_state st{src, opts, 0, {}, {}, {}, false, {}};
  // The lone value is parsed as the field at.back() of a scratch object at the parent
  // path, so `+=` inside it refers to the right place.
  object_frame root;
  root.path = path_t(at.begin(), at.end() - 1);
  root.pending_key = {at.back()};
  st.frames.emplace_back(std::move(root));
  auto parsed = run_parse<g::value_document>(text, st);
  if (!parsed) return parsed;
  return find_field(**parsed, at.back());
}

}  // namespace wfe::core::config_internal
