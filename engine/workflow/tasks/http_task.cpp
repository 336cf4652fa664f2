#include "engine/workflow/tasks/http_task.hpp"

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace wfe::workflow {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

// One request: resolve, connect, write, read; a single deadline timer bounds all of it.
class session : public std::enable_shared_from_this<session> {
 public:
  session(net::io_context& io, http_task_input in, std::uint64_t max_body,
          std::function<void(task_result)> done)
      : resolver_(io), socket_(io), timer_(io), in_(std::move(in)), done_(std::move(done)) {
    parser_.body_limit(max_body);
    if (in_.method == "HEAD") parser_.skip(true);
  }

  void start() {
    timer_.expires_after(in_.timeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled: finished in time
      self->timed_out_ = true;
      self->resolver_.cancel();
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
    resolver_.async_resolve(
        in_.host, in_.port,
        [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->fail(ec, "cannot resolve " + self->in_.host);
          self->connect(r);
        });
  }

 private:
  void connect(const tcp::resolver::results_type& endpoints) {
    net::async_connect(socket_, endpoints,
                       [self = shared_from_this()](boost::system::error_code ec, const auto&) {
                         if (ec) return self->fail(ec, "cannot connect to " + self->in_.url);
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
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    done_(std::move(r));
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
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
  explicit impl(std::uint64_t max) : max_body(max), work(net::make_work_guard(io)) {
    thread = std::thread([this] { io.run(); });
  }
  ~impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  std::uint64_t max_body;
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;
};

http_task_runner::http_task_runner(std::uint64_t max_response_bytes)
    : impl_(std::make_unique<impl>(max_response_bytes)) {}

http_task_runner::~http_task_runner() = default;

void http_task_runner::run(http_task_input in, std::function<void(task_result)> done) {
  net::post(impl_->io, [this, in = std::move(in), done = std::move(done)]() mutable {
    std::make_shared<session>(impl_->io, std::move(in), impl_->max_body, std::move(done))->start();
  });
}

}  // namespace wfe::workflow
