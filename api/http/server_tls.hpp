#pragma once
// HTTPS for the REST API (pekko.workflow.http.tls): the server's certificate chain and
// key, loaded once at start. Opaque here so that only api/http's .cpp files see OpenSSL
// and Asio's SSL headers.

#include <memory>
#include <string>

#include "engine/core/expected.hpp"

namespace wfe::api {

struct server_tls;  // holds the boost::asio::ssl::context (TLS 1.2 and later)

// Loads a PEM certificate chain and its private key, and, when `client_ca_file` is not
// empty, requires every client to present a certificate issued by a CA of that PEM file
// (mutual TLS: the handshake fails otherwise); an error naming the file that could not
// be read or used (a key that does not match the certificate included).
core::expected<std::shared_ptr<server_tls>, std::string> load_server_tls(
    const std::string& cert_file, const std::string& key_file,
    const std::string& client_ca_file = {});

}  // namespace wfe::api
