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

struct admin_call {
  std::string host;
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout{20'000};
  std::string bearer_token;  // sent as "Authorization: Bearer <token>" when not empty
  // Not empty: HTTPS, trusting exactly the certificate(s) of this PEM file (the node's
  // own pekko.workflow.http.tls.cert-file: pinned, no host name check).
  std::string pinned_cert_file;
  // Not empty (both): the client certificate chain and key presented to a node that asks
  // for one (mutual TLS).
  std::string client_cert_file;
  std::string client_key_file;
};

// Whether a client certificate chain and its key (PEM) can be used: empty, or an error
// naming the file that cannot be read or does not match.
std::string check_client_certificate(const std::string& cert_file, const std::string& key_file);

// POSTs `body` (JSON) to the node's `target`; an error text when the node cannot be
// reached or does not answer within the call's timeout.
core::expected<admin_reply, std::string> post_json(const admin_call& call,
                                                   const std::string& target,
                                                   const std::string& body);

}  // namespace wfe::api
