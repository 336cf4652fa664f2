#include "api/api_settings.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include "api/http/bearer_auth.hpp"
#include "api/http/server_tls.hpp"
#include "api/http/server_tls_impl.hpp"
#include "tests/support/load_settings.hpp"
#include "tests/support/tls_files.hpp"

using wfe::api::api_settings;
using wfe::test::read_settings;
using wfe::test::tls_file;

TEST_CASE("by default the API has neither tokens nor TLS") {
  auto [s, errors] = read_settings<api_settings>("");
  REQUIRE(errors.empty());
  CHECK_FALSE(s.http.auth);
  CHECK_FALSE(s.http.tls);
  CHECK(s.tls_cert_file.empty());
  CHECK_FALSE(s.metrics.auth);
  CHECK_FALSE(s.metrics.tls);
}

TEST_CASE("HTTPS protocol and enabled-algorithms: read as Pekko writes them, bad ones named") {
  const std::string files = "pekko.workflow.http.tls.cert-file = \"" + tls_file("server.pem") +
                            "\"\npekko.workflow.http.tls.key-file = \"" + tls_file("server.key") +
                            "\"\n";
  auto [ok, e1] = read_settings<api_settings>(
      files +
      "pekko.workflow.http.tls { protocol = TLSv1.3, enabled-algorithms = "
      "[TLS_AES_256_GCM_SHA384] }\n");
  REQUIRE_MESSAGE(e1.empty(), e1);
  REQUIRE(ok.http.tls);
  auto* ctx = ok.http.tls->current()->context.native_handle();
  CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_3_VERSION);

  auto [proto, e2] =
      read_settings<api_settings>(files + "pekko.workflow.http.tls.protocol = TLSv1.1\n");
  CHECK(e2.find("node.conf:3") != std::string::npos);
  CHECK(e2.find("pekko.workflow.http.tls.protocol") != std::string::npos);
  CHECK_FALSE(proto.http.tls);

  auto [suite, e3] = read_settings<api_settings>(
      files + "pekko.workflow.http.tls.enabled-algorithms = [TLS_RSA_WITH_ROT13]\n");
  CHECK(e3.find("pekko.workflow.http.tls.enabled-algorithms") != std::string::npos);
  CHECK(e3.find("TLS_RSA_WITH_ROT13") != std::string::npos);
  CHECK_FALSE(suite.http.tls);
}

TEST_CASE("TLS and token settings: read, or refused naming the key, the config line and the file") {
  auto [tls, e1] = read_settings<api_settings>(
      "pekko.workflow.http.tls.cert-file = \"" + tls_file("server.pem") +
      "\"\npekko.workflow.http.tls.key-file = \"" + tls_file("server.key") + "\"\n");
  REQUIRE_MESSAGE(e1.empty(), e1);
  CHECK(tls.http.tls);
  CHECK(tls.tls_cert_file == tls_file("server.pem"));
  CHECK_FALSE(tls.metrics.tls);  // the metrics port stays HTTP

  auto [half, e2] = read_settings<api_settings>("pekko.workflow.http.tls.cert-file = \"" +
                                                tls_file("server.pem") + "\"\n");
  CHECK(e2.find("pekko.workflow.http.tls.key-file") != std::string::npos);
  CHECK(e2.find("go together") != std::string::npos);

  auto [wrong_key, e3] = read_settings<api_settings>(
      "pekko.workflow.http.tls.cert-file = \"" + tls_file("server.pem") +
      "\"\npekko.workflow.http.tls.key-file = \"" + tls_file("client.key") + "\"\n");
  CHECK(e3.find("node.conf:1") != std::string::npos);
  CHECK(e3.find("pekko.workflow.http.tls.cert-file") != std::string::npos);
  CHECK(e3.find(tls_file("client.key")) != std::string::npos);

  wfe::test::temp_dir dir;
  auto tokens = dir.write("tokens", "0123456789abcdef0123 read\n");
  auto [auth, e4] = read_settings<api_settings>("pekko.workflow.http.auth.tokens-file = \"" +
                                                tokens.string() + "\"\n");
  REQUIRE_MESSAGE(e4.empty(), e4);
  REQUIRE(auth.http.auth);
  CHECK(auth.http.auth->current()->authenticate("Bearer 0123456789abcdef0123") ==
        wfe::api::token_role::read);
  CHECK(auth.http.auth->current()->is_public("/health"));
  CHECK_FALSE(auth.metrics.auth);

  auto bad = dir.write("bad", "short\n");
  auto [refused, e5] = read_settings<api_settings>("\n\npekko.workflow.http.auth.tokens-file = \"" +
                                                   bad.string() + "\"\n");
  CHECK(e5.find("node.conf:3") != std::string::npos);
  CHECK(e5.find("pekko.workflow.http.auth.tokens-file") != std::string::npos);
  CHECK(e5.find(bad.string() + ":1: a token must have at least 16 bytes") != std::string::npos);
}

