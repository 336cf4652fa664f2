#include "cluster/tls_relay.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "engine/core/logging.hpp"
#include "engine/core/tls.hpp"

namespace wfe::cluster {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using tls_stream = ssl::stream<tcp::socket>;

// One context per side: the same certificate, key and CA, and both sides require the
// peer's certificate.
struct contexts {
  ssl::context server{ssl::context::tls_server};
  ssl::context client{ssl::context::tls_client};
  std::vector<std::string> names;  // this node's certificate's subject names, lower case
};

std::string joined(const std::vector<std::string>& names) {
  std::string out = "[";
  for (const auto& n : names) out += (out.size() > 1 ? ", " : "") + n;
  return out + "]";
}

// Empty when the peer's certificate shares a subject name (CN or DNS subjectAltName)
// with this node's, as Pekko's rotating-keys engine checks (a CA that also signs for
// other services does not make them members); else why not.
std::string check_peer_names(tls_stream& tls, const contexts& c) {
  X509* peer = SSL_get0_peer_certificate(tls.native_handle());
  if (peer == nullptr) return "no peer certificate";
  auto names = core::certificate_names(peer);
  for (const auto& n : names) {
    if (std::find(c.names.begin(), c.names.end(), n) != c.names.end()) return {};
  }
  return "the peer's certificate names " + joined(names) + " share none with this node's " +
         joined(c.names) + " (pekko.workflow.transport.tls.require-same-subject)";
}

std::string configure(ssl::context& ctx, const tls_relay_options& o) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (auto err = o.policy.apply(ctx.native_handle()); !err.empty()) return err;
  if (auto err = core::use_certificate(ctx.native_handle(), o.cert_file, o.key_file, "certificate");
      !err.empty()) {
    return err;
  }
  error_code ec;
  ctx.load_verify_file(o.ca_cert_file, ec);
  if (ec) return "cannot use the CA file " + o.ca_cert_file + ": " + ec.message();
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return {};
}

core::expected<std::shared_ptr<contexts>, std::string> load_contexts(const tls_relay_options& o) {
  auto c = std::make_shared<contexts>();
  if (auto err = configure(c->server, o); !err.empty()) return core::unexpected{std::move(err)};
  if (auto err = configure(c->client, o); !err.empty()) {
    return core::unexpected{std::move(err)};
  }
  X509* own = SSL_CTX_get0_certificate(c->server.native_handle());
  if (own == nullptr) return core::unexpected{"no certificate in " + o.cert_file};
  c->names = core::certificate_names(own);
  if (o.require_same_subject && c->names.empty()) {
    return core::unexpected{"the certificate " + o.cert_file +
                            " has no common name and no DNS subjectAltName to match peers by "
                            "(or set pekko.workflow.transport.tls.require-same-subject = off)"};
  }
  return c;
}

// What the periodic check compares: each file's modification time and size (a
// Kubernetes Secret's update swaps the symlinks: both follow the link).
std::string files_signature(const tls_relay_options& o) {
  std::string sig;
  for (const auto* f : {&o.cert_file, &o.key_file, &o.ca_cert_file}) {
    std::error_code ec;
    auto t = std::filesystem::last_write_time(*f, ec);
    auto n = std::filesystem::file_size(*f, ec);
    sig += std::to_string(ec ? -1 : t.time_since_epoch().count()) + "/" +
           std::to_string(ec ? 0 : n) + ";";
  }
  return sig;
}

std::string describe(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return "timed out";
  if (ec.category() == asio::error::get_ssl_category()) {
    return "TLS: " + ec.message();
  }
  return ec.message();
}

// A TLS connection and the loopback connection it is spliced to: bytes are copied
// both ways through one buffer per direction until either side closes or fails, then
// both are closed.
class splice : public std::enable_shared_from_this<splice> {
 public:
  splice(std::shared_ptr<tcp::socket> plain, std::shared_ptr<tls_stream> tls,
         std::shared_ptr<void> slot, std::size_t buffer_size)
      : plain_(std::move(plain)),
        tls_(std::move(tls)),
        slot_(std::move(slot)),
        to_tls_(buffer_size),
        to_plain_(buffer_size) {}

  void start() {
    pump(*plain_, *tls_, to_tls_);
    pump(*tls_, *plain_, to_plain_);
  }

