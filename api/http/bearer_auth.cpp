#include "api/http/bearer_auth.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>

namespace wfe::api {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
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

}  // namespace

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
    const auto t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    const auto where = name + ":" + std::to_string(n) + ": ";
    if (std::any_of(t.begin(), t.end(), [](char c) { return is_blank(c); })) {
      return core::unexpected{where + "a token has no blanks inside"};
    }
    if (t.size() < min_token_bytes) {
      return core::unexpected{where + "a token must have at least " +
                              std::to_string(min_token_bytes) +
                              " bytes (e.g. `openssl rand -hex 32`)"};
    }
    if (a.tokens_.size() == max_tokens) {
      return core::unexpected{where + "more than " + std::to_string(max_tokens) + " tokens"};
    }
    a.tokens_.emplace_back(t);
  }
  if (a.tokens_.empty()) return core::unexpected{"the token file " + name + " has no token"};
  return a;
}

bool bearer_auth::is_public(std::string_view path) const {
  return std::find(public_paths_.begin(), public_paths_.end(), path) != public_paths_.end();
}

bool bearer_auth::accepts(std::string_view authorization) const {
  auto v = trim(authorization);
  constexpr std::string_view scheme = "bearer";
  if (v.size() <= scheme.size() || !is_blank(v[scheme.size()])) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(v[i]))) != scheme[i])
      return false;
  }
  const auto token = trim(v.substr(scheme.size()));
  bool ok = false;
  for (const auto& t : tokens_) ok = same(token, t) || ok;  // no early exit
  return ok;
}

}  // namespace wfe::api
