#include "api/http/http_connection.hpp"

#include <algorithm>
#include <cctype>
#include <exception>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/write.hpp>

#include "api/http/bearer_auth.hpp"
#include "api/http/server_tls_impl.hpp"
#include "engine/core/tls.hpp"

namespace wfe::api::detail {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

// Writes the response as Beast's serializer would for a string body (status line;
// Server, Content-Type, the handler's headers, Connection, Content-Length in Beast's
// order) into one buffer: Beast's serializer cost ~28k instructions per small response.
// A response to HEAD announces the length but carries no body, or the client would take
// the body for the next response; 1xx/204/304 never carry one (Beast would throw).
void serialize_response(std::string& out, unsigned version, http_response r, bool keep_alive,
                        bool head) {
  const auto status = static_cast<unsigned>(r.status);
  const bool bodyless = status < 200 || status == 204 || status == 304;
  if (bodyless) r.body.clear();
  const auto field = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ").append(std::to_string(status));
  out.append(" ").append(http::obsolete_reason(static_cast<http::status>(status))).append("\r\n");
  field("Server", "workflow-engine");
  field("Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) field(name, value);
  if (version == 11 && !keep_alive) field("Connection", "close");
  if (version == 10 && keep_alive) field("Connection", "keep-alive");
  field("Content-Length", std::to_string(r.body.size()));
  if (version == 10 && !keep_alive) field("Connection", "close");
  out.append("\r\n");
  if (!head) out.append(r.body);
}

// After the last response we read and discard what the client still sends, at
// most this long and this much: closing a socket with unread input makes the
// kernel send RST, which can destroy the response (e.g. a 431) before the
// client has read it.
constexpr std::chrono::milliseconds linger_timeout{1000};
constexpr std::size_t linger_max_bytes = 1 << 20;

bool is_http_protocol_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

// Header names are ASCII tokens: std::tolower (a libc call per byte) is not needed.
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

}  // namespace

connection::connection(net::ip::tcp::socket&& socket, std::shared_ptr<server_shared> shared)
    : shared_(std::move(shared)),
      stream_(std::move(socket)),
      request_timer_(stream_.get_executor()) {
  if (shared_->cfg.tls) {  // the context of the moment, kept while the connection lives
    tls_context_ = shared_->cfg.tls->current();
    tls_.emplace(stream_, tls_context_->context);
  }
}

connection::~connection() {
  end_in_flight();
  if (!registered_) return;
  shared_->active.fetch_sub(1);
  shared_->metrics.connection_closed();
  const std::lock_guard lock(shared_->mu);
  shared_->connections.erase(this);
}

namespace {

// The names (CN, DNS subjectAltNames) of the client certificate a mutual-TLS handshake
// verified; empty without one.
std::vector<std::string> peer_names(net::ssl::stream<beast::tcp_stream&>& tls) {
  X509* cert = SSL_get0_peer_certificate(tls.native_handle());
  if (cert == nullptr) return {};
  return core::certificate_names(cert);
}

}  // namespace

void connection::start() {
  registered_ = true;
  shared_->metrics.connection_opened();
  {
    const std::lock_guard lock(shared_->mu);
    shared_->connections.emplace(this, weak_from_this());
  }
  if (!tls_) return wait_for_request();
  // The handshake shares the header-read deadline of a new connection.
  stream_.expires_after(shared_->cfg.limits.header_read_timeout);
  tls_->async_handshake(net::ssl::stream_base::server,
                        [self = shared_from_this()](beast::error_code ec) {
                          if (ec || self->phase_ == phase::closed) return self->close_now();
                          self->peer_names_ = peer_names(*self->tls_);
                          self->wait_for_request();
                        });
}

void connection::reject() {
  shared_->metrics.connection_rejected();
  record_metrics_ = false;       // counted as a rejected connection, not as a request
  if (tls_) return close_now();  // no handshake for a connection over the limit
  send(http_response::error(503, "too_many_connections",
                            "the server has reached its connection limit"),
       true);
}

void connection::notify_stopping() {
  // Only a connection waiting for the first byte of its next request is idle; one
  // that is mid-request finishes and answers with Connection: close.
  if (phase_ == phase::idle) close_now();
}

void connection::force_close() { close_now(); }

// --- reading ------------------------------------------------------------------

void connection::wait_for_request() {
  if (shared_->stopping.load()) return close_now();
  phase_ = phase::idle;
  method_ = "other";
  route_ = "unmatched";
  version_ = 11;
  request_keep_alive_ = false;
  head_request_ = false;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(shared_->cfg.limits.max_header_bytes, UINT32_MAX)));
  // No body limit while the head is read: Beast would answer an oversized Content-Length
  // before on_header() could ask who sends it. on_header() sets it before the body.
  parser_->body_limit(boost::none);
  if (buffer_.size() > 0) return read_header();  // a pipelined request is waiting

  // A new connection gets header_read_timeout to start talking, a kept-alive one
  // idle_timeout. Beast closes the socket when the timer fires.
  const auto& limits = shared_->cfg.limits;
  stream_.expires_after(first_request_ ? limits.header_read_timeout : limits.idle_timeout);
  io([&](auto& s) {
    s.async_read_some(buffer_.prepare(1024),
                      beast::bind_front_handler(&connection::on_first_byte, shared_from_this()));
  });
}

