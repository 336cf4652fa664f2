#include "cluster/tls_relay.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_files.hpp"

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using wfe::cluster::tls_relay;
using wfe::cluster::tls_relay_options;
using wfe::test::eventually;
using wfe::test::tls_file;

// The cluster's test certificate: node.pem (serverAuth + clientAuth), node-ca.pem.
tls_relay_options node_options() {
  tls_relay_options o;
  o.cert_file = tls_file("node.pem");
  o.key_file = tls_file("node.key");
  o.ca_cert_file = tls_file("node-ca.pem");
  o.bind_host = "127.0.0.1";
  o.bind_port = 0;
  o.buffer_size = 4096;  // small: a test payload takes many rounds through each buffer
  o.connection_timeout = 5s;
  return o;
}

// A certificate of another CA (server.pem, signed by the API test CA), trusting that CA.
tls_relay_options other_ca_options() {
  auto o = node_options();
  o.cert_file = tls_file("server.pem");
  o.key_file = tls_file("server.key");
  o.ca_cert_file = tls_file("ca.pem");
  return o;
}

// A node's three files in a temp dir, as a Secret's mount: a test replaces them.
class renewable_files {
 public:
  renewable_files() { put("node.pem", "node.key", "node-ca.pem"); }
  void put(const std::string& cert, const std::string& key, const std::string& ca) {
    copy(cert, "tls.crt");
    copy(key, "tls.key");
    copy(ca, "ca.crt");
  }
  // node_options() reading these files.
  [[nodiscard]] tls_relay_options options() const {
    auto o = node_options();
    o.cert_file = (dir_.path() / "tls.crt").string();
    o.key_file = (dir_.path() / "tls.key").string();
    o.ca_cert_file = (dir_.path() / "ca.crt").string();
    return o;
  }

 private:
  void copy(const std::string& from, const std::string& to) {
    std::filesystem::copy_file(tls_file(from), dir_.path() / to,
                               std::filesystem::copy_options::overwrite_existing);
  }
  wfe::test::temp_dir dir_;
};

std::unique_ptr<tls_relay> start(tls_relay_options o) {
  auto r = tls_relay::start(std::move(o));
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string{} : r.error()));
  return std::move(r).value();
}

// A TCP server on 127.0.0.1 that echoes every connection's bytes back, and counts
// the connections it accepted (stands in for a node's BASP listener).
class echo_server {
 public:
  echo_server() : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~echo_server() {
    io_.stop();
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] int accepted() const { return accepted_.load(); }

 private:
  struct conn : std::enable_shared_from_this<conn> {
    explicit conn(tcp::socket s) : socket(std::move(s)) {}
    void read() {
      socket.async_read_some(asio::buffer(buf), [self = shared_from_this()](
                                                    boost::system::error_code ec, std::size_t n) {
        if (ec) return;
        asio::async_write(self->socket, asio::buffer(self->buf.data(), n),
                          [self](boost::system::error_code e, std::size_t) {
                            if (!e) self->read();
                          });
      });
    }
    tcp::socket socket;
    std::array<char, 8192> buf{};
  };
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++accepted_;
      std::make_shared<conn>(std::move(s))->read();
      accept();
    });
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A client connection to 127.0.0.1:port. Every wait is bounded (10 s): a relay that
// fails to close or to forward makes a check fail, not the test hang.
struct client {
  explicit client(std::uint16_t port) : socket(io) {
    socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  }
  // Runs what was started until it is done or 10 s passed (then closes the socket).
  void run() {
    io.restart();
    io.run_for(10s);
    if (!io.stopped()) {
      boost::system::error_code ignored;
      socket.close(ignored);
      io.restart();
      io.run();
    }
  }
  // Sends `data` and reads as many bytes back; false when the connection ends first.
  bool round_trip(const std::string& data, std::string& back) {
    back.assign(data.size(), '\0');
    boost::system::error_code wec;
    boost::system::error_code rec = asio::error::timed_out;
    asio::async_write(socket, asio::buffer(data),
                      [&](boost::system::error_code ec, std::size_t) { wec = ec; });
    asio::async_read(socket, asio::buffer(back.data(), back.size()),
                     [&](boost::system::error_code ec, std::size_t) { rec = ec; });
    run();
    return !wec && !rec;
  }
  // Everything the peer sends until it closes the connection; nullopt when it is still
  // open after 10 s.
  std::optional<std::string> read_until_closed() {
    std::string out;
    std::array<char, 4096> buf{};
    bool closed = false;
    std::function<void()> next = [&] {
      socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
        out.append(buf.data(), n);
        if (ec) {
          closed = ec != asio::error::operation_aborted;
          return;
        }
        next();
      });
    };
    next();
    run();
    if (!closed) return std::nullopt;
    return out;
  }
  // True when the peer closed the connection without sending anything.
  bool closed_without_data() {
    auto r = read_until_closed();
    return r.has_value() && r->empty();
  }
  asio::io_context io;
  tcp::socket socket;
};

