#include "api/http/server_tls.hpp"

#include <boost/system/system_error.hpp>

#include "api/http/server_tls_impl.hpp"
#include "engine/core/tls.hpp"

namespace wfe::api {

namespace {

core::expected<std::shared_ptr<tls_context>, std::string> make_context(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file,
    const core::tls_policy& policy) {
  namespace ssl = boost::asio::ssl;
  auto tls = std::make_shared<tls_context>();
  auto& ctx = tls->context;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  if (auto err = policy.apply(ctx.native_handle()); !err.empty()) {
    return core::unexpected{std::move(err)};
  }
  if (auto err =
          core::use_certificate(ctx.native_handle(), cert_file, key_file, "certificate chain");
      !err.empty()) {
    return core::unexpected{std::move(err)};
  }
  if (!client_ca_file.empty()) {
    boost::system::error_code ec;
    ctx.load_verify_file(client_ca_file, ec);
    if (ec) {
      return core::unexpected{"cannot use the client CA file " + client_ca_file + ": " +
                              ec.message()};
    }
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return tls;
}

}  // namespace

core::expected<std::shared_ptr<server_tls>, std::string> server_tls::load(
    std::string cert_file, std::string key_file, std::string client_ca_file,
    core::tls_policy policy) {
  auto ctx = make_context(cert_file, key_file, client_ca_file, policy);
  if (!ctx) return core::unexpected{std::move(ctx).error()};
  return std::make_shared<server_tls>(std::move(cert_file), std::move(key_file),
                                      std::move(client_ca_file), std::move(policy),
                                      std::move(ctx).value());
}

server_tls::server_tls(std::string cert_file, std::string key_file, std::string client_ca_file,
                       core::tls_policy policy, std::shared_ptr<tls_context> initial)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      client_ca_file_(std::move(client_ca_file)),
      policy_(std::move(policy)),
      current_(std::move(initial)) {}

std::string server_tls::reload() {
  auto ctx = make_context(cert_file_, key_file_, client_ca_file_, policy_);
  if (!ctx) return std::move(ctx).error();
  current_.store(std::move(ctx).value());
  return {};
}

}  // namespace wfe::api
