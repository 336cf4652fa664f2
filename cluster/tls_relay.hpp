#pragma once
// Inter-node TLS (pekko.remote.artery.transport = tls-tcp): a relay that carries the
// cluster transport's TCP connections over mutually authenticated TLS.
//
// Why a relay and not CAF's openssl module: with CAF 0.17.6's module, a second
// connection between two nodes that are already connected (our membership connects
// from both sides, as Pekko's transport does) breaks the first one; plain BASP closes
// such a duplicate cleanly (cluster/README.md, "Inter-node TLS"). So the node's BASP
// listens on 127.0.0.1 only, and this relay, on its own io thread:
// - listens on the canonical bind address; each connection must complete a TLS
//   handshake with a certificate of the configured CA within the connection timeout,
//   then is spliced to a new loopback connection to the node's BASP port;
// - gives each peer address a loopback port (local_port_for); a connection made to it
//   (by the middleman's remote_actor) is carried over TLS to that peer.
//
// Bounded: at most max_connections TLS connections at once (both directions), each
// with one buffer of buffer_size per direction; a handshake or connect that does not
// finish within connection_timeout is abandoned.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "cluster/cluster_settings.hpp"
#include "engine/core/expected.hpp"

namespace wfe::cluster {

// The files and bounds of the settings (cluster_settings.hpp), and where to listen.
struct tls_relay_options : transport_tls_settings {
  std::string bind_host;
  std::uint16_t bind_port = 0;  // 0: an ephemeral port (tests)
};

class tls_relay {
 public:
  struct stats {
    std::uint64_t inbound = 0;             // TLS connections accepted and authenticated
    std::uint64_t outbound = 0;            // TLS connections made and authenticated
    std::uint64_t handshake_failures = 0;  // either direction: refused, timed out, closed
    std::uint64_t over_limit = 0;          // closed at once: max_connections open
    std::uint64_t open = 0;                // TLS connections open now
    std::uint64_t reloads = 0;             // the files re-read and taken (either way)
  };

  // Loads the certificate, key and CA (an error names the file) and listens on
  // bind_host:bind_port. Inbound connections wait for set_local_port.
  static core::expected<std::unique_ptr<tls_relay>, std::string> start(tls_relay_options options);
  ~tls_relay();
  tls_relay(const tls_relay&) = delete;
  tls_relay& operator=(const tls_relay&) = delete;

  // The port the relay listens on (bind_port, or the ephemeral one).
  [[nodiscard]] std::uint16_t port() const;

  // The loopback port of this node's BASP listener, where inbound connections go.
  void set_local_port(std::uint16_t port);

  // A port on 127.0.0.1 whose connections are carried over TLS to host:port: the same
  // one for the same peer for the relay's lifetime. Thread-safe (called from the
  // membership actor's lookup threads).
  core::expected<std::uint16_t, std::string> local_port_for(const std::string& host,
                                                            std::uint16_t port);

  // Re-reads the three files (SIGHUP; also done on its own every reload_interval when
  // they changed): new connections use them, open ones keep their session. Empty, or
  // why the files in use were kept.
  std::string reload();

  [[nodiscard]] stats current_stats() const;
  [[nodiscard]] const std::string& cert_file() const;

 private:
  struct impl;
  explicit tls_relay(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

}  // namespace wfe::cluster
