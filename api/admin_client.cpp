#include "api/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/http/server_tls_impl.hpp"
#include "engine/core/tls.hpp"

namespace wfe::api {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

template <class Stream>
admin_reply exchange(Stream& stream, const admin_call& call, const std::string& target,
                     const std::string& body) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, call.host);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  if (!call.bearer_token.empty())
    req.set(http::field::authorization, "Bearer " + call.bearer_token);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return admin_reply{res.result_int(), res.body()};
}

}  // namespace

std::string check_client_certificate(const std::string& cert_file, const std::string& key_file) {
  ssl::context ctx{ssl::context::tls_client};
  return core::use_certificate(ctx.native_handle(), cert_file, key_file,
                               "client certificate chain");
}

core::expected<admin_reply, std::string> post_json(const admin_call& call,
                                                   const std::string& target,
                                                   const std::string& body) {
  const auto scheme = call.pinned_cert_file.empty() ? "http://" : "https://";
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(call.timeout);
    stream.connect(resolver.resolve(call.host, std::to_string(call.port)));
    beast::error_code ec;
    if (call.pinned_cert_file.empty()) {
      auto reply = exchange(stream, call, target, body);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      return reply;
    }
    ssl::context ctx{ssl::context::tls_client};
    ctx.load_verify_file(call.pinned_cert_file);
    // The pinned certificate is trusted by itself, not only through its issuer.
    X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx.native_handle()), X509_V_FLAG_PARTIAL_CHAIN);
    ctx.set_verify_mode(ssl::verify_peer);
    if (!call.client_cert_file.empty()) {
      if (auto err = core::use_certificate(ctx.native_handle(), call.client_cert_file,
                                           call.client_key_file, "client certificate chain");
          !err.empty()) {
        return core::unexpected{std::move(err)};
      }
    }
    ssl::stream<beast::tcp_stream&> tls(stream, ctx);
    tls.handshake(ssl::stream_base::client);
    auto reply = exchange(tls, call, target, body);
    tls.shutdown(ec);  // the node may close first: not an error here
    return reply;
  } catch (const std::exception& e) {
    return core::unexpected{scheme + call.host + ":" + std::to_string(call.port) + target + ": " +
                            e.what()};
  }
}

}  // namespace wfe::api