std::string random_bytes(std::size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("tls_relay: a connection to a peer's loopback port reaches the peer's transport over TLS") {
  echo_server transport_b;
  auto b = start(node_options());
  b->set_local_port(transport_b.port());
  auto a = start(node_options());

  auto local = a->local_port_for("127.0.0.1", b->port());
  REQUIRE(local.has_value());
  CHECK(a->local_port_for("127.0.0.1", b->port()).value() == *local);  // one port per peer

  {
    client c(*local);
    const auto payload = random_bytes(1 << 20);  // 256 x the buffer, both ways
    std::string back;
    REQUIRE(c.round_trip(payload, back));
    CHECK(back == payload);
    CHECK(transport_b.accepted() == 1);
    CHECK(a->current_stats().outbound == 1);
    CHECK(b->current_stats().inbound == 1);
    CHECK(a->current_stats().open == 1);
    CHECK(b->current_stats().open == 1);
    CHECK(b->current_stats().handshake_failures == 0);
  }
  // The client closed: both ends of the TLS connection close and free their place.
  CHECK(eventually([&] { return a->current_stats().open == 0 && b->current_stats().open == 0; },
                   5s));

  // The bytes on the relay's port are TLS, not the transport's: a plain client that
  // writes to it reaches nothing and is closed.
  {
    client plain(b->port());
    boost::system::error_code ec;
    asio::write(plain.socket, asio::buffer(std::string(64, 'x')), ec);
    // Closed; at most a TLS alert comes back, never the echo.
    auto got = plain.read_until_closed();
    REQUIRE(got.has_value());
    CHECK(got->find("xxxx") == std::string::npos);
  }
  CHECK(eventually([&] { return b->current_stats().handshake_failures == 1; }, 5s));

  // A TLS client that trusts the cluster's CA but has no certificate: refused.
  {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(tls_file("node-ca.pem"));
    ctx.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<tcp::socket> anonymous(io, ctx);
    anonymous.next_layer().connect(tcp::endpoint(asio::ip::address_v4::loopback(), b->port()));
    boost::system::error_code ec;
    anonymous.handshake(asio::ssl::stream_base::client, ec);  // TLS 1.3: may complete here
    std::array<char, 16> buf{};
    if (!ec) asio::write(anonymous, asio::buffer(std::string("hello")), ec);
    if (!ec) anonymous.read_some(asio::buffer(buf), ec);  // the server's refusal arrives
    CHECK(ec);
  }
  CHECK(eventually([&] { return b->current_stats().handshake_failures == 2; }, 5s));
  CHECK(transport_b.accepted() == 1);
}

TEST_CASE("tls_relay: a node of another CA is refused on both sides, nothing reaches the transport") {
  echo_server transport_b;
  auto b = start(node_options());
  b->set_local_port(transport_b.port());
  auto other = start(other_ca_options());

  auto local = other->local_port_for("127.0.0.1", b->port());
  REQUIRE(local.has_value());
  client c(*local);
  CHECK(c.closed_without_data());
  CHECK(eventually([&] { return b->current_stats().handshake_failures == 1; }, 5s));
  CHECK(eventually([&] { return other->current_stats().handshake_failures == 1; }, 5s));
  CHECK(b->current_stats().inbound == 0);
  CHECK(other->current_stats().outbound == 0);
  CHECK(transport_b.accepted() == 0);

  // The other way round: the cluster's node does not accept the other CA's server.
  echo_server transport_other;
  other->set_local_port(transport_other.port());
  auto back = b->local_port_for("127.0.0.1", other->port());
  REQUIRE(back.has_value());
  client c2(*back);
  CHECK(c2.closed_without_data());
  CHECK(transport_other.accepted() == 0);
}

TEST_CASE("tls_relay: a connection that does not finish its handshake is closed after connection-timeout") {
  echo_server transport_b;
  auto o = node_options();
  o.connection_timeout = 300ms;
  auto b = start(o);
  b->set_local_port(transport_b.port());
  client idle(b->port());  // connects, never sends a ClientHello
  CHECK(idle.closed_without_data());
  CHECK(eventually([&] { return b->current_stats().handshake_failures == 1; }, 5s));
  CHECK(eventually([&] { return b->current_stats().open == 0; }, 5s));
  CHECK(transport_b.accepted() == 0);
}

TEST_CASE("tls_relay: at most max-connections at once, a place freed is taken again") {
  echo_server transport_b;
  auto b = start(node_options());
  b->set_local_port(transport_b.port());
  auto o = node_options();
  o.max_connections = 2;
  auto a = start(o);
  auto local = a->local_port_for("127.0.0.1", b->port()).value();

  auto first = std::make_unique<client>(local);
  client second(local);
  std::string back;
  REQUIRE(first->round_trip("one", back));
  REQUIRE(second.round_trip("two", back));
  client third(local);
  CHECK(third.closed_without_data());
  CHECK(a->current_stats().over_limit == 1);

  first.reset();
  REQUIRE(eventually([&] { return a->current_stats().open == 1; }, 5s));
  client fourth(local);
  CHECK(fourth.round_trip("four", back));
  CHECK(back == "four");
}

TEST_CASE("tls_relay: reload takes new files for new connections, keeps the old ones on bad files") {
  renewable_files files;
  auto o = files.options();
  echo_server transport_b;
  auto b = start(o);
  b->set_local_port(transport_b.port());
  auto a = start(node_options());
  auto local = a->local_port_for("127.0.0.1", b->port()).value();

  client before(local);
  std::string back;
  REQUIRE(before.round_trip("before", back));

  // A key that is not a key: refused, named; the context in use stays.
  { std::ofstream(o.key_file) << "not a key\n"; }
  auto err = b->reload();
  CHECK(err.find(o.key_file) != std::string::npos);
  {
    client still(local);
    CHECK(still.round_trip("still", back));
  }

  // Another CA's certificate, key and CA: taken; a new connection from the cluster's
  // node is refused now, the connection opened before keeps its session.
  files.put("server.pem", "server.key", "ca.pem");
  CHECK(b->reload().empty());
  client after(local);
  CHECK(after.closed_without_data());
  CHECK(before.round_trip("kept", back));
  CHECK(back == "kept");
}

TEST_CASE("tls_relay: start names what cannot be used") {
  auto o = node_options();
  o.cert_file = "/nonexistent/tls.crt";
  auto r = tls_relay::start(o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("/nonexistent/tls.crt") != std::string::npos);

  o = node_options();
  o.key_file = tls_file("server.key");  // a key of another certificate
  r = tls_relay::start(o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find(o.key_file) != std::string::npos);

  o = node_options();
  o.ca_cert_file = tls_file("node.key");  // no certificate in it
  r = tls_relay::start(o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find(o.ca_cert_file) != std::string::npos);

  auto taken = start(node_options());
  o = node_options();
  o.bind_port = taken->port();
  r = tls_relay::start(o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("127.0.0.1:" + std::to_string(taken->port())) != std::string::npos);
}

TEST_CASE("tls_relay: changed files are read again every reload-interval without a reload call") {
  renewable_files files;
  auto o = files.options();
  o.reload_interval = 100ms;
  echo_server transport_b;
  auto b = start(o);
  b->set_local_port(transport_b.port());
  auto a = start(node_options());
  auto local = a->local_port_for("127.0.0.1", b->port()).value();
  std::string back;
  {
    client first(local);
    REQUIRE(first.round_trip("first", back));
  }
  const auto loaded = b->current_stats().reloads;
  std::this_thread::sleep_for(400ms);  // unchanged files: not read again
  CHECK(b->current_stats().reloads == loaded);

  // A half-written change (a key that is no key) is not taken: still served.
  { std::ofstream(o.key_file) << "partial\n"; }
  std::this_thread::sleep_for(400ms);
  CHECK(b->current_stats().reloads == loaded);
  {
    client still(local);
    CHECK(still.round_trip("still", back));
  }

  // The renewal completes (here: another CA's files): taken without a call.
  files.put("server.pem", "server.key", "ca.pem");
  CHECK(eventually([&] { return b->current_stats().reloads == loaded + 1; }, 5s));
  client after(local);
  CHECK(after.closed_without_data());
}

TEST_CASE(
    "tls_relay: a certificate of the same CA with another subject is no member unless allowed") {
  echo_server transport_b;
  auto b = start(node_options());
  b->set_local_port(transport_b.port());
  auto o = node_options();
  o.cert_file = tls_file("node-other.pem");  // same CA, "CN=another service of the node CA"
  o.key_file = tls_file("node-other.key");
  auto other = start(o);

  auto local = other->local_port_for("127.0.0.1", b->port()).value();
  client in(local);
  CHECK(in.closed_without_data());
  // The handshake itself succeeds (valid chain); each side refuses the other's subject.
  CHECK(eventually([&] { return b->current_stats().handshake_failures == 1; }, 5s));
  CHECK(eventually([&] { return other->current_stats().handshake_failures == 1; }, 5s));
  CHECK(b->current_stats().inbound == 0);
  CHECK(transport_b.accepted() == 0);

  // require_same_subject off on both: the CA alone decides.
  auto lenient = node_options();
  lenient.require_same_subject = false;
  echo_server transport_c;
  auto c = start(lenient);
  c->set_local_port(transport_c.port());
  o.require_same_subject = false;
  auto other2 = start(o);
  client through(other2->local_port_for("127.0.0.1", c->port()).value());
  std::string back;
  CHECK(through.round_trip("member", back));
  CHECK(back == "member");
  CHECK(transport_c.accepted() == 1);
}

TEST_CASE("tls_relay: certificates with their own common names that share a DNS name are members") {
  // names-a/b/c.pem (names-ca.pem): CN node-a / node-b / node-c; a and b also carry the
  // DNS name workflow-engine.cluster.test, c carries other.cluster.test instead.
  auto names = [](const std::string& id) {
    auto o = node_options();
    o.cert_file = tls_file("names-" + id + ".pem");
    o.key_file = tls_file("names-" + id + ".key");
    o.ca_cert_file = tls_file("names-ca.pem");
    return o;
  };
  echo_server transport_a;
  auto a = start(names("a"));
  a->set_local_port(transport_a.port());
  auto b = start(names("b"));
  auto c = start(names("c"));

  client member(b->local_port_for("127.0.0.1", a->port()).value());
  std::string back;
  CHECK(member.round_trip("shared name", back));
  CHECK(back == "shared name");
  CHECK(a->current_stats().inbound == 1);

  client stranger(c->local_port_for("127.0.0.1", a->port()).value());
  CHECK(stranger.closed_without_data());
  CHECK(eventually([&] { return a->current_stats().handshake_failures == 1; }, 5s));
  CHECK(eventually([&] { return c->current_stats().handshake_failures == 1; }, 5s));
  CHECK(transport_a.accepted() == 1);
}

namespace {

// What a TLS client with the nodes' certificate negotiates with the relay on `port`:
// "<version> <OpenSSL cipher name>", or "refused: …".
std::string negotiated(std::uint16_t port, const std::string& client_protocol = "") {
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.use_certificate_chain_file(tls_file("node.pem"));
  ctx.use_private_key_file(tls_file("node.key"), asio::ssl::context::pem);
  ctx.load_verify_file(tls_file("node-ca.pem"));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (client_protocol == "TLSv1.3")
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION);
  asio::ssl::stream<tcp::socket> s(io, ctx);
  s.next_layer().connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  boost::system::error_code ec;
  s.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return "refused: " + ec.message();
  return std::string{SSL_get_version(s.native_handle())} + " " +
         SSL_CIPHER_get_name(SSL_get_current_cipher(s.native_handle()));
}

}  // namespace