 private:
  // Copies what `from` delivers to `to` through `buf`, one read and its write at a
  // time, until either fails or closes; then closes both.
  template <class From, class To>
  void pump(From& from, To& to, std::vector<char>& buf) {
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf](
                                                error_code ec, std::size_t n) {
      if (ec) return self->close();
      asio::async_write(to, asio::buffer(buf.data(), n),
                        [self, &from, &to, &buf](error_code ec2, std::size_t) {
                          if (ec2) return self->close();
                          self->pump(from, to, buf);
                        });
    });
  }

  void close() {
    error_code ignored;
    plain_->close(ignored);
    tls_->lowest_layer().close(ignored);
  }

  std::shared_ptr<tcp::socket> plain_;
  std::shared_ptr<tls_stream> tls_;
  std::shared_ptr<void> slot_;  // releases the connection's place in max_connections
  std::vector<char> to_tls_;
  std::vector<char> to_plain_;
};

}  // namespace

struct tls_relay::impl {
  tls_relay_options opt;
  std::atomic<std::uint64_t> inbound{0};
  std::atomic<std::uint64_t> outbound{0};
  std::atomic<std::uint64_t> handshake_failures{0};
  std::atomic<std::uint64_t> over_limit{0};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> reloads{0};
  std::atomic<std::uint16_t> local_port{0};
  // io thread only: the warnings' rate limit
  std::chrono::steady_clock::time_point last_warning{};
  std::uint64_t suppressed = 0;

  mutable std::mutex ctx_mu;
  std::shared_ptr<contexts> ctx;
  std::string loaded_signature;  // of the files in ctx (ctx_mu)
  std::string failed_signature;  // io thread: files that could not be used, said once

  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  asio::steady_timer reload_timer{io};
  std::mutex peers_mu;
  std::map<std::pair<std::string, std::uint16_t>, std::unique_ptr<tcp::acceptor>> peers;
  std::thread thread;

  ~impl() {
    io.stop();
    if (thread.joinable()) thread.join();
  }

  std::shared_ptr<contexts> current() const {
    std::lock_guard lock(ctx_mu);
    return ctx;
  }

  // A place among max_connections, released when the returned pointer's last copy goes;
  // null when all are taken.
  std::shared_ptr<void> take_slot() {
    if (open.fetch_add(1) >= opt.max_connections) {
      open.fetch_sub(1);
      over_limit.fetch_add(1);
      warn(
          "{} TLS connections open (pekko.workflow.transport.tls.max-connections): closing a new "
          "one",
          opt.max_connections);
      return nullptr;
    }
    // Not null (a null shared_ptr tests false even with a deleter): points at the relay.
    return std::shared_ptr<void>(static_cast<void*>(this), [this](void*) { open.fetch_sub(1); });
  }

  // At most one warning per second (called on the io thread): a peer with a bad
  // certificate retries every second, a scanner may try many times.
  template <class... A>
  void warn(spdlog::format_string_t<A...> fmt, A&&... args) {
    const auto now = std::chrono::steady_clock::now();
    if (last_warning != std::chrono::steady_clock::time_point{} &&
        now - last_warning < std::chrono::seconds(1)) {
      ++suppressed;
      return;
    }
    last_warning = now;
    auto log = core::logger("cluster");
    log->warn(fmt, std::forward<A>(args)...);
    if (suppressed > 0) {
      log->warn("({} more TLS connection warnings in the last second not logged)", suppressed);
      suppressed = 0;
    }
  }

  // Loads the files; on success they serve new connections from now on.
  std::string load() {
    auto sig = files_signature(opt);
    auto c = load_contexts(opt);
    if (!c) return std::move(c).error();
    std::lock_guard lock(ctx_mu);
    ctx = std::move(c).value();
    loaded_signature = std::move(sig);
    reloads.fetch_add(1);
    return {};
  }

  // Every reload_interval: re-reads the files when they changed since the last load.
  void watch_files() {
    reload_timer.expires_after(opt.reload_interval);
    reload_timer.async_wait([this](error_code ec) {
      if (ec) return;
      auto sig = files_signature(opt);
      bool changed = false;
      {
        std::lock_guard lock(ctx_mu);
        changed = sig != loaded_signature;
      }
      if (changed && sig != failed_signature) {
        auto log = core::logger("cluster");
        if (auto err = load(); !err.empty()) {
          failed_signature = sig;  // said once per change of the files
          log->error(
              "cluster TLS: the certificate files changed but cannot be used, keeping "
              "the ones in use: {}",
              err);
        } else {
          log->info("cluster TLS: certificate files changed, reloaded {}", opt.cert_file);
        }
      }
      watch_files();
    });
  }

