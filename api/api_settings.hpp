#pragma once
// Validated settings of the node's two HTTP servers: the REST API and /metrics.

#include "api/http/http_server.hpp"

namespace wfe::core {
class settings_reader;
}

namespace wfe::api {

struct api_settings {
  http_server_config http;     // pekko.workflow.http.*
  http_server_config metrics;  // pekko.workflow.metrics.* (limits shared with http)
  // pekko.workflow.http.tls.cert-file (empty: HTTP): command-line tools trust exactly
  // this certificate when they talk to the node.
  std::string tls_cert_file;
  // pekko.workflow.http.tls.admin-cert-file / admin-key-file (empty: none): the client
  // certificate command-line tools present to the node (mutual TLS).
  std::string admin_cert_file;
  std::string admin_key_file;

  static api_settings read(core::settings_reader& r);
};

}  // namespace wfe::api
