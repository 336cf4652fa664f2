#include "api/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace wfe::api {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

core::expected<admin_reply, std::string> post_json(const std::string& host, std::uint16_t port,
                                                   const std::string& target,
                                                   const std::string& body,
                                                   std::chrono::milliseconds timeout,
                                                   const std::string& bearer_token) {
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(host, std::to_string(port)));
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::connection, "close");
    if (!bearer_token.empty()) req.set(http::field::authorization, "Bearer " + bearer_token);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return admin_reply{res.result_int(), res.body()};
  } catch (const std::exception& e) {
    return core::unexpected{"http://" + host + ":" + std::to_string(port) + target + ": " +
                            e.what()};
  }
}

}  // namespace wfe::api