  void accept_inbound() {
    acceptor.async_accept([this](error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {  // e.g. out of file descriptors: try again a little later
        warn("cluster TLS listener: accept failed: {}", ec.message());
        accept_retry.expires_after(std::chrono::milliseconds(100));
        accept_retry.async_wait([this](error_code e) {
          if (!e) accept_inbound();
        });
        return;
      }
      on_inbound(std::move(s));
      accept_inbound();
    });
  }

  // Empty, or why a peer that completed the handshake is still refused.
  std::string subject_refusal(tls_stream& tls, const contexts& c) const {
    return opt.require_same_subject ? check_peer_names(tls, c) : std::string{};
  }

  // Closes `tls` if it is not done by the connection timeout.
  std::shared_ptr<asio::steady_timer> deadline(const std::shared_ptr<tls_stream>& tls) {
    auto timer = std::make_shared<asio::steady_timer>(io, opt.connection_timeout);
    timer->async_wait([tls](error_code ec) {
      if (ec) return;  // cancelled: done in time
      error_code ignored;
      tls->lowest_layer().cancel(ignored);
      tls->lowest_layer().close(ignored);
    });
    return timer;
  }

  void on_inbound(tcp::socket s) {
    error_code ec;
    auto from = s.remote_endpoint(ec);
    auto slot = take_slot();
    if (!slot) return;  // s closes here
    s.set_option(tcp::no_delay(true), ec);
    auto c = current();
    auto tls = std::make_shared<tls_stream>(std::move(s), c->server);
    auto timer = deadline(tls);
    tls->async_handshake(
        ssl::stream_base::server, [this, c, tls, timer, slot, from](error_code hs) {
          timer->cancel();
          std::string why = hs ? describe(hs) : subject_refusal(*tls, *c);
          if (!why.empty()) {
            handshake_failures.fetch_add(1);
            warn("cluster TLS: refused a connection from {}: {}", to_string(from), why);
            return;
          }
          auto port = local_port.load();
          if (port == 0) return;  // not serving yet: the peer retries
          auto plain = std::make_shared<tcp::socket>(io);
          plain->async_connect(
              tcp::endpoint(asio::ip::address_v4::loopback(), port),
              [this, c, tls, plain, slot](error_code ce) {
                if (ce) {
                  core::logger("cluster")->warn(
                      "cluster TLS: cannot reach this node's transport: {}", ce.message());
                  return;
                }
                error_code ignored;
                plain->set_option(tcp::no_delay(true), ignored);
                inbound.fetch_add(1);
                std::make_shared<splice>(plain, tls, slot, opt.buffer_size)->start();
              });
        });
  }

  void accept_outbound(tcp::acceptor& a, const std::string& host, std::uint16_t port) {
    a.async_accept([this, &a, host, port](error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {  // e.g. out of file descriptors: try again a little later, no busy loop
        warn("cluster TLS: accept on the loopback port for {}:{} failed: {}", host, port,
             ec.message());
        auto retry = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
        retry->async_wait([this, &a, host, port, retry](error_code e) {
          if (!e) accept_outbound(a, host, port);
        });
        return;
      }
      on_outbound(std::move(s), host, port);
      accept_outbound(a, host, port);
    });
  }

