#pragma once
// What every TLS context of the node shares (the cluster's TLS relay, the HTTP API's
// server and admin client, the built-in http task), on OpenSSL's SSL_CTX so that this
// header stays light:
// - tls_policy: which versions and cipher suites a context offers, configured as Pekko's
//   SSL engines are: `protocol` ("TLSv1.2" or "TLSv1.3": only that version; "TLS": 1.2
//   or 1.3) and `enabled-algorithms` (cipher suites by their IANA names, as Java writes
//   them; empty: OpenSSL's defaults);
// - read_tls_policy: the same two keys read from a config, errors naming the key;
// - certificate_names: the names a certificate is matched by (the cluster's peer check,
//   the API's certificate roles), and certificate_name for a configured one;
// - use_certificate: a PEM certificate chain and its private key.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/expected.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct x509_st;     // OpenSSL's X509

namespace wfe::core {

class settings_reader;

struct tls_policy {
  // Default: "TLS" with OpenSSL's suites. Versions as OpenSSL numbers them.
  int min_version = 0x0303;      // TLS1_2_VERSION
  int max_version = 0x0304;      // TLS1_3_VERSION
  std::string tls12_ciphers;     // OpenSSL names, ':'-separated; empty: OpenSSL's defaults
  std::string tls13_suites;      // the same for TLS 1.3's cipher suites
  std::string protocol = "TLS";  // as configured, for messages

  // The policy of `protocol` and `algorithms`, or why there is none: a protocol other
  // than TLS / TLSv1.2 / TLSv1.3, a suite name this OpenSSL does not know, or no listed
  // suite for the protocol (a version none of them is for is not offered, as in Java).
  static expected<tls_policy, std::string> resolve(const std::string& protocol,
                                                   const std::vector<std::string>& algorithms);

  // Sets the versions and suites on `ctx` (before certificates are loaded); empty, or
  // why OpenSSL refused them.
  [[nodiscard]] std::string apply(ssl_ctx_st* ctx) const;
};

// Reads `<prefix>.protocol` and `<prefix>.enabled-algorithms` (as Pekko's SSL engines
// name them) and resolves them; nullopt when either is bad (the error names the key).
std::optional<tls_policy> read_tls_policy(settings_reader& r, std::string_view prefix);

// A certificate's subject names as Pekko's rotating-keys engine reads them: its common
// name(s), then its DNS subjectAltNames, in lower case (DNS names are case-insensitive),
// without repeats. The cluster's peer check and the API's certificate roles match by them.
std::vector<std::string> certificate_names(x509_st* cert);

// A configured name as certificate_names compares it (lower case).
std::string certificate_name(std::string_view name);

// Loads a PEM certificate chain and its private key into `ctx`: empty, or an error
// naming the file ("cannot use the <what> <cert_file>: …", "cannot use the private key
// <key_file> (for <cert_file>): …" — a key of another certificate included).
std::string use_certificate(ssl_ctx_st* ctx, const std::string& cert_file,
                            const std::string& key_file, std::string_view what);

}  // namespace wfe::core
