#pragma once
// A small blocking HTTP client for the command-line tools (`workflow-engine backup`
// asks a running node to take the backup). Never used inside the node.

#include <chrono>
#include <cstdint>
#include <string>

#include "engine/core/expected.hpp"

namespace wfe::api {

struct admin_reply {
  unsigned status = 0;
  std::string body;
};

// POSTs `body` (JSON) to http://host:port/target, with "Authorization: Bearer <token>"
// when `bearer_token` is not empty; an error text when the node cannot be reached or
// does not answer within `timeout`.
core::expected<admin_reply, std::string> post_json(const std::string& host, std::uint16_t port,
                                                   const std::string& target,
                                                   const std::string& body,
                                                   std::chrono::milliseconds timeout,
                                                   const std::string& bearer_token = {});

}  // namespace wfe::api
