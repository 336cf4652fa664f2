#include "engine/core/config/config.hpp"

#include <cmath>
#include <utility>

#include "engine/core/config/internal/parser.hpp"
#include "engine/core/config/internal/resolver.hpp"
#include "engine/core/config/internal/units.hpp"
#include "engine/core/config/internal/value.hpp"

namespace wfe::core {

namespace ci = config_internal;

struct config::impl {
  ci::node_ptr root;  // always an object
};

namespace {

config_error make_error(config_origin origin, std::string_view key, std::string message) {
  return config_error{std::move(origin), std::string(key), std::move(message)};
}

struct located {
  ci::node_ptr value;    // nullptr when missing
  config_origin parent;  // origin of the deepest object on the path
  bool bad_path = false;
};

located locate(const ci::node_ptr& root, std::string_view path) {
  auto parsed = ci::split_path(path);
  if (!parsed) return {nullptr, {}, true};
  located out{root, root->origin};
  for (const auto& key : *parsed) {
    if (out.value->k != ci::kind::object) return {nullptr, out.parent};
    out.parent = out.value->origin;
    out.value = ci::find_field(*out.value, key);
    if (!out.value) return out;
  }
  return out;
}

std::string describe_value(const ci::node& n) {
  if (n.k == ci::kind::string) return "string " + ci::quote_json(n.text);
  if (n.k == ci::kind::number || n.k == ci::kind::boolean) {
    return std::string(ci::type_name(n.k)) + " " + ci::scalar_text(n);
  }
  return ci::type_name(n.k);
}

config_error wrong_type(const ci::node& n, std::string_view key, std::string_view wanted) {
  return make_error(n.origin, key,
                    "expected " + std::string(wanted) + ", got " + describe_value(n));
}

// The value a getter reads: present, resolved and not null.
expected<ci::node_ptr, config_error> fetch(const ci::node_ptr& root, std::string_view path,
                                           std::string_view wanted) {
  const located l = locate(root, path);
  if (l.bad_path) return unexpected{make_error({}, path, "invalid path expression")};
  if (!l.value) return unexpected{make_error(l.parent, path, "missing required key")};
  if (!l.value->resolved) {
    return unexpected{
        make_error(l.value->origin, path, "value is not resolved (call resolve() first)")};
  }
  if (l.value->k == ci::kind::null) return unexpected{wrong_type(*l.value, path, wanted)};
  return l.value;
}

// A number, or a string holding one (Lightbend coercion).
expected<ci::node_ptr, config_error> numeric(const ci::node_ptr& n, std::string_view path,
                                             std::string_view wanted) {
  if (n->k == ci::kind::number) return n;
  if (n->k == ci::kind::string && ci::looks_like_number(n->text)) {
    if (auto num = ci::make_number(ci::trim(n->text), n->origin)) return num;
  }
  return unexpected{wrong_type(*n, path, wanted)};
}

expected<std::int64_t, config_error> to_int(const ci::node& n, std::string_view path) {
  if (n.is_integer) return n.integer;
  const double d = n.number;
  if (std::trunc(d) == d && std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  return unexpected{make_error(n.origin, path, "expected an integer, got number " + n.text)};
}

ci::node_ptr nest(const ci::path_t& path, ci::node_ptr value, const config_origin& origin) {
  for (std::size_t i = path.size(); i-- > 0;) value = ci::make_object({{path[i], value}}, origin);
  return value;
}

}  // namespace

// -- origins and errors ------------------------------------------------------------------

std::string config_origin::describe() const {
  std::string out = file;
  if (line > 0) {
    out += (out.empty() ? "" : ":") + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out;
}

std::string config_error::describe() const {
  std::string out = origin.describe();
  for (const std::string* part : {&key, &message}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ": ";
    out += *part;
  }
  return out;
}

// -- construction ------------------------------------------------------------------------

config::config() : impl_(std::make_shared<impl>(impl{ci::make_object({}, {})})) {}

config::config(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}

config_result<config> config::parse_string(std::string_view text, std::string_view origin_name,
                                           const config_parse_options& opts) {
  ci::source_info src;
  src.origin_name = std::string(origin_name);
  src.base_dir = opts.base_dir;
  auto root = ci::parse_document(text, src, opts, 0);
  if (!root) return unexpected{std::move(root).error()};
  return config(std::make_shared<impl>(impl{std::move(*root)}));
}

config_result<config> config::parse_file(const std::filesystem::path& file,
                                         const config_parse_options& opts) {
  auto text = ci::read_text_file(file);
  if (!text) return unexpected{make_error({file.string()}, {}, "cannot read the config file")};
  auto root = ci::parse_document(*text, ci::file_source(file), opts, 0);
  if (!root) return unexpected{std::move(root).error()};
  return config(std::make_shared<impl>(impl{std::move(*root)}));
}

config_result<config> config::parse_resource(std::string_view name,
                                             const config_parse_options& opts) {
  const ci::source_info src = ci::resource_source(name);
  std::optional<std::string> text;
  if (opts.resources) text = opts.resources(name);
  if (!text) return unexpected{make_error({src.origin_name}, {}, "resource not found")};
  auto root = ci::parse_document(*text, src, opts, 0);
  if (!root) return unexpected{std::move(root).error()};
  return config(std::make_shared<impl>(impl{std::move(*root)}));
}

config_result<config> config::from_override(std::string_view path, std::string_view value_text,
                                            std::string_view origin_name) {
  auto parsed_path = ci::split_path(path);
  if (!parsed_path)
    return unexpected{make_error({std::string(origin_name)}, path, "invalid path expression")};
  const config_origin origin{std::string(origin_name), 0, 0};
  const std::string_view head = ci::trim(value_text);
  ci::node_ptr value;
  if (!head.empty() && (head.front() == '[' || head.front() == '{')) {
    auto v = ci::parse_value(value_text, origin_name, *parsed_path);
    if (!v) {
      config_error e = std::move(v).error();
      e.key = std::string(path);
      return unexpected{std::move(e)};
    }
    value = std::move(*v);
  } else {
    value = ci::make_string(std::string(value_text), origin);
  }
  ci::node_ptr root = nest(*parsed_path, std::move(value), origin);
  return config(std::make_shared<impl>(impl{std::move(root)}));
}

// -- combining ---------------------------------------------------------------------------

config config::with_fallback(const config& fallback) const {
  return config(std::make_shared<impl>(impl{ci::merge(impl_->root, fallback.impl_->root)}));
}

config_result<config> config::resolve(const env_reader& env) const {
  if (impl_->root->resolved) return *this;
  auto root = ci::resolve_tree(impl_->root, env);
  if (!root) return unexpected{std::move(root).error()};
  return config(std::make_shared<impl>(impl{std::move(*root)}));
}

bool config::is_resolved() const { return impl_->root->resolved; }

// -- reading -----------------------------------------------------------------------------

bool config::has(std::string_view path) const {
  const located l = locate(impl_->root, path);
  return l.value && l.value->k != ci::kind::null;
}

std::optional<config_value_type> config::type_of(std::string_view path) const {
  const located l = locate(impl_->root, path);
  if (!l.value) return std::nullopt;
  return ci::public_type(l.value->k);
}

config_origin config::origin_of(std::string_view path) const {
  const located l = locate(impl_->root, path);
  return l.value ? l.value->origin : config_origin{};
}

config_result<std::string> config::get_string(std::string_view path) const {
  auto v = fetch(impl_->root, path, "a string");
  if (!v) return unexpected{std::move(v).error()};
  const auto& n = **v;
  if (n.k == ci::kind::list || n.k == ci::kind::object)
    return unexpected{wrong_type(n, path, "a string")};
  return ci::scalar_text(n);
}

config_result<bool> config::get_bool(std::string_view path) const {
  auto v = fetch(impl_->root, path, "a boolean");
  if (!v) return unexpected{std::move(v).error()};
  const auto& n = **v;
  if (n.k == ci::kind::boolean) return n.boolean;
  if (n.k == ci::kind::string) {
    if (n.text == "true" || n.text == "yes" || n.text == "on") return true;
    if (n.text == "false" || n.text == "no" || n.text == "off") return false;
  }
  return unexpected{wrong_type(n, path, "a boolean (true/false, yes/no, on/off)")};
}

config_result<std::int64_t> config::get_int(std::string_view path) const {
  auto v = fetch(impl_->root, path, "an integer");
  if (!v) return unexpected{std::move(v).error()};
  auto num = numeric(*v, path, "an integer");
  if (!num) return unexpected{std::move(num).error()};
  return to_int(**num, path);
}

config_result<double> config::get_double(std::string_view path) const {
  auto v = fetch(impl_->root, path, "a number");
  if (!v) return unexpected{std::move(v).error()};
  auto num = numeric(*v, path, "a number");
  if (!num) return unexpected{std::move(num).error()};
  return (*num)->number;
}

config_result<std::chrono::nanoseconds> config::get_duration(std::string_view path) const {
  auto v = fetch(impl_->root, path, "a duration");
  if (!v) return unexpected{std::move(v).error()};
  const auto& n = **v;
  expected<std::chrono::nanoseconds, std::string> d = unexpected{std::string()};
  if (n.k == ci::kind::number) {
    d = n.is_integer ? ci::parse_duration(n.text) : ci::millis_to_duration(n.number);
  } else if (n.k == ci::kind::string) {
    d = ci::parse_duration(n.text);
  } else {
    return unexpected{wrong_type(n, path, "a duration")};
  }
  if (!d) return unexpected{make_error(n.origin, path, std::move(d).error())};
  return *d;
}

config_result<std::uint64_t> config::get_bytes(std::string_view path) const {
  auto v = fetch(impl_->root, path, "a size in bytes");
  if (!v) return unexpected{std::move(v).error()};
  const auto& n = **v;
  if (n.k != ci::kind::number && n.k != ci::kind::string) {
    return unexpected{wrong_type(n, path, "a size in bytes")};
  }
  auto b = ci::parse_bytes(n.text);
  if (!b) return unexpected{make_error(n.origin, path, std::move(b).error())};
  return *b;
}

config_result<std::vector<std::string>> config::get_string_list(std::string_view path) const {
  auto v = fetch(impl_->root, path, "a list of strings");
  if (!v) return unexpected{std::move(v).error()};
  const auto& n = **v;
  if (n.k != ci::kind::list) return unexpected{wrong_type(n, path, "a list of strings")};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.items.size(); ++i) {
    const auto& item = *n.items[i];
    if (item.k != ci::kind::string && item.k != ci::kind::number && item.k != ci::kind::boolean) {
      return unexpected{make_error(item.origin, path,
                                   "expected a list of strings, element " + std::to_string(i) +
                                       " is " + describe_value(item))};
    }
    out.push_back(ci::scalar_text(item));
  }
  return out;
}

config_result<config> config::get_config(std::string_view path) const {
  auto v = fetch(impl_->root, path, "an object");
  if (!v) return unexpected{std::move(v).error()};
  if ((*v)->k != ci::kind::object) return unexpected{wrong_type(**v, path, "an object")};
  return config(std::make_shared<impl>(impl{std::move(*v)}));
}

std::vector<std::string> config::keys(std::string_view path) const {
  const ci::node_ptr n = path.empty() ? impl_->root : locate(impl_->root, path).value;
  std::vector<std::string> out;
  if (!n || n->k != ci::kind::object) return out;
  for (const auto& f : n->fields) out.push_back(f.key);
  return out;
}

std::string config::render() const { return ci::render(*impl_->root); }

}  // namespace wfe::core
