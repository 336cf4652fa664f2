#include "engine/workflow/tasks/http_task.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

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
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "engine/core/tls.hpp"

namespace wfe::workflow {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using tls_stream = ssl::stream<tcp::socket>;

namespace {

using clock = std::chrono::steady_clock;

template <class Stream>
void close_stream(Stream& s) {
  boost::system::error_code ignored;
  // TLS: no close_notify exchange (the response is complete, or the call has failed).
  s.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
  s.lowest_layer().close(ignored);
}

// Idle keep-alive connections by scheme/host/port, bounded per key and in all, each
// closed when its idle time is up. Used on the runner's io thread only.
class connection_pool {
 public:
  connection_pool(net::io_context& io, const task_settings& s)
      : sweep_(io), per_key_(s.http_pool_max_idle_per_host), max_(s.http_pool_max_idle),
        idle_(s.http_pool_idle_timeout) {}

  [[nodiscard]] bool enabled() const { return per_key_ > 0 && max_ > 0; }

  // The most recently used open connection of `key`, if any. One the server has closed
  // (EOF) or written to unasked (a TLS alert) is dropped, not handed out.
  template <class Stream>
  std::unique_ptr<Stream> take(const std::string& key) {
    auto& m = idle_of<Stream>();
    auto it = m.find(key);
    if (it == m.end()) return nullptr;
    const auto now = clock::now();
    std::unique_ptr<Stream> found;
    auto& list = it->second;
    while (!list.empty() && !found) {
      auto c = std::move(list.back());
      list.pop_back();
      --count_;
      if (c.expires > now && quiet(c.stream->lowest_layer())) {
        found = std::move(c.stream);
      } else {
        close_stream(*c.stream);
      }
    }
    if (list.empty()) m.erase(it);
    return found;
  }

  // Keeps `s` for reuse for at most `keep` (and the configured idle time), or closes it
  // when the pool is full.
  template <class Stream>
  void give(const std::string& key, std::unique_ptr<Stream> s, clock::duration keep) {
    keep = std::min<clock::duration>(keep, idle_);
    if (!enabled() || keep <= clock::duration::zero() || count_ >= max_) return close_stream(*s);
    auto& list = idle_of<Stream>()[key];
    if (list.size() >= per_key_) return close_stream(*s);
    list.push_back(idle<Stream>{std::move(s), clock::now() + keep});
    ++count_;
    arm();
  }

 private:
  template <class Stream>
  struct idle {
    std::unique_ptr<Stream> stream;
    clock::time_point expires;
  };
  template <class Stream>
  using by_key = std::unordered_map<std::string, std::vector<idle<Stream>>>;

  template <class Stream>
  by_key<Stream>& idle_of() {
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      return tls_;
    } else {
      return plain_;
    }
  }

