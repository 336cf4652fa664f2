#include "engine/workflow/tasks/http_task.hpp"

#include <stdexcept>
#include <thread>
#include <type_traits>

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace wfe::workflow {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using tls_stream = ssl::stream<tcp::socket>;

namespace {

// One request: resolve, connect, (TLS handshake,) write, read; a single deadline timer
// bounds all of it. Stream: tcp::socket for http://, tls_stream for https://.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

 public:
  session(net::io_context& io, ssl::context& tls_ctx, http_task_input in, std::uint64_t max_body,
          std::function<void(task_result)> done)
      : resolver_(io), socket_(make_stream(io, tls_ctx)), timer_(io), in_(std::move(in)),
        done_(std::move(done)) {
    parser_.body_limit(max_body);
    if (in_.method == "HEAD") parser_.skip(true);
  }

  using std::enable_shared_from_this<session<Stream>>::shared_from_this;

  void start() {
    timer_.expires_after(in_.timeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled: finished in time
      self->timed_out_ = true;
      self->resolver_.cancel();
      boost::system::error_code ignored;
      self->socket_.lowest_layer().close(ignored);
    });
    resolver_.async_resolve(
        in_.host, in_.port,
        [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->fail(ec, "cannot resolve " + self->in_.host);
          self->connect(r);
        });
  }

 private:
  static Stream make_stream(net::io_context& io, ssl::context& tls_ctx) {
    if constexpr (tls) {
      return Stream(io, tls_ctx);
    } else {
      return Stream(io);
    }
  }

  void connect(const tcp::resolver::results_type& endpoints) {
    net::async_connect(socket_.lowest_layer(), endpoints,
                       [self = shared_from_this()](boost::system::error_code ec, const auto&) {
                         if (ec) return self->fail(ec, "cannot connect to " + self->in_.url);
                         if constexpr (tls) {
                           self->handshake();
                         } else {
                           self->write();
                         }
                       });
  }

  // TLS: the server's certificate must chain to a trusted CA (the system's, plus
  // pekko.workflow.tasks.http.ca-file) and name the URL's host (RFC 2818: DNS name or
  // IP address); SNI carries the host name.
  void handshake() {
    boost::system::error_code ec;
    net::ip::make_address(in_.host, ec);
    const bool is_ip = !ec;
    if (!is_ip && SSL_set_tlsext_host_name(socket_.native_handle(), in_.host.c_str()) != 1) {
      return finish(task_result::failure("http_error", "http: cannot set TLS SNI for " + in_.host));
    }
    socket_.set_verify_mode(ssl::verify_peer);
    socket_.set_verify_callback(ssl::host_name_verification(in_.host));
    socket_.async_handshake(ssl::stream_base::client,
                            [self = shared_from_this()](boost::system::error_code hec) {
                              if (hec) {
                                return self->fail(hec, "TLS handshake with " + self->in_.url +
                                                           " failed");
                              }
                              self->write();
                            });
  }

  void write() {
    req_.method_string(in_.method);
    req_.target(in_.target);
    req_.version(11);
    req_.set(http::field::host, in_.host + ":" + in_.port);
    req_.set(http::field::user_agent, "workflow-engine");
    req_.set(http::field::connection, "close");
    if (!in_.content_type.empty()) req_.set(http::field::content_type, in_.content_type);
    req_.body() = in_.body;
    if (!in_.body.empty() || in_.method == "POST" || in_.method == "PUT" || in_.method == "PATCH") {
      req_.prepare_payload();
    }
    http::async_write(socket_, req_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->fail(ec, "cannot send to " + self->in_.url);
                        self->read();
                      });
  }

  void read() {
    http::async_read(socket_, buffer_, parser_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec == http::error::body_limit) {
                         return self->finish(task_result::failure(
                             "http_response_too_large",
                             "http: response body of " + self->in_.url + " exceeds the limit"));
                       }
                       if (ec) return self->fail(ec, "no response from " + self->in_.url);
                       const auto& res = self->parser_.get();
                       self->finish(http_result(res.result_int(), res.body()));
                     });
  }

  void fail(boost::system::error_code ec, const std::string& what) {
    if (timed_out_) {
      return finish(
          task_result::failure("http_timeout", "http: " + in_.url + " did not answer within " +
                                                   std::to_string(in_.timeout.count()) + " ms"));
    }
    finish(task_result::failure("http_error", "http: " + what + ": " + ec.message()));
  }

  void finish(task_result r) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    // TLS: no close_notify exchange (the response is complete, Connection: close).
    socket_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    socket_.lowest_layer().close(ignored);
    done_(std::move(r));
  }

  tcp::resolver resolver_;
  Stream socket_;
  net::steady_timer timer_;
  http_task_input in_;
  std::function<void(task_result)> done_;
  boost::beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response_parser<http::string_body> parser_;
  bool timed_out_ = false;
  bool finished_ = false;
};

}  // namespace

struct http_task_runner::impl {
  impl(std::uint64_t max, const std::string& ca_file)
      : max_body(max), work(net::make_work_guard(io)) {
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls.set_default_verify_paths();
    if (!ca_file.empty()) {
      boost::system::error_code ec;
      tls.load_verify_file(ca_file, ec);
      if (ec) {
        throw std::runtime_error("cannot load the CA certificates of " + ca_file + ": " +
                                 ec.message());
      }
    }
    thread = std::thread([this] { io.run(); });
  }
  ~impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  std::uint64_t max_body;
  ssl::context tls{ssl::context::tls_client};
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;
};

http_task_runner::http_task_runner(std::uint64_t max_response_bytes, const std::string& ca_file)
    : impl_(std::make_unique<impl>(max_response_bytes, ca_file)) {}

http_task_runner::~http_task_runner() = default;

void http_task_runner::run(http_task_input in, std::function<void(task_result)> done) {
  net::post(impl_->io, [this, in = std::move(in), done = std::move(done)]() mutable {
    if (in.tls) {
      std::make_shared<session<tls_stream>>(impl_->io, impl_->tls, std::move(in), impl_->max_body,
                                            std::move(done))
          ->start();
    } else {
      std::make_shared<session<tcp::socket>>(impl_->io, impl_->tls, std::move(in),
                                             impl_->max_body, std::move(done))
          ->start();
    }
  });
}

}  // namespace wfe::workflow