TEST_CASE("the tools' client certificate: read, or refused naming the key and the file") {
  const auto conf = [](const char* cert, const char* key) {
    std::string text;
    if (cert) text += "pekko.workflow.http.tls.admin-cert-file = \"" + tls_file(cert) + "\"\n";
    if (key) text += "pekko.workflow.http.tls.admin-key-file = \"" + tls_file(key) + "\"\n";
    return text;
  };
  auto [ok, e1] = read_settings<api_settings>(conf("client.pem", "client.key"));
  REQUIRE_MESSAGE(e1.empty(), e1);
  CHECK(ok.admin_cert_file == tls_file("client.pem"));
  CHECK(ok.admin_key_file == tls_file("client.key"));

  auto [half, e2] = read_settings<api_settings>(conf(nullptr, "client.key"));
  CHECK(e2.find("pekko.workflow.http.tls.admin-cert-file") != std::string::npos);
  CHECK(e2.find("go together") != std::string::npos);

  auto [mismatch, e3] = read_settings<api_settings>(conf("client.pem", "server.key"));
  CHECK(e3.find("node.conf:1") != std::string::npos);
  CHECK(e3.find("pekko.workflow.http.tls.admin-cert-file") != std::string::npos);
  CHECK(e3.find("cannot use the private key " + tls_file("server.key")) != std::string::npos);

  auto [missing, e4] = read_settings<api_settings>(conf("nope.pem", "client.key"));
  CHECK(e4.find("cannot use the client certificate chain " + tls_file("nope.pem")) !=
        std::string::npos);
}

TEST_CASE("the metrics port: the API's certificate and tokens when asked, refused without them") {
  wfe::test::temp_dir dir;
  auto tokens = dir.write("tokens", "0123456789abcdef0123 read\n");
  const auto api = "pekko.workflow.http.tls.cert-file = \"" + tls_file("server.pem") +
                   "\"\npekko.workflow.http.tls.key-file = \"" + tls_file("server.key") +
                   "\"\npekko.workflow.http.auth.tokens-file = \"" + tokens.string() + "\"\n";
  auto [both, e1] = read_settings<api_settings>(
      api + "pekko.workflow.metrics.tls = on\npekko.workflow.metrics.auth = on\n");
  REQUIRE_MESSAGE(e1.empty(), e1);
  CHECK(both.metrics.tls == both.http.tls);  // one object: a SIGHUP reload serves both
  CHECK(both.metrics.auth == both.http.auth);

  auto [plain, e2] = read_settings<api_settings>(api);
  REQUIRE_MESSAGE(e2.empty(), e2);
  CHECK_FALSE(plain.metrics.tls);  // off by default, even with the API on HTTPS
  CHECK_FALSE(plain.metrics.auth);

  auto [no_cert, e3] = read_settings<api_settings>("\npekko.workflow.metrics.tls = on\n");
  CHECK(e3.find("node.conf:2") != std::string::npos);
  CHECK(e3.find("pekko.workflow.metrics.tls") != std::string::npos);
  CHECK(e3.find("pekko.workflow.http.tls.cert-file") != std::string::npos);

  auto [no_tokens, e4] = read_settings<api_settings>("pekko.workflow.metrics.auth = on\n");
  CHECK(e4.find("pekko.workflow.metrics.auth") != std::string::npos);
  CHECK(e4.find("pekko.workflow.http.auth.tokens-file") != std::string::npos);
}

TEST_CASE("certificate roles: read by common name, refused without mutual TLS or tokens") {
  wfe::test::temp_dir dir;
  auto tokens = dir.write("tokens", "0123456789abcdef0123\n");
  const std::string tls = "pekko.workflow.http.tls { cert-file = \"" + tls_file("server.pem") +
                          "\", key-file = \"" + tls_file("server.key") + "\", client-ca-file = \"" +
                          tls_file("client-ca.pem") + "\" }\n";
  const std::string auth = "pekko.workflow.http.auth.tokens-file = \"" + tokens.string() + "\"\n";
  auto [ok, e1] = read_settings<api_settings>(
      tls + auth +
      "pekko.workflow.http.auth.certificate-roles { \"backup.example.com\" = admin, "
      "\"grafana\" = read }\n");
  REQUIRE_MESSAGE(e1.empty(), e1);
  REQUIRE(ok.http.auth);
  CHECK(ok.http.auth->certificate_role("backup.example.com") == wfe::api::token_role::admin);
  CHECK(ok.http.auth->certificate_role("grafana") == wfe::api::token_role::read);
  CHECK_FALSE(ok.http.auth->certificate_role("someone"));

  auto [bad_role, e2] = read_settings<api_settings>(
      tls + auth + "pekko.workflow.http.auth.certificate-roles { grafana = reader }\n", "r.conf");
  CHECK(e2.find("certificate-roles.\"grafana\"") != std::string::npos);
  CHECK(e2.find("unknown role \"reader\"") != std::string::npos);

  auto [no_mtls, e3] = read_settings<api_settings>(
      auth + "pekko.workflow.http.auth.certificate-roles { grafana = read }\n");
  CHECK(e3.find("needs mutual TLS") != std::string::npos);

  auto [no_tokens, e4] = read_settings<api_settings>(
      tls + "pekko.workflow.http.auth.certificate-roles { grafana = read }\n");
  CHECK(e4.find("needs pekko.workflow.http.auth.tokens-file") != std::string::npos);
}
