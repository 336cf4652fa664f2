#include "api/http/router.hpp"

#include <algorithm>
#include <optional>
#include <span>
#include <unordered_map>

#include <boost/container/small_vector.hpp>

namespace wfe::api {
namespace {

// "/a/b" -> {"a","b"}; "/" -> {""}; "/a/" -> {"a",""}. A trailing slash therefore
// yields an empty last segment, so "/health/" does not match "/health" (404):
// one spelling per resource, no redirects.
// A request's path segments: routes have a handful, so they stay on the stack.
using path_segments = boost::container::small_vector<std::string_view, 8>;

path_segments split_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  path_segments out;
  for (;;) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one path segment. Malformed escapes are kept literally rather than
// failing: the server has already rejected targets that are not valid URIs.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool is_param(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Whether `path` (still-encoded segments, so an encoded '/' (%2F) inside a parameter
// stays inside that parameter) has the pattern's shape: a literal segment equal to the
// decoded path segment, a parameter any non-empty segment. Nothing is copied for a
// segment without escapes.
bool segments_match(const std::vector<std::string>& pattern, std::span<const std::string_view> path,
                    bool decode) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (is_param(pattern[i])) {
      if (path[i].empty()) return false;  // a parameter is never empty
    } else if (decode && path[i].find('%') != std::string_view::npos) {
      if (pattern[i] != percent_decode(path[i])) return false;
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

// The parameters of a path that segments_match'ed the pattern, decoded.
std::unordered_map<std::string, std::string> params_of(const std::vector<std::string>& pattern,
                                                       std::span<const std::string_view> path,
                                                       bool decode) {
  std::unordered_map<std::string, std::string> params;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!is_param(pattern[i])) continue;
    params[pattern[i].substr(1, pattern[i].size() - 2)] =
        decode ? percent_decode(path[i]) : std::string(path[i]);
  }
  return params;
}

}  // namespace

void router::add(std::string method, std::string pattern, http_handler handler) {
  route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  for (const auto seg : split_path(r.pattern)) r.segments.emplace_back(seg);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void router::add_fallback(std::string prefix, http_handler handler) {
  auto label = prefix + "/*";
  fallbacks_.push_back({std::move(prefix), std::move(label), std::move(handler)});
}

router::match router::find(http_request& req) const {
  // Prefer the raw target (segments still encoded); fall back to the decoded path
  // for requests built by hand without a target.
  const bool from_target = !req.target.empty();
  std::string_view path = from_target ? std::string_view(req.target) : std::string_view(req.path);
  if (from_target) path = path.substr(0, path.find_first_of("?#"));
  const auto segments = split_path(path);

  match result;
  std::vector<std::string_view> allowed;
  for (const auto& r : routes_) {
    if (!segments_match(r.segments, segments, from_target)) continue;
    if (r.method == req.method) {
      req.params = params_of(r.segments, segments, from_target);
      result.handler = &r.handler;
      result.pattern = r.pattern;
      return result;
    }
    if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) {
      allowed.push_back(r.method);
    }
  }
  if (allowed.empty()) {
    for (const auto& f : fallbacks_) {
      if (path == f.prefix || (path.starts_with(f.prefix) && path[f.prefix.size()] == '/')) {
        result.handler = &f.handler;
        result.pattern = f.label;
        return result;
      }
    }
  }
  result.status = allowed.empty() ? 404 : 405;
  for (const auto m : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += m;
  }
  return result;
}

}  // namespace wfe::api