void connection::on_first_byte(beast::error_code ec, std::size_t n) {
  buffer_.commit(n);
  if (ec || phase_ == phase::closed) return close_now();
  read_header();
}

void connection::read_header() {
  phase_ = phase::reading;
  started_ = std::chrono::steady_clock::now();  // first byte: metrics and received_at
  // A head that came whole with the first read (the usual case) is parsed here: no
  // asynchronous read, deadline or completion for it.
  parser_->eager(false);  // stop after the head: on_header() sets the body's limit
  beast::error_code ec;
  if (parse_buffered(ec)) return on_header(ec, 0);
  stream_.expires_after(shared_->cfg.limits.header_read_timeout);
  io([&](auto& s) {
    http::async_read_header(s, buffer_, *parser_,
                            beast::bind_front_handler(&connection::on_header, shared_from_this()));
  });
}

void connection::on_header(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  const auto& msg = parser_->get();
  begin_in_flight();
  method_ = std::string(msg.method_string());
  version_ = msg.version();
  request_keep_alive_ = msg.keep_alive();
  head_request_ = msg.method() == http::verb::head;
  const auto& limits = shared_->cfg.limits;
  if (msg.target().size() > limits.max_uri_bytes) {
    return send(http_response::error(414, "uri_too_long", "the request target is too long"), true);
  }
  // Who asks comes before what they send: a client without a token learns no limit.
  if (auto refusal = refuse_access()) return send(std::move(*refusal), !parser_->is_done());
  // Beast reports this as body_limit too; checking here keeps "never read an
  // oversized body" independent of the parser's details.
  if (const auto len = parser_->content_length(); len && *len > limits.max_body_bytes) {
    return send(http_response::error(413, "payload_too_large", "the request body is too large"),
                true);
  }
  parser_->body_limit(limits.max_body_bytes);  // a chunked body is counted as it comes
  if (parser_->is_done()) return dispatch();
  if (iequals(msg[http::field::expect], "100-continue")) return send_continue();
  read_body();
}

// Authentication and authorization (bearer_auth.hpp) from the request's head alone: an
// unauthenticated client never gets a 100 Continue, and its body is never read (the
// connection closes after the answer when a body was announced).
std::optional<http_response> connection::refuse_access() const {
  const auto auth = shared_->cfg.auth ? shared_->cfg.auth->current() : nullptr;
  if (!auth) return std::nullopt;
  const auto& msg = parser_->get();
  // A malformed target is no public path: without a known token it is a 401 too (its
  // body unread); with one, dispatch() answers 400.
  std::string path;
  const bool well_formed = parse_target(msg.target(), path);
  if (well_formed && auth->is_public(path)) return std::nullopt;
  // Repeated fields are joined as dispatch() joins them, so two tokens are no token.
  std::optional<std::string> authorization;
  for (const auto& field : msg) {
    if (field.name() != http::field::authorization) continue;
    if (authorization) {
      *authorization += ", ";
    } else {
      authorization.emplace();
    }
    *authorization += field.value();
  }
  // Without a token, a mutual-TLS client certificate listed in certificate-roles.
  auto by_certificate = [&]() -> std::optional<token_role> {
    for (const auto& name : peer_names_) {
      if (auto r = shared_->cfg.auth->certificate_role(name)) return r;
    }
    return std::nullopt;
  };
  auto role = authorization ? auth->authenticate(*authorization) : by_certificate();
  if (!role) {
    auto r = http_response::error(
        401, "unauthorized",
        authorization ? "the bearer token is not one of this node's tokens"
                      : "this API needs an \"Authorization: Bearer <token>\" header");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"workflow-engine\"");
    return r;
  }
  if (!well_formed) return std::nullopt;
  const std::string method(msg.method_string());
  if (!permits(*role, method, path)) {
    return http_response::error(403, "forbidden",
                                "this token's role is " + std::string(to_string(*role)) +
                                    ": it may not " + method + " " + path);
  }
  return std::nullopt;
}

