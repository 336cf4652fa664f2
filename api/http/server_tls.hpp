#pragma once
// HTTPS for the REST API (pekko.workflow.http.tls): the server's certificate chain and
// key, and optionally the CA its clients' certificates must come from. Loaded at start
// and re-read on SIGHUP (a renewed certificate without a restart). Opaque here so that
// only api/http's .cpp files see OpenSSL and Asio's SSL headers.

#include <atomic>
#include <memory>
#include <string>

#include "engine/core/expected.hpp"
#include "engine/core/tls.hpp"

namespace wfe::api {

struct tls_context;  // a boost::asio::ssl::context (TLS 1.2 and later): server_tls_impl.hpp

// The TLS context a server hands to each new connection, replaceable while it serves.
// A connection keeps the context it started with; a reload that fails keeps the one in
// use.
class server_tls {
 public:
  // Loads a PEM certificate chain and its private key, and, when `client_ca_file` is not
  // empty, requires every client to present a certificate issued by a CA of that PEM
  // file (mutual TLS: the handshake fails otherwise); an error naming the file that
  // could not be read or used (a key that does not match the certificate included).
  // `policy`: the versions and suites offered (pekko.workflow.http.tls.protocol and
  // enabled-algorithms).
  static core::expected<std::shared_ptr<server_tls>, std::string> load(
      std::string cert_file, std::string key_file, std::string client_ca_file,
      core::tls_policy policy = {});

  server_tls(std::string cert_file, std::string key_file, std::string client_ca_file,
             core::tls_policy policy, std::shared_ptr<tls_context> initial);

  [[nodiscard]] std::shared_ptr<tls_context> current() const { return current_.load(); }
  [[nodiscard]] const std::string& cert_file() const { return cert_file_; }
  // Re-reads the three files; on success new connections use them at once; else the
  // context in use stays and the error (as load()'s) is returned.
  std::string reload();

 private:
  std::string cert_file_;
  std::string key_file_;
  std::string client_ca_file_;
  core::tls_policy policy_;
  std::atomic<std::shared_ptr<tls_context>> current_;
};

}  // namespace wfe::api
