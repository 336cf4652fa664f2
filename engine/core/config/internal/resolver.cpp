#include "engine/core/config/internal/resolver.hpp"

#include <cstdlib>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace wfe::core::config_internal {
namespace {

// How self-references work: while layer i of the value stack of field F is resolved,
// a "shadow" says "F is, for now, layers i+1..". A substitution whose path starts with
// F (lexically inside that layer) then sees the previous value of F, as the spec says.
// Lookups of other fields start afresh (no shadows), are memoized and cycle-checked.
struct shadow {
  path_t path;
  const std::vector<node_ptr>* layers;
  std::size_t next;
};
using shadows_t = std::vector<shadow>;

bool is_prefix(const path_t& prefix, const path_t& p) {
  if (prefix.size() > p.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != p[i]) return false;
  }
  return true;
}

std::string subst_text(const node& s) {
  return (s.subst_optional ? "${?" : "${") + join_path(s.subst_path) + "}";
}

node_ptr walk_resolved(node_ptr n, const path_t& p, std::size_t from) {
  for (std::size_t i = from; i < p.size(); ++i) {
    if (!n || n->k != kind::object) return nullptr;
    n = find_field(*n, p[i]);
  }
  return n;
}

class resolver {
 public:
  resolver(node_ptr root, env_reader env) : root_(std::move(root)), env_(std::move(env)) {}

  node_ptr run() { return resolve_field(root_, {}, {}); }

 private:
  struct active {
    std::string text;
    config_origin origin;
  };

  node_ptr resolve_field(const node_ptr& n, const path_t& path, const shadows_t& sh) {
    if (n->resolved) return n;
    const bool fresh = sh.empty();
    std::string key;
    if (fresh) {
      key = join_path(path) + '\x1f' + std::to_string(reinterpret_cast<std::uintptr_t>(n.get()));
      if (auto it = memo_.find(key); it != memo_.end()) return it->second;
      if (!in_progress_.insert(key).second) cycle(n, path);
    }
    node_ptr r;
    if (n->k == kind::object) {
      r = resolve_object(n, path, sh);
    } else if (n->k == kind::merge_stack) {
      r = resolve_layers(n->items, 0, path, sh);
    } else {
      const std::vector<node_ptr> single{n};
      r = resolve_layers(single, 0, path, sh);
    }
    if (fresh) {
      in_progress_.erase(key);
      memo_.emplace(key, r);
    }
    return r;
  }

  node_ptr resolve_layers(const std::vector<node_ptr>& layers, std::size_t i, const path_t& path,
                          const shadows_t& sh) {
    if (i >= layers.size()) return nullptr;
    shadows_t inner = sh;
    inner.push_back({path, &layers, i + 1});
    node_ptr top = resolve_node(layers[i], path, inner);
    if (!top)
      return resolve_layers(layers, i + 1, path, sh);  // `${?x}` undefined: keep the old value
    if (top->k == kind::object && i + 1 < layers.size()) {
      node_ptr rest = resolve_layers(layers, i + 1, path, sh);
      if (rest && rest->k == kind::object) return merge(top, rest);
    }
    return top;
  }

  node_ptr resolve_node(const node_ptr& n, const path_t& path, const shadows_t& sh) {
    if (n->resolved) return n;
    switch (n->k) {
      case kind::object:
        return resolve_object(n, path, sh);
      case kind::list:
        return resolve_list(n, path, sh);
      case kind::substitution:
        return resolve_subst(n, path, sh);
      case kind::concat:
        return resolve_concat(n, path, sh);
      case kind::merge_stack:
        return resolve_layers(n->items, 0, path, sh);
      default:
        return n;
    }
  }

  node_ptr resolve_object(const node_ptr& n, const path_t& path, const shadows_t& sh) {
    std::vector<field> fields;
    path_t child = path;
    child.emplace_back();
    for (const auto& f : n->fields) {
      child.back() = f.key;
      if (auto v = resolve_field(f.value, child, sh)) fields.push_back({f.key, std::move(v)});
    }
    return make_object(std::move(fields), n->origin);
  }