void connection::send_continue() {
  continue_res_ = {};
  continue_res_.version(11);
  continue_res_.result(http::status::continue_);
  stream_.expires_after(shared_->cfg.limits.idle_timeout);
  io([&](auto& s) {
    http::async_write(s, continue_res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close_now();
                        self->read_body();
                      });
  });
}

void connection::read_body() {
  parser_->eager(true);
  beast::error_code ec;
  if (parse_buffered(ec)) return on_body(ec, 0);  // the body came with the head
  // The body shares the request deadline: a client trickling a body is as bad as
  // a handler that never answers.
  stream_.expires_after(shared_->cfg.limits.request_timeout);
  io([&](auto& s) {
    http::async_read(s, buffer_, *parser_,
                     beast::bind_front_handler(&connection::on_body, shared_from_this()));
  });
}

void connection::on_body(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  dispatch();
}

// Feeds the buffered bytes to the parser as Beast's read operations do, without reading:
// true when the part being read (the head, or with `eager` the whole message) is complete
// or the bytes are refused (`ec`: header_limit, body_limit, a malformed request); false
// when more must be read, which the asynchronous read then does from where this stopped.
bool connection::parse_buffered(beast::error_code& ec) {
  const auto complete = [this] {
    return parser_->eager() ? parser_->is_done() : parser_->is_header_done();
  };
  while (!complete()) {
    if (buffer_.size() == 0) return false;
    const auto n = parser_->put(buffer_.data(), ec);
    buffer_.consume(n);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (n == 0) return false;
  }
  return true;
}

void connection::on_read_error(beast::error_code ec) {
  method_ = std::string(parser_->get().method_string());  // empty unless the line parsed
  if (ec == http::error::header_limit) {
    if (target_too_long_at_header_limit()) {
      return send(http_response::error(414, "uri_too_long", "the request target is too long"),
                  true);
    }
    return send(http_response::error(431, "header_too_large", "the request headers are too large"),
                true);
  }
  if (ec == http::error::body_limit) {
    return send(http_response::error(413, "payload_too_large", "the request body is too large"),
                true);
  }
  if (is_http_protocol_error(ec) && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return send(http_response::error(400, "bad_request", "malformed request: " + ec.message()),
                true);
  }
  // EOF, reset, a timeout (Beast already closed the socket) or cancellation.
  close_now();
}

// Beast parses (and consumes) the request line before the fields, so when the
// header limit trips, the target is known unless the request line itself did
// not fit; such a line is a long URI for all practical purposes.
bool connection::target_too_long_at_header_limit() const {
  const auto target = parser_->get().target();
  if (target.empty()) return true;
  return target.size() > shared_->cfg.limits.max_uri_bytes;
}

// --- handling -----------------------------------------------------------------

void connection::dispatch() {
  phase_ = phase::handling;
  auto msg = parser_->release();
  http_request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.received_at = started_;
  if (!parse_target(req.target, req.path, &req.query)) {
    return send(http_response::error(400, "bad_request", "malformed request target"), false);
  }
  for (const auto& field : msg) {
    auto [it, inserted] = req.headers.emplace(lower(field.name_string()), field.value());
    if (!inserted) (it->second += ", ") += field.value();
  }
  req.body = std::move(msg.body());

  auto m = shared_->routes.find(req);
  if (!m.handler) {
    if (m.status == 405) {
      auto r = http_response::error(405, "method_not_allowed",
                                    "method " + req.method + " is not allowed here");
      r.headers.emplace_back("Allow", m.allow);
      return send(std::move(r), false);
    }
    return send(http_response::error(404, "not_found", "no route for " + req.path), false);
  }
  route_ = m.pattern;
  invoke(*m.handler, std::move(req));
}

void connection::invoke(const http_handler& handler, http_request&& req) {
  const auto id = ++request_id_;
  awaiting_handler_ = true;
  request_deadline_ = std::chrono::steady_clock::now() + shared_->cfg.limits.request_timeout;
  if (!request_timer_armed_ || request_deadline_ < request_timer_.expiry()) arm_request_timer();
  try {
    handler(std::move(req), make_responder(id));
  } catch (const std::exception& e) {
    complete(id, http_response::error(500, "internal_error", e.what()));
  } catch (...) {
    complete(id, http_response::error(500, "internal_error", "handler failed"));
  }
}