TEST_CASE("tls_relay: protocol and enabled-algorithms decide what a connection negotiates") {
  auto policy = [](const std::string& protocol, std::vector<std::string> algorithms) {
    auto p = wfe::core::tls_policy::resolve(protocol, algorithms);
    REQUIRE(p);
    return *p;
  };
  echo_server transport;
  auto plain = start(node_options());  // "TLS", OpenSSL's suites
  plain->set_local_port(transport.port());
  CHECK(negotiated(plain->port()).starts_with("TLSv1.3 "));

  auto o = node_options();
  o.policy = policy("TLSv1.2", {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  auto v12 = start(o);
  v12->set_local_port(transport.port());
  CHECK(negotiated(v12->port()) == "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256");
  CHECK(negotiated(v12->port(), "TLSv1.3").starts_with("refused"));

  o.policy = policy("TLS", {"TLS_AES_256_GCM_SHA384"});  // a TLS 1.3 suite only: 1.3 only
  auto v13 = start(o);
  v13->set_local_port(transport.port());
  CHECK(negotiated(v13->port()) == "TLSv1.3 TLS_AES_256_GCM_SHA384");

  // Two nodes without a suite in common do not connect.
  auto other = node_options();
  other.policy = policy("TLSv1.2", {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"});
  auto a = start(other);
  client none(a->local_port_for("127.0.0.1", v12->port()).value());
  CHECK(none.closed_without_data());
  CHECK(eventually([&] { return v12->current_stats().handshake_failures >= 2; }, 5s));
  // The same suite on both: they do.
  other.policy = policy("TLSv1.2", {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  auto b = start(other);
  client some(b->local_port_for("127.0.0.1", v12->port()).value());
  std::string back;
  CHECK(some.round_trip("suite", back));
}
