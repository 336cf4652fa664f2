#include "api/http/http_server.hpp"

#include <future>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "api/http/http_connection.hpp"

namespace wfe::api {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using detail::connection;
using detail::server_shared;

// Pause before accepting again after e.g. EMFILE, so a full fd table does not
// turn the accept loop into a busy loop.
constexpr std::chrono::milliseconds accept_retry_delay{50};
// How often the io threads' lag is sampled (http_io_loop_lag_seconds).
constexpr std::chrono::milliseconds loop_lag_interval{100};

class beast_server final : public http_server {
 public:
  explicit beast_server(std::shared_ptr<server_shared> shared)
      : shared_(std::move(shared)),
        ioc_(static_cast<int>(std::max<std::size_t>(1, shared_->cfg.io_threads))),
        work_(net::make_work_guard(ioc_)),
        acceptor_(serial_executor()),
        accept_retry_(acceptor_.get_executor()),
        lag_timer_(serial_executor()) {}

  ~beast_server() override {
    if (!stopped_) stop(std::chrono::steady_clock::now());
  }
  beast_server(const beast_server&) = delete;
  beast_server& operator=(const beast_server&) = delete;

  // Binds and listens; the error text names the address.
  std::optional<std::string> listen();
  void run();

  [[nodiscard]] std::uint16_t bound_port() const override { return port_; }
  void stop_accepting() override;
  bool stop(std::chrono::steady_clock::time_point deadline) override;
  void post(std::function<void()> fn) override { net::post(ioc_, std::move(fn)); }
  void after_stop(std::function<void()> fn) override { after_stop_ = std::move(fn); }

 private:
  // Where one connection's (or the acceptor's) handlers run one at a time: a strand
  // when several io threads share the context; with one io thread (the default) the
  // context itself, as a strand would only add a queue and a lock per handler.
  net::any_io_executor serial_executor() {
    if (shared_->cfg.io_threads > 1) return net::make_strand(ioc_);
    return ioc_.get_executor();
  }
  void do_accept();
  void sample_lag();
  void on_accept(boost::beast::error_code ec, tcp::socket socket);
  void close_acceptor();
  [[nodiscard]] std::vector<std::shared_ptr<connection>> live_connections();

  std::shared_ptr<server_shared> shared_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;  // on serial_executor()
  net::steady_timer accept_retry_;
  net::steady_timer lag_timer_;  // on its own serial executor
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::mutex stop_mu_;  // serializes stop() calls (explicit one, then the destructor's)
  bool stopped_ = false;
  bool stop_result_ = true;
  std::function<void()> after_stop_;
};

std::optional<std::string> beast_server::listen() {
  const auto& cfg = shared_->cfg;
  const auto where = cfg.interface + ":" + std::to_string(cfg.port);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(cfg.interface, ec);
  if (ec) return "cannot bind " + where + ": invalid interface address";
  const tcp::endpoint endpoint(address, cfg.port);
  // Each step can fail; the first failure is reported with the address.
  if (acceptor_.open(endpoint.protocol(), ec); ec)
    return "cannot bind " + where + ": " + ec.message();
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return "cannot bind " + where + ": " + ec.message();
  }
  if (acceptor_.bind(endpoint, ec); ec) return "cannot bind " + where + ": " + ec.message();
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) {
    return "cannot listen on " + where + ": " + ec.message();
  }
  port_ = acceptor_.local_endpoint(ec).port();
  return std::nullopt;
}

void beast_server::run() {
  net::post(acceptor_.get_executor(), [this] { do_accept(); });
  net::post(lag_timer_.get_executor(), [this] { sample_lag(); });
  const auto n = std::max<std::size_t>(1, shared_->cfg.io_threads);
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void beast_server::sample_lag() {
  const auto due = std::chrono::steady_clock::now() + loop_lag_interval;
  lag_timer_.expires_at(due);
  lag_timer_.async_wait([this, due](boost::beast::error_code ec) {
    if (ec) return;  // cancelled: the server stops
    const auto late = std::chrono::steady_clock::now() - due;
    shared_->metrics.loop_lag(std::chrono::duration<double>(late).count());
    sample_lag();
  });
}

void beast_server::do_accept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(serial_executor(),
                         boost::beast::bind_front_handler(&beast_server::on_accept, this));
}

void beast_server::on_accept(boost::beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    accept_retry_.expires_after(accept_retry_delay);
    accept_retry_.async_wait([this](boost::beast::error_code e) {
      if (!e) do_accept();
    });
    return;
  }
  auto conn = std::make_shared<connection>(std::move(socket), shared_);
  // The connection runs on the socket's serial executor; start it there.
  if (shared_->active.fetch_add(1) >= shared_->cfg.limits.max_connections) {
    shared_->active.fetch_sub(1);
    net::post(conn->executor(), [conn] { conn->reject(); });
  } else {
    net::post(conn->executor(), [conn] { conn->start(); });
  }
  do_accept();
}

void beast_server::close_acceptor() {
  boost::beast::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
}

std::vector<std::shared_ptr<connection>> beast_server::live_connections() {
  std::vector<std::shared_ptr<connection>> out;
  const std::lock_guard lock(shared_->mu);
  out.reserve(shared_->connections.size());
  for (const auto& [ptr, weak] : shared_->connections) {
    if (auto c = weak.lock()) out.push_back(std::move(c));
  }
  return out;
}

void beast_server::stop_accepting() {
  if (shared_->stopping.exchange(true)) return;
  // The acceptor belongs to its serial executor. From outside the io threads we wait for
  // the close so a connect right after this call is refused; from inside one (a
  // handler) waiting could deadlock a single io thread, so we only post.
  if (threads_.empty()) {
    close_acceptor();
  } else if (ioc_.get_executor().running_in_this_thread()) {
    net::post(acceptor_.get_executor(), [this] { close_acceptor(); });
  } else {
    std::promise<void> closed;
    net::post(acceptor_.get_executor(), [this, &closed] {
      close_acceptor();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  for (auto& c : live_connections()) net::post(c->executor(), [c] { c->notify_stopping(); });
}

bool beast_server::stop(std::chrono::steady_clock::time_point deadline) {
  const std::lock_guard guard(stop_mu_);
  if (stopped_) return stop_result_;
  stop_accepting();
  bool drained = false;
  {
    std::unique_lock lock(shared_->mu);
    drained = shared_->cv.wait_until(lock, deadline, [&] { return shared_->in_flight == 0; });
  }
  {
    // From now on late responders drop their answers instead of posting.
    const std::unique_lock gate(shared_->gate->mu);
    shared_->gate->open = false;
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  // No io thread runs any more, so touching the sockets from here is safe.
  close_acceptor();
  for (auto& c : live_connections()) c->force_close();
  if (after_stop_) after_stop_();
  stopped_ = true;
  stop_result_ = drained;
  return drained;
}

}  // namespace

core::expected<std::unique_ptr<http_server>, std::string> http_server::start(
    http_server_config cfg, router routes, prometheus::Registry& metrics) {
  std::shared_ptr<server_shared> shared;
  try {
    shared = std::make_shared<server_shared>(std::move(cfg), std::move(routes), metrics);
  } catch (const std::exception& e) {
    return core::unexpected<std::string>{std::string("cannot register http metrics: ") + e.what()};
  }
  auto server = std::make_unique<beast_server>(std::move(shared));
  if (auto err = server->listen()) return core::unexpected<std::string>{std::move(*err)};
  server->run();
  return std::unique_ptr<http_server>(std::move(server));
}

}  // namespace wfe::api