responder connection::make_responder(std::uint64_t id) {
  auto fn = [gate = shared_->gate, weak = weak_from_this(), id](http_response r) {
    const std::shared_lock lock(gate->mu);
    if (!gate->open) return;  // server stopped: the io_context may be gone
    auto self = weak.lock();
    if (!self) return;  // connection closed meanwhile
    auto ex = self->executor();
    // On the connection's own thread (a handler answering at once, or a shard running on
    // the io thread) the answer is sent now; from any other thread it is posted.
    net::dispatch(ex, [self = std::move(self), id, r = std::move(r)]() mutable {
      self->complete(id, std::move(r));
    });
  };
  return responder(std::make_shared<responder::fn>(std::move(fn)));
}

void connection::complete(std::uint64_t id, http_response r) {
  if (!awaiting_handler_ || id != request_id_ || phase_ != phase::handling) return;
  awaiting_handler_ = false;
  send(std::move(r), false);
}

// The request deadline's timer is armed once and left running across requests (arming it
// per request cost a cancelled wait and its completion each time): when it fires, the
// request being handled, if any, is held to its own deadline, and the timer re-armed for it.
// A wait that arming cancels (an earlier deadline came) or close_now() cancels changes nothing.
void connection::arm_request_timer() {
  request_timer_armed_ = true;
  request_timer_.expires_at(request_deadline_);
  request_timer_.async_wait(
      [self = shared_from_this()](beast::error_code ec) { self->on_request_timer(ec); });
}

void connection::on_request_timer(beast::error_code ec) {
  if (ec == net::error::operation_aborted) return;
  request_timer_armed_ = false;
  if (ec || !awaiting_handler_ || phase_ != phase::handling) return;  // re-armed by invoke()
  if (std::chrono::steady_clock::now() < request_deadline_) return arm_request_timer();
  awaiting_handler_ = false;  // the handler's late answer will find no taker
  send(http_response::error(503, "request_timeout", "the request was not answered in time"), false);
}

// --- writing and closing --------------------------------------------------------

void connection::send(http_response r, bool close) {
  const bool keep_alive = !close && request_keep_alive_ && !shared_->stopping.load();
  if (r.status < 100 || r.status > 999) {
    r = http_response::error(500, "internal_error", "handler returned an invalid status");
  }
  if (record_metrics_) {
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    shared_->metrics.observe(method_, route_, r.status,
                             std::chrono::duration<double>(elapsed).count());
  }
  out_.clear();
  serialize_response(out_, version_ == 10 ? 10 : 11, std::move(r), keep_alive, head_request_);

  phase_ = phase::writing;
  stream_.expires_after(shared_->cfg.limits.idle_timeout);
  io([&](auto& s) {
    net::async_write(s, net::buffer(out_),
                     [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                       self->on_write(keep_alive, ec);
                     });
  });
}

void connection::on_write(bool keep_alive, beast::error_code ec) {
  end_in_flight();
  if (ec) return close_now();
  if (!keep_alive) return linger_close();
  first_request_ = false;
  wait_for_request();
}

void connection::linger_close() {
  phase_ = phase::closing;
  if (tls_) {  // close_notify, then the peer's (bounded like the linger)
    stream_.expires_after(linger_timeout);
    tls_->async_shutdown([self = shared_from_this()](beast::error_code) { self->close_now(); });
    return;
  }
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(linger_timeout);
  drain();
}

void connection::drain() {
  stream_.async_read_some(
      net::buffer(drain_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->drained_ += n;
        if (ec || self->drained_ > linger_max_bytes || self->phase_ == phase::closed) {
          return self->close_now();
        }
        self->drain();
      });
}

void connection::close_now() {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  awaiting_handler_ = false;
  end_in_flight();
  request_timer_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();  // also cancels Beast's timer
}

void connection::begin_in_flight() {
  if (in_flight_) return;
  in_flight_ = true;
  const std::lock_guard lock(shared_->mu);
  ++shared_->in_flight;
}

void connection::end_in_flight() {
  if (!in_flight_) return;
  in_flight_ = false;
  bool idle = false;
  {
    const std::lock_guard lock(shared_->mu);
    idle = --shared_->in_flight == 0;
  }
  if (idle) shared_->cv.notify_all();
}

}  // namespace wfe::api::detail
