#include "api/http/server_tls.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>

#include "api/http/server_tls_impl.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_files.hpp"

using wfe::api::server_tls;
using wfe::test::tls_file;

namespace {

// The subject of the certificate a context presents, one line.
std::string presented_subject(const server_tls& tls) {
  X509* cert = SSL_CTX_get0_certificate(tls.current()->context.native_handle());
  REQUIRE(cert != nullptr);
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

}  // namespace

TEST_CASE(
    "the server's certificate and key load, and a missing file or a key of another "
    "certificate is refused naming it") {
  auto ok = server_tls::load(tls_file("server.pem"), tls_file("server.key"), "");
  CHECK_MESSAGE(ok, (ok ? "" : ok.error()));

  auto missing = server_tls::load(tls_file("nope.pem"), tls_file("server.key"), "");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("cannot use the certificate chain " + tls_file("nope.pem")) !=
        std::string::npos);

  auto other_key = server_tls::load(tls_file("server.pem"), tls_file("client.key"), "");
  REQUIRE_FALSE(other_key);
  CHECK(other_key.error().find("cannot use the private key " + tls_file("client.key")) !=
        std::string::npos);

  auto not_a_key = server_tls::load(tls_file("server.pem"), tls_file("ca.pem"), "");
  REQUIRE_FALSE(not_a_key);
  CHECK(not_a_key.error().find(tls_file("ca.pem")) != std::string::npos);

  auto client_ca = server_tls::load(tls_file("server.pem"), tls_file("server.key"),
                                    tls_file("no-client-ca.pem"));
  REQUIRE_FALSE(client_ca);
  CHECK(client_ca.error().find("cannot use the client CA file " + tls_file("no-client-ca.pem")) !=
        std::string::npos);
  CHECK(
      server_tls::load(tls_file("server.pem"), tls_file("server.key"), tls_file("client-ca.pem")));
}

TEST_CASE(
    "reload: renewed files replace the context for new connections, bad ones keep the old "
    "and say why") {
  wfe::test::temp_dir dir;
  const auto cert = dir.path() / "api.pem";
  const auto key = dir.path() / "api.key";
  auto install = [&](const char* pem, const char* k) {
    std::filesystem::copy_file(tls_file(pem), cert,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(tls_file(k), key, std::filesystem::copy_options::overwrite_existing);
  };
  install("server.pem", "server.key");
  auto loaded = server_tls::load(cert.string(), key.string(), "");
  REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error()));
  auto& tls = **loaded;
  CHECK(presented_subject(tls) == "/CN=127.0.0.1");
  const auto held = tls.current();  // what an open connection holds

  install("server2.pem", "server2.key");
  CHECK(tls.reload().empty());
  CHECK(presented_subject(tls) == "/CN=127.0.0.1 renewed");
  CHECK(tls.current() != held);
  char buf[256] = {};  // the old context is intact for whoever still holds it
  X509_NAME_oneline(X509_get_subject_name(SSL_CTX_get0_certificate(held->context.native_handle())),
                    buf, sizeof buf);
  CHECK(std::string(buf) == "/CN=127.0.0.1");

  // A certificate renewed without its key: refused, the renewed one stays.
  install("server.pem", "server2.key");
  const auto err = tls.reload();
  CHECK(err.find("cannot use the private key " + key.string()) != std::string::npos);
  CHECK(presented_subject(tls) == "/CN=127.0.0.1 renewed");

  std::filesystem::remove(cert);
  CHECK(tls.reload().find("cannot use the certificate chain " + cert.string()) !=
        std::string::npos);
  CHECK(presented_subject(tls) == "/CN=127.0.0.1 renewed");
}

TEST_CASE("the versions and suites of pekko.workflow.http.tls.protocol stay across a reload") {
  auto policy =
      wfe::core::tls_policy::resolve("TLSv1.2", {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  REQUIRE(policy);
  auto loaded = server_tls::load(tls_file("server.pem"), tls_file("server.key"), "", *policy);
  REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error()));
  auto& tls = **loaded;
  auto offered = [&tls] {
    auto* ctx = tls.current()->context.native_handle();
    std::string out = std::to_string(SSL_CTX_get_min_proto_version(ctx)) + "-" +
                      std::to_string(SSL_CTX_get_max_proto_version(ctx));
    STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
      out += std::string(" ") + SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i));
    }
    return out;
  };
  // TLS 1.2 only; its one suite (OpenSSL keeps listing TLS 1.3's, which 1.2 never uses).
  const auto expected = std::to_string(TLS1_2_VERSION) + "-" + std::to_string(TLS1_2_VERSION);
  CHECK(offered().starts_with(expected + " "));
  CHECK(offered().find("ECDHE-ECDSA-AES128-GCM-SHA256") != std::string::npos);
  CHECK(offered().find("ECDHE-ECDSA-AES256-GCM-SHA384") == std::string::npos);
  REQUIRE(tls.reload().empty());
  CHECK(offered().starts_with(expected + " "));
  CHECK(offered().find("ECDHE-ECDSA-AES256-GCM-SHA384") == std::string::npos);

  auto defaults = server_tls::load(tls_file("server.pem"), tls_file("server.key"), "");
  REQUIRE(defaults);
  auto* ctx = (*defaults)->current()->context.native_handle();
  CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(ctx) == TLS1_3_VERSION);
}
