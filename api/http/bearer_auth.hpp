#pragma once
// Bearer-token authentication and authorization of the REST API
// (pekko.workflow.http.auth): a request must carry "Authorization: Bearer <token>" with
// one of the tokens of a file, except on its public paths (the liveness and readiness
// probes), and the token's role must permit the request. Checked by the connection
// before routing: 401 (with WWW-Authenticate) without a known token, 403 when its role
// does not permit the request. Tokens are compared in constant time.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/expected.hpp"

namespace wfe::api {

// What a token may do:
//   admin  — everything (the default when a line names no role);
//   client — GET anywhere, and any method under /api/v1/workflow-definitions,
//            /api/v1/workflows and /api/v1/dead-letters (applications);
//   worker — GET anywhere under /api/v1/tasks, and any method there (external workers);
//   read   — GET and HEAD anywhere (dashboards, scripts).
enum class token_role { admin, client, worker, read };

[[nodiscard]] std::string_view to_string(token_role r);
// The role called `name` ("admin", "client", "worker", "read"); nothing otherwise.
[[nodiscard]] std::optional<token_role> role_named(std::string_view name);
// Whether `role` may send `method` to `path` (the decoded path, no query).
[[nodiscard]] bool permits(token_role role, std::string_view method, std::string_view path);

class bearer_auth {
 public:
  static constexpr std::size_t min_token_bytes = 16;
  static constexpr std::size_t max_tokens = 1000;
  static constexpr std::uintmax_t max_file_bytes = 1 << 20;

  // Reads the tokens: one per line, "<token> [role]" (role: admin, client, worker or
  // read; admin when absent), surrounding blanks and a trailing CR dropped, empty lines
  // and lines starting with '#' skipped. Refuses a missing or unreadable file, one
  // without a token, a token shorter than min_token_bytes, an unknown role or more
  // fields, the same token twice, more than max_tokens, a file over max_file_bytes; the
  // error names the file and line.
  static core::expected<bearer_auth, std::string> from_file(const std::filesystem::path& file,
                                                            std::vector<std::string> public_paths);

  // True when `path` (the decoded path, no query) is one of the public paths.
  [[nodiscard]] bool is_public(std::string_view path) const;
  // The role of the token when `authorization` (the header's value) is "Bearer <a known
  // token>" (the scheme case-insensitive, as RFC 6750 allows); nothing otherwise.
  [[nodiscard]] std::optional<token_role> authenticate(std::string_view authorization) const;
  // The first admin token, if any (command-line tools use it to talk to a node of the
  // same config).
  [[nodiscard]] std::string admin_token() const;
  [[nodiscard]] std::size_t size() const { return tokens_.size(); }

 private:
  struct entry {
    std::string token;
    token_role role = token_role::admin;
  };
  std::vector<entry> tokens_;
  std::vector<std::string> public_paths_;
};

// The tokens a server checks, replaceable while it serves: SIGHUP re-reads the file.
// Connections take current() per request (an atomic load); a reload that fails keeps
// the tokens in use.
class auth_source {
 public:
  auth_source(std::filesystem::path file, std::vector<std::string> public_paths,
              bearer_auth initial);
  // Reads `file` (bearer_auth::from_file).
  static core::expected<std::shared_ptr<auth_source>, std::string> open(
      std::filesystem::path file, std::vector<std::string> public_paths);

  [[nodiscard]] std::shared_ptr<const bearer_auth> current() const { return current_.load(); }

  // pekko.workflow.http.auth.certificate-roles: the role of a request without an
  // Authorization header on a mutual-TLS connection whose client certificate has a name
  // (its CN or a DNS subjectAltName, the first listed one in that order) that is a key
  // here, compared in lower case (set once at start, before serving).
  void set_certificate_roles(std::map<std::string, token_role, std::less<>> roles) {
    certificate_roles_ = std::move(roles);
  }
  [[nodiscard]] std::optional<token_role> certificate_role(std::string_view common_name) const {
    auto it = certificate_roles_.find(common_name);
    if (it == certificate_roles_.end()) return std::nullopt;
    return it->second;
  }
  // Re-reads the file; on success its tokens replace the old ones at once; else the
  // old ones stay and the error is returned.
  std::string reload();

 private:
  std::filesystem::path file_;
  std::vector<std::string> public_paths_;
  std::atomic<std::shared_ptr<const bearer_auth>> current_;
  std::map<std::string, token_role, std::less<>> certificate_roles_;
};

}  // namespace wfe::api
