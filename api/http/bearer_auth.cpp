#include "api/http/bearer_auth.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <system_error>

namespace wfe::api {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// The blank-separated fields of a line.
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  for (s = trim(s); !s.empty(); s = trim(s)) {
    std::size_t n = 0;
    while (n < s.size() && !is_blank(s[n])) ++n;
    out.push_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  return out;
}

// Constant time in the length of `known` (the secret): a mismatch at any byte, or in
// length, costs the same.
bool same(std::string_view given, std::string_view known) {
  unsigned char diff = given.size() == known.size() ? 0 : 1;
  for (std::size_t i = 0; i < known.size(); ++i) {
    const auto g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(known[i]));
  }
  return diff == 0;
}

bool under(std::string_view path, std::string_view prefix) {
  return path == prefix ||
         (path.starts_with(prefix) && path.size() > prefix.size() && path[prefix.size()] == '/');
}

}  // namespace

std::optional<token_role> role_named(std::string_view name) {
  for (auto r : {token_role::admin, token_role::client, token_role::worker, token_role::read}) {
    if (to_string(r) == name) return r;
  }
  return std::nullopt;
}

std::string_view to_string(token_role r) {
  switch (r) {
    case token_role::admin:
      return "admin";
    case token_role::client:
      return "client";
    case token_role::worker:
      return "worker";
    case token_role::read:
      return "read";
  }
  return "unknown";
}

bool permits(token_role role, std::string_view method, std::string_view path) {
  const bool reads = method == "GET" || method == "HEAD";
  switch (role) {
    case token_role::admin:
      return true;
    case token_role::read:
      return reads;
    case token_role::client:
      return reads || under(path, "/api/v1/workflow-definitions") ||
             under(path, "/api/v1/workflows") || under(path, "/api/v1/dead-letters");
    case token_role::worker:
      return under(path, "/api/v1/tasks");
  }
  return false;
}

core::expected<bearer_auth, std::string> bearer_auth::from_file(
    const std::filesystem::path& file, std::vector<std::string> public_paths) {
  const auto name = file.string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return core::unexpected{"cannot read the token file " + name + ": " + ec.message()};
  if (size > max_file_bytes) {
    return core::unexpected{"the token file " + name + " is larger than " +
                            std::to_string(max_file_bytes) + " bytes"};
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::unexpected{"cannot read the token file " + name};
  bearer_auth a;
  a.public_paths_ = std::move(public_paths);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    const auto f = fields(line);
    if (f.empty() || f.front().front() == '#') continue;
    const auto where = name + ":" + std::to_string(n) + ": ";
    if (f.size() > 2) return core::unexpected{where + "expected \"<token> [role]\""};
    const auto token = f[0];
    if (token.size() < min_token_bytes) {
      return core::unexpected{where + "a token must have at least " +
                              std::to_string(min_token_bytes) +
                              " bytes (e.g. `openssl rand -hex 32`)"};
    }
    auto role = f.size() == 2 ? role_named(f[1]) : token_role::admin;
    if (!role) {
      return core::unexpected{where + "unknown role \"" + std::string(f[1]) +
                              "\" (known: admin, client, worker, read)"};
    }
    if (std::any_of(a.tokens_.begin(), a.tokens_.end(),
                    [&](const entry& e) { return e.token == token; })) {
      return core::unexpected{where + "this token is listed before"};
    }
    if (a.tokens_.size() == max_tokens) {
      return core::unexpected{where + "more than " + std::to_string(max_tokens) + " tokens"};
    }
    a.tokens_.push_back({std::string(token), *role});
  }
  if (a.tokens_.empty()) return core::unexpected{"the token file " + name + " has no token"};
  return a;
}

bool bearer_auth::is_public(std::string_view path) const {
  return std::find(public_paths_.begin(), public_paths_.end(), path) != public_paths_.end();
}

std::optional<token_role> bearer_auth::authenticate(std::string_view authorization) const {
  auto v = trim(authorization);
  constexpr std::string_view scheme = "bearer";
  if (v.size() <= scheme.size() || !is_blank(v[scheme.size()])) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(v[i]))) != scheme[i]) {
      return std::nullopt;
    }
  }
  const auto token = trim(v.substr(scheme.size()));
  std::optional<token_role> found;
  for (const auto& e : tokens_) {  // no early exit
    if (same(token, e.token)) found = e.role;
  }
  return found;
}

std::string bearer_auth::admin_token() const {
  for (const auto& e : tokens_) {
    if (e.role == token_role::admin) return e.token;
  }
  return {};
}

auth_source::auth_source(std::filesystem::path file, std::vector<std::string> public_paths,
                         bearer_auth initial)
    : file_(std::move(file)),
      public_paths_(std::move(public_paths)),
      current_(std::make_shared<const bearer_auth>(std::move(initial))) {}

core::expected<std::shared_ptr<auth_source>, std::string> auth_source::open(
    std::filesystem::path file, std::vector<std::string> public_paths) {
  auto first = bearer_auth::from_file(file, public_paths);
  if (!first) return core::unexpected{std::move(first).error()};
  return std::make_shared<auth_source>(std::move(file), std::move(public_paths), std::move(*first));
}

std::string auth_source::reload() {
  auto next = bearer_auth::from_file(file_, public_paths_);
  if (!next) return next.error();
  current_.store(std::make_shared<const bearer_auth>(std::move(*next)));
  return {};
}

}  // namespace wfe::api
