#include "api/http/server_tls.hpp"

#include <boost/system/system_error.hpp>

#include "api/http/server_tls_impl.hpp"

namespace wfe::api {

core::expected<std::shared_ptr<server_tls>, std::string> load_server_tls(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  namespace ssl = boost::asio::ssl;
  auto tls = std::make_shared<server_tls>();
  auto& ctx = tls->context;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec)
    return core::unexpected{"cannot use the certificate chain " + cert_file + ": " + ec.message()};
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return core::unexpected{"cannot use the private key " + key_file + " (for " + cert_file +
                            "): " + ec.message()};
  }
  if (!client_ca_file.empty()) {
    ctx.load_verify_file(client_ca_file, ec);
    if (ec) {
      return core::unexpected{"cannot use the client CA file " + client_ca_file + ": " +
                              ec.message()};
    }
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return tls;
}

}  // namespace wfe::api
