#pragma once
// Bearer-token authentication of the REST API (pekko.workflow.http.auth): a request
// must carry "Authorization: Bearer <token>" with one of the tokens of a file, except on
// its public paths (the liveness and readiness probes). Checked by the connection before
// routing; a refusal is a 401 with WWW-Authenticate. Tokens are compared in constant time.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/expected.hpp"

namespace wfe::api {

class bearer_auth {
 public:
  static constexpr std::size_t min_token_bytes = 16;
  static constexpr std::size_t max_tokens = 1000;
  static constexpr std::uintmax_t max_file_bytes = 1 << 20;

  // Reads the tokens: one per line, surrounding blanks and a trailing CR dropped, empty
  // lines and lines starting with '#' skipped. Refuses a missing or unreadable file, one
  // without a token, a token shorter than min_token_bytes or with inner blanks, more
  // than max_tokens, a file over max_file_bytes; the error names the file and line.
  static core::expected<bearer_auth, std::string> from_file(const std::filesystem::path& file,
                                                            std::vector<std::string> public_paths);

  // True when `path` (the decoded path, no query) is one of the public paths.
  [[nodiscard]] bool is_public(std::string_view path) const;
  // True when `authorization` (the header's value) is "Bearer <a known token>" (the
  // scheme case-insensitive, as RFC 6750 allows).
  [[nodiscard]] bool accepts(std::string_view authorization) const;
  // The first token (command-line tools use it to talk to a node of the same config).
  [[nodiscard]] const std::string& first_token() const { return tokens_.front(); }
  [[nodiscard]] std::size_t size() const { return tokens_.size(); }

 private:
  std::vector<std::string> tokens_;
  std::vector<std::string> public_paths_;
};

}  // namespace wfe::api