  void on_outbound(tcp::socket s, const std::string& host, std::uint16_t port) {
    auto slot = take_slot();
    if (!slot) return;  // the middleman sees the connection closed and retries later
    error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
    auto plain = std::make_shared<tcp::socket>(std::move(s));
    auto c = current();
    auto tls = std::make_shared<tls_stream>(io, c->client);
    auto timer = deadline(tls);
    auto resolver = std::make_shared<tcp::resolver>(io);
    auto to = host + ":" + std::to_string(port);
    auto fail = [this, plain, to](const std::string& why, bool handshake) {
      error_code e;
      plain->close(e);
      if (handshake) {
        handshake_failures.fetch_add(1);
        warn("cluster TLS: cannot connect to {}: {}", to, why);
      } else {
        core::logger("cluster")->debug("cluster TLS: cannot connect to {}: {}", to, why);
      }
    };
    resolver->async_resolve(
        host, std::to_string(port),
        [this, c, plain, tls, timer, resolver, slot, fail](error_code ec,
                                                           tcp::resolver::results_type r) {
          if (ec) {
            timer->cancel();
            return fail(describe(ec), false);
          }
          // A slow name lookup may outlast the deadline, which found no socket to close.
          if (timer->expiry() <= asio::steady_timer::clock_type::now()) {
            return fail("timed out", false);
          }
          asio::async_connect(
              tls->lowest_layer(), r,
              [this, c, plain, tls, timer, slot, fail](error_code ce, const tcp::endpoint&) {
                if (ce) {
                  timer->cancel();
                  return fail(describe(ce), false);
                }
                error_code ignored2;
                tls->lowest_layer().set_option(tcp::no_delay(true), ignored2);
                tls->async_handshake(ssl::stream_base::client, [this, c, plain, tls, timer, slot,
                                                                fail](error_code hs) {
                  timer->cancel();
                  if (hs) return fail(describe(hs), true);
                  if (auto why = subject_refusal(*tls, *c); !why.empty()) return fail(why, true);
                  outbound.fetch_add(1);
                  std::make_shared<splice>(plain, tls, slot, opt.buffer_size)->start();
                });
              });
        });
  }

  static std::string to_string(const tcp::endpoint& e) {
    return e.address().to_string() + ":" + std::to_string(e.port());
  }
};

core::expected<std::unique_ptr<tls_relay>, std::string> tls_relay::start(tls_relay_options o) {
  auto c = load_contexts(o);
  if (!c) return core::unexpected{std::move(c).error()};
  auto p = std::make_shared<impl>();
  p->opt = std::move(o);
  p->ctx = std::move(c).value();
  p->loaded_signature = files_signature(p->opt);
  error_code ec;
  auto where = p->opt.bind_host + ":" + std::to_string(p->opt.bind_port);
  auto addr = asio::ip::make_address(p->opt.bind_host, ec);
  tcp::endpoint ep;
  if (!ec) {
    ep = tcp::endpoint(addr, p->opt.bind_port);
  } else {  // a host name: its first address
    tcp::resolver resolver(p->io);
    auto r = resolver.resolve(p->opt.bind_host, std::to_string(p->opt.bind_port), ec);
    if (ec || r.empty()) {
      return core::unexpected{"cannot listen for cluster transport on " + where +
                              " (tls-tcp): " + ec.message()};
    }
    ep = *r.begin();
  }
  p->acceptor.open(ep.protocol(), ec);
  if (!ec) p->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) p->acceptor.bind(ep, ec);
  if (!ec) p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::unexpected{"cannot listen for cluster transport on " + where +
                            " (tls-tcp): " + ec.message()};
  }
  p->accept_inbound();
  if (p->opt.reload_interval.count() > 0) p->watch_files();
  p->thread = std::thread([raw = p.get()] { raw->io.run(); });
  return std::unique_ptr<tls_relay>(new tls_relay(std::move(p)));
}

tls_relay::tls_relay(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

tls_relay::~tls_relay() = default;

std::uint16_t tls_relay::port() const { return impl_->acceptor.local_endpoint().port(); }

void tls_relay::set_local_port(std::uint16_t port) { impl_->local_port.store(port); }

core::expected<std::uint16_t, std::string> tls_relay::local_port_for(const std::string& host,
                                                                     std::uint16_t port) {
  auto& p = *impl_;
  std::lock_guard lock(p.peers_mu);
  auto key = std::make_pair(host, port);
  if (auto it = p.peers.find(key); it != p.peers.end()) {
    return it->second->local_endpoint().port();
  }
  auto a = std::make_unique<tcp::acceptor>(p.io);
  error_code ec;
  tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
  a->open(ep.protocol(), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::unexpected{"cluster TLS: cannot open a loopback port: " + ec.message()};
  auto local = a->local_endpoint().port();
  auto* raw = a.get();
  p.peers.emplace(key, std::move(a));
  asio::post(p.io, [&p, raw, host, port] { p.accept_outbound(*raw, host, port); });
  return local;
}

std::string tls_relay::reload() { return impl_->load(); }

tls_relay::stats tls_relay::current_stats() const {
  const auto& p = *impl_;
  return {p.inbound.load(),    p.outbound.load(), p.handshake_failures.load(),
          p.over_limit.load(), p.open.load(),     p.reloads.load()};
}

const std::string& tls_relay::cert_file() const { return impl_->opt.cert_file; }

}  // namespace wfe::cluster
