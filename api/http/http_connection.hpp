#pragma once
// One accepted HTTP/1.1 connection and the state every connection of a server
// shares. Internal to api/http: this is where Beast lives, so only .cpp files of
// this directory include it.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http/http_server.hpp"
#include "api/http/server_metrics.hpp"
#include "api/http/server_tls.hpp"

namespace wfe::api::detail {

class connection;

// Responders dispatch completions through this gate (run at once on the connection's own
// thread, else posted to it). stop() closes it before the io_context can be destroyed, so
// a responder called late by an actor never touches a dead executor.
struct post_gate {
  std::shared_mutex mu;
  bool open = true;
};

struct server_shared {
  server_shared(http_server_config c, router r, prometheus::Registry& registry)
      : cfg(std::move(c)), routes(std::move(r)), metrics(registry, cfg.name) {}

  http_server_config cfg;
  router routes;
  server_metrics metrics;
  std::shared_ptr<post_gate> gate = std::make_shared<post_gate>();
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> active{0};  // served (not rejected) connections

  // Guards in_flight and connections; cv signals in_flight reaching zero.
  std::mutex mu;
  std::condition_variable cv;
  std::size_t in_flight = 0;  // requests from complete headers to response written
  std::unordered_map<const connection*, std::weak_ptr<connection>> connections;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<server_shared> shared);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Registers with the server and starts reading requests.
  void start();
  // Over max_connections: answers 503 without reading a request, then closes.
  void reject();
  // On the strand, after stop_accepting(): an idle connection closes now.
  void notify_stopping();
  // Only once no io thread runs any more (stop() joined them).
  void force_close();

  [[nodiscard]] boost::asio::any_io_executor executor() { return stream_.get_executor(); }
  // On the strand: the handler's answer for request `id`; stale ids are ignored.
  void complete(std::uint64_t id, http_response r);

 private:
  enum class phase { idle, reading, handling, writing, closing, closed };
  using parser_t = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void wait_for_request();
  void on_first_byte(boost::beast::error_code ec, std::size_t n);
  void read_header();
  void on_header(boost::beast::error_code ec, std::size_t);
  [[nodiscard]] std::optional<http_response> refuse_access() const;
  void send_continue();
  void read_body();
  void on_body(boost::beast::error_code ec, std::size_t);
  bool parse_buffered(boost::beast::error_code& ec);
  void on_read_error(boost::beast::error_code ec);
  [[nodiscard]] bool target_too_long_at_header_limit() const;
  void dispatch();
  void invoke(const http_handler& handler, http_request&& req);
  [[nodiscard]] responder make_responder(std::uint64_t id);
  void arm_request_timer();
  void on_request_timer(boost::beast::error_code ec);
  void send(http_response r, bool close);
  void on_write(bool keep_alive, boost::beast::error_code ec);
  void linger_close();
  void drain();
  void close_now();
  void begin_in_flight();
  void end_in_flight();

  // Runs `f` on the stream requests are read from: TLS over stream_, or stream_ itself.
  template <class F>
  void io(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(stream_);
    }
  }

  std::shared_ptr<server_shared> shared_;
  boost::beast::tcp_stream stream_;  // its deadlines bound every operation, TLS included
  std::shared_ptr<tls_context> tls_context_;  // outlives tls_ (SIGHUP may replace the server's)
  std::optional<boost::asio::ssl::stream<boost::beast::tcp_stream&>> tls_;  // HTTPS
  // The client certificate's names (CN, then DNS subjectAltNames, lower case) after a
  // mutual-TLS handshake (pekko.workflow.http.auth.certificate-roles).
  std::vector<std::string> peer_names_;
  boost::beast::flat_buffer buffer_;
  std::optional<parser_t> parser_;
  std::string out_;  // the response being written (serialize_response)
  boost::beast::http::response<boost::beast::http::empty_body> continue_res_;
  boost::asio::steady_timer request_timer_;  // armed at most once: arm_request_timer()
  std::chrono::steady_clock::time_point request_deadline_{};  // of the request being handled
  bool request_timer_armed_ = false;
  std::array<char, 4096> drain_buf_{};
  std::size_t drained_ = 0;

  phase phase_ = phase::idle;
  bool first_request_ = true;
  bool registered_ = false;
  bool in_flight_ = false;
  bool record_metrics_ = true;
  bool awaiting_handler_ = false;
  std::uint64_t request_id_ = 0;
  // Describes the current request for the response and its metrics.
  std::string method_ = "other";
  std::string_view route_ = "unmatched";  // the router's pattern (it outlives connections)
  unsigned version_ = 11;
  bool request_keep_alive_ = false;
  bool head_request_ = false;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace wfe::api::detail