  node_ptr resolve_list(const node_ptr& n, const path_t& path, const shadows_t& sh) {
    std::vector<node_ptr> items;
    for (const auto& i : n->items) {
      if (auto v = resolve_node(i, path, sh)) items.push_back(std::move(v));
    }
    return make_list(std::move(items), n->origin);
  }

  node_ptr resolve_concat(const node_ptr& n, const path_t& path, const shadows_t& sh) {
    std::vector<node_ptr> pieces;
    for (const auto& p : n->items) pieces.push_back(resolve_node(p, path, sh));
    auto folded = fold_concat(pieces, n->origin);
    if (!folded.error.empty())
      throw config_failure{config_error{n->origin, join_path(path), folded.error}};
    return folded.value;
  }

  node_ptr resolve_subst(const node_ptr& n, const path_t& path, const shadows_t& sh) {
    const std::string text = subst_text(*n);
    chain_.push_back({text, n->origin});
    const path_t& p = n->subst_path;
    const path_t unprefixed(p.begin() + static_cast<std::ptrdiff_t>(n->subst_prefix_len), p.end());
    node_ptr found = lookup(p, sh);
    if (!found && n->subst_prefix_len > 0 && !unprefixed.empty()) found = lookup(unprefixed, sh);
    if (!found) found = from_env(unprefixed);
    chain_.pop_back();
    if (!found && !n->subst_optional) {
      throw config_failure{config_error{n->origin, join_path(path),
                                        "could not resolve substitution " + text +
                                            ": not set in the config nor in the environment"}};
    }
    return found;
  }

  node_ptr lookup(const path_t& p, const shadows_t& sh) {
    for (std::size_t k = sh.size(); k-- > 0;) {
      if (!is_prefix(sh[k].path, p)) continue;
      const shadows_t outer(sh.begin(), sh.begin() + static_cast<std::ptrdiff_t>(k));
      node_ptr base = resolve_layers(*sh[k].layers, sh[k].next, sh[k].path, outer);
      return walk_resolved(base, p, sh[k].path.size());
    }
    node_ptr cur = root_;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (cur->k != kind::object) {
        const path_t prefix(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(i));
        return walk_resolved(resolve_field(cur, prefix, {}), p, i);
      }
      cur = find_field(*cur, p[i]);
      if (!cur) return nullptr;
    }
    return resolve_field(cur, p, {});
  }

  node_ptr from_env(const path_t& p) {
    if (p.empty()) return nullptr;
    std::string name;
    for (const auto& e : p) name += (name.empty() ? "" : ".") + e;
    std::optional<std::string> value;
    if (env_) {
      value = env_(name);
    } else if (const char* v = std::getenv(name.c_str())) {
      value = std::string(v);
    }
    if (!value) return nullptr;
    return make_string(std::move(*value), config_origin{"env " + name, 0, 0});
  }

  [[noreturn]] void cycle(const node_ptr& n, const path_t& path) {
    std::string msg = "substitution cycle: ";
    for (const auto& a : chain_) msg += a.text + " -> ";
    msg += join_path(path) + " (which is being resolved)";
    const config_origin origin = chain_.empty() ? n->origin : chain_.back().origin;
    throw config_failure{config_error{origin, join_path(path), msg}};
  }

  node_ptr root_;
  env_reader env_;
  std::unordered_map<std::string, node_ptr> memo_;
  std::unordered_set<std::string> in_progress_;
  std::vector<active> chain_;
};

}  // namespace

expected<node_ptr, config_error> resolve_tree(const node_ptr& root, const env_reader& env) {
  try {
    resolver r(root, env);
    return r.run();
  } catch (const config_failure& f) {
    return unexpected{f.error};
  } catch (const std::exception& e) {
    return unexpected{config_error{root->origin, {}, e.what()}};
  }
}

}  // namespace wfe::core::config_internal