  // Nothing to read and not closed: the state of a connection waiting for a request.
  static bool quiet(tcp::socket::lowest_layer_type& s) {
    char c = 0;
    const auto n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void arm() {
    if (armed_) return;
    armed_ = true;
    sweep_.expires_after(std::min<clock::duration>(idle_, std::chrono::seconds(1)));
    sweep_.async_wait([this](boost::system::error_code ec) {
      armed_ = false;
      if (ec) return;
      sweep(plain_);
      sweep(tls_);
      if (count_ > 0) arm();
    });
  }

  template <class Stream>
  void sweep(by_key<Stream>& m) {
    const auto now = clock::now();
    for (auto it = m.begin(); it != m.end();) {
      auto& list = it->second;
      std::erase_if(list, [&](idle<Stream>& c) {
        if (c.expires > now) return false;
        close_stream(*c.stream);
        --count_;
        return true;
      });
      it = list.empty() ? m.erase(it) : std::next(it);
    }
  }

  net::steady_timer sweep_;
  bool armed_ = false;
  std::size_t per_key_;
  std::size_t max_;
  clock::duration idle_;
  std::size_t count_ = 0;
  by_key<tcp::socket> plain_;
  by_key<tls_stream> tls_;
};

struct runner_parts {
  net::io_context& io;
  ssl::context& tls;
  connection_pool& pool;
  std::uint64_t max_body;
  std::uint32_t max_redirects;
  std::uint64_t max_failure_body;
};

// How long a server lets an idle connection live (Keep-Alive: timeout=N), less a second
// of margin; `fallback` when it does not say.
clock::duration server_keep_alive(std::string_view header, clock::duration fallback) {
  const auto at = header.find("timeout=");
  if (at == std::string_view::npos) return fallback;
  const auto* first = header.data() + at + 8;
  long seconds = 0;
  auto [end, ec] = std::from_chars(first, header.data() + header.size(), seconds);
  if (ec != std::errc{} || end == first) return fallback;
  // At most a day: a larger figure is as good as none (the configured idle time bounds
  // it anyway) and must not overflow the clock's nanoseconds.
  return std::chrono::seconds(std::min(seconds, 86'400L) - 1);
}

bool idempotent(std::string_view method) { return method != "POST" && method != "PATCH"; }

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// One task's request, across its redirects: a single deadline bounds every hop. Each
// hop is an exchange (below) on a pooled or new connection.
class call : public std::enable_shared_from_this<call> {
 public:
  call(runner_parts parts, http_task_input in, std::function<void(task_result)> done)
      : parts_(parts), timer_(parts.io), in_(std::move(in)), first_url_(in_.url),
        done_(std::move(done)) {}

  void start() {
    timer_.expires_after(in_.timeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled: finished in time
      self->timed_out_ = true;
      if (self->abort_) self->abort_();
    });
    hop(false);
  }

  [[nodiscard]] const http_task_input& input() const { return in_; }
  // Timed out or cancelled: the current hop's failure is not retried, its connection
  // not pooled.
  [[nodiscard]] bool given_up() const { return timed_out_ || cancelled_; }
  [[nodiscard]] runner_parts& parts() { return parts_; }
  void on_timeout(std::function<void()> abort) { abort_ = std::move(abort); }

  // The current hop found its connection stale (reused, closed by the server before it
  // answered): the same request once more, on a new connection.
  void again_on_new_connection() { hop(true); }

  // The answer is no longer wanted: the current hop's connection is closed (the server
  // sees the request go away) and `done` runs now.
  void cancel() {
    if (finished_) return;
    cancelled_ = true;
    if (abort_) abort_();
    finish(task_result::failure("http_cancelled",
                                "http: " + first_url_ + ": cancelled, its answer is not wanted"));
  }

  void fail(boost::system::error_code ec, const std::string& what) {
    if (timed_out_) {
      return finish(task_result::failure("http_timeout", "http: " + first_url_ +
                                                             " did not answer within " +
                                                             std::to_string(in_.timeout.count()) +
                                                             " ms"));
    }
    finish(task_result::failure("http_error", "http: " + what + ": " + ec.message()));
  }

  // A complete response of the current hop (its connection already released);
  // `headers` when the input asked for them.
  void response(unsigned status, std::string_view location, std::string_view body,
                std::optional<boost::json::object> headers) {
    if (!is_redirect(status) || location.empty() || !in_.follow_redirects ||
        parts_.max_redirects == 0) {
      return finish(http_result(status, body, std::move(headers), parts_.max_failure_body));
    }
    if (redirects_ >= parts_.max_redirects) {
      return finish(task_result::failure(
          "http_too_many_redirects",
          "http: " + first_url_ + " redirected more than " +
              std::to_string(parts_.max_redirects) +
              " times (pekko.workflow.tasks.http.max-redirects); the last to " +
              std::string(location.substr(0, 256))));
    }
    auto base = boost::urls::parse_uri(in_.url);
    auto ref = boost::urls::parse_uri_reference(location);
    boost::urls::url next;
    if (!base || !ref || !boost::urls::resolve(*base, *ref, next)) {
      return finish(task_result::failure(
          "http_error", "http: " + in_.url + " answered " + std::to_string(status) +
                            " with an invalid Location: " + std::string(location.substr(0, 256))));
    }
    next.remove_fragment();
    http_task_input hop_in = in_;
    if (auto bad = set_http_url(hop_in, next.buffer())) {
      return finish(task_result::failure("http_error", "http: " + in_.url + " redirected to " +
                                                           std::string(next.buffer().substr(0, 256)) +
                                                           ", which is not followed: " + *bad));
    }
    if (in_.tls && !hop_in.tls) {
      return finish(task_result::failure(
          "http_redirect_refused", "http: " + in_.url + " redirected from https:// to " +
                                       hop_in.url.substr(0, 256) + "; a downgrade is not followed"));
    }
    // 303: the result is fetched with GET. 301/302 of a POST: as every client does.
    const bool to_get = status == 303 ? hop_in.method != "HEAD"
                                      : (status == 301 || status == 302) && hop_in.method == "POST";
    if (to_get) {
      hop_in.method = "GET";
      hop_in.body.clear();
      hop_in.content_type.clear();
      std::erase_if(hop_in.headers, [](const auto& h) {
        return boost::beast::iequals(h.first, "Content-Type");
      });
    }
    // Credentials go to the origin they were written for only (as curl and Go do).
    if (hop_in.tls != in_.tls || hop_in.host != in_.host || hop_in.port != in_.port) {
      std::erase_if(hop_in.headers, [](const auto& h) {
        return boost::beast::iequals(h.first, "Authorization") ||
               boost::beast::iequals(h.first, "Cookie") ||
               boost::beast::iequals(h.first, "Proxy-Authorization");
      });
    }
    ++redirects_;
    in_ = std::move(hop_in);
    hop(false);
  }

  void finish(task_result r) {
    if (finished_) return;
    finished_ = true;
    abort_ = nullptr;
    timer_.cancel();
    done_(std::move(r));
  }

 private:
  void hop(bool new_connection);

  runner_parts parts_;
  net::steady_timer timer_;
  http_task_input in_;  // the current hop's
  std::string first_url_;
  std::function<void(task_result)> done_;
  std::function<void()> abort_;  // closes the current hop's connection
  std::uint32_t redirects_ = 0;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

// One request and its response on one connection: taken from the pool (or resolve,
// connect, TLS handshake), write, read; then the connection goes back to the pool when
// the response allows it. Stream: tcp::socket for http://, tls_stream for https://.
template <class Stream>
class exchange : public std::enable_shared_from_this<exchange<Stream>> {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

 public:
  exchange(std::shared_ptr<call> c, bool new_connection)
      : call_(std::move(c)), in_(call_->input()), resolver_(call_->parts().io),
        new_connection_(new_connection) {
    parser_.body_limit(call_->parts().max_body);
    if (in_.method == "HEAD") parser_.skip(true);
  }

  using std::enable_shared_from_this<exchange<Stream>>::shared_from_this;
  using std::enable_shared_from_this<exchange<Stream>>::weak_from_this;

  void start() {
    call_->on_timeout([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->abort();
    });
    key_ = (tls ? "https|" : "http|") + in_.host + "|" + in_.port;
    auto& parts = call_->parts();
    if (!new_connection_) stream_ = parts.pool.template take<Stream>(key_);
    if (stream_) {
      reused_ = true;
      return write();
    }
    if constexpr (tls) {
      stream_ = std::make_unique<Stream>(parts.io, parts.tls);
    } else {
      stream_ = std::make_unique<Stream>(parts.io);
    }
    resolver_.async_resolve(
        in_.host, in_.port,
        [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->failed(ec, "cannot resolve " + self->in_.host);
          self->connect(r);
        });
  }

 private:
  void abort() {
    resolver_.cancel();
    if (stream_) {
      boost::system::error_code ignored;
      stream_->lowest_layer().close(ignored);
    }
  }

  void connect(const tcp::resolver::results_type& endpoints) {
    net::async_connect(stream_->lowest_layer(), endpoints,
                       [self = shared_from_this()](boost::system::error_code ec, const auto&) {
                         if (ec) return self->failed(ec, "cannot connect to " + self->in_.url);
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
    if (!is_ip && SSL_set_tlsext_host_name(stream_->native_handle(), in_.host.c_str()) != 1) {
      close_stream(*stream_);
      return call_->finish(
          task_result::failure("http_error", "http: cannot set TLS SNI for " + in_.host));
    }
    stream_->set_verify_mode(ssl::verify_peer);
    stream_->set_verify_callback(ssl::host_name_verification(in_.host));
    stream_->async_handshake(ssl::stream_base::client,
                             [self = shared_from_this()](boost::system::error_code hec) {
                               if (hec) {
                                 return self->failed(hec, "TLS handshake with " + self->in_.url +
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
    if (!call_->parts().pool.enabled()) req_.set(http::field::connection, "close");
    if (!in_.content_type.empty()) req_.set(http::field::content_type, in_.content_type);
    for (const auto& [name, value] : in_.headers) {
      // Content-Type and User-Agent replace the defaults; others are added as given.
      const auto field = http::string_to_field(name);
      if (field == http::field::content_type || field == http::field::user_agent) {
        req_.set(field, value);
      } else {
        req_.insert(name, value);
      }
    }
    req_.body() = in_.body;
    if (!in_.body.empty() || in_.method == "POST" || in_.method == "PUT" || in_.method == "PATCH") {
      req_.prepare_payload();
    }
    http::async_write(*stream_, req_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->failed(ec, "cannot send to " + self->in_.url);
                        self->written_ = true;
                        self->read();
                      });
  }

  void read() {
    http::async_read(*stream_, buffer_, parser_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec == http::error::body_limit) {
                         close_stream(*self->stream_);
                         return self->call_->finish(task_result::failure(
                             "http_response_too_large",
                             "http: response body of " + self->in_.url + " exceeds the limit"));
                       }
                       if (ec) return self->failed(ec, "no response from " + self->in_.url);
                       self->answered();
                     });
  }

  // Nothing beyond the response was received: the connection is at a message boundary.
  [[nodiscard]] bool drained() {
    if (buffer_.size() != 0) return false;
    if constexpr (tls) {
      return SSL_pending(stream_->native_handle()) == 0;
    } else {
      return true;
    }
  }

  void answered() {
    auto& res = parser_.get();
    auto& pool = call_->parts().pool;
    if (parser_.keep_alive() && !call_->given_up() && pool.enabled() && drained()) {
      const auto keep = server_keep_alive(res[http::field::keep_alive], clock::duration::max());
      pool.give(key_, std::move(stream_), keep);
    } else {
      close_stream(*stream_);
    }
    std::optional<boost::json::object> headers;
    if (in_.response_headers) headers = headers_of(res);
    call_->response(res.result_int(), res[http::field::location], res.body(),
                    std::move(headers));
  }

  // The response's headers by lower-case name; a repeated one's values joined with ", "
  // (RFC 9110 5.3). Bounded by the parser's header limit (8 KiB).
  static boost::json::object headers_of(const http::response<http::string_body>& res) {
    boost::json::object out;
    for (const auto& f : res) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      const auto value = f.value();
      if (auto* v = out.if_contains(name)) {
        auto& s = v->as_string();
        s.append(", ");
        s.append(std::string_view(value.data(), value.size()));
      } else {
        out.emplace(name, boost::json::string(value.data(), value.size()));
      }
    }
    return out;
  }

  // A reused connection that fails before any of the response arrived was most likely
  // closed by the server while idle: the request is sent again on a new connection if it
  // cannot have been processed (not written) or may be repeated (not POST/PATCH).
  void failed(boost::system::error_code ec, const std::string& what) {
    close_stream(*stream_);
    if (!call_->given_up() && reused_ && !parser_.got_some() &&
        (!written_ || idempotent(in_.method))) {
      return call_->again_on_new_connection();
    }
    call_->fail(ec, what);
  }

  std::shared_ptr<call> call_;
  const http_task_input& in_;  // the call's current hop; the call outlives this exchange
  tcp::resolver resolver_;
  std::unique_ptr<Stream> stream_;
  std::string key_;
  boost::beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response_parser<http::string_body> parser_;
  bool new_connection_ = false;
  bool reused_ = false;
  bool written_ = false;
};

void call::hop(bool new_connection) {
  if (in_.tls) {
    std::make_shared<exchange<tls_stream>>(shared_from_this(), new_connection)->start();
  } else {
    std::make_shared<exchange<tcp::socket>>(shared_from_this(), new_connection)->start();
  }
}

}  // namespace

struct http_task_runner::impl {
  explicit impl(const task_settings& s)
      : max_body(s.http_max_response_bytes),
        max_redirects(s.http_max_redirects),
        max_failure_body(s.http_max_failure_body_bytes),
        work(net::make_work_guard(io)), pool(io, s) {
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls.set_default_verify_paths();
    boost::system::error_code ec;
    if (!s.http_ca_file.empty()) {
      tls.load_verify_file(s.http_ca_file, ec);
      if (ec) {
        throw std::runtime_error("cannot load the CA certificates of " + s.http_ca_file + ": " +
                                 ec.message());
      }
    }
    if (!s.http_client_cert_file.empty()) {
      if (auto err = core::use_certificate(tls.native_handle(), s.http_client_cert_file,
                                           s.http_client_key_file, "client certificate");
          !err.empty()) {
        throw std::runtime_error(err);
      }
    }
    thread = std::thread([this] { io.run(); });
  }
  ~impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  runner_parts parts() { return {io, tls, pool, max_body, max_redirects, max_failure_body}; }

  std::uint64_t max_body;
  std::uint32_t max_redirects;
  std::uint64_t max_failure_body;
  ssl::context tls{ssl::context::tls_client};
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work;
  connection_pool pool;  // after io: its connections close before io goes
  std::thread thread;
};

http_task_runner::http_task_runner(const task_settings& s) : impl_(std::make_unique<impl>(s)) {}

http_task_runner::~http_task_runner() = default;

std::function<void()> http_task_runner::run(http_task_input in,
                                            std::function<void(task_result)> done) {
  // The call is made and cancelled on the io thread; `made` carries it from one to the
  // other (posts run in order, so a cancel finds it set).
  auto made = std::make_shared<std::weak_ptr<call>>();
  net::post(impl_->io, [this, made, in = std::move(in), done = std::move(done)]() mutable {
    auto c = std::make_shared<call>(impl_->parts(), std::move(in), std::move(done));
    *made = c;
    c->start();
  });
  return [io = &impl_->io, made] {
    net::post(*io, [made] {
      if (auto c = made->lock()) c->cancel();
    });
  };
}

}  // namespace wfe::workflow
