#include "api/http/server_tls.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using wfe::api::load_server_tls;

namespace {

std::string tls_file(const char* name) {
  return (std::filesystem::path(WFE_SOURCE_DIR) / "tests/data/tls" / name).string();
}

}  // namespace

TEST_CASE(
    "the server's certificate and key load, and a missing file or a key of another "
    "certificate is refused naming it") {
  auto ok = load_server_tls(tls_file("server.pem"), tls_file("server.key"));
  CHECK_MESSAGE(ok, (ok ? "" : ok.error()));

  auto missing = load_server_tls(tls_file("nope.pem"), tls_file("server.key"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("cannot use the certificate chain " + tls_file("nope.pem")) !=
        std::string::npos);

  auto other_key = load_server_tls(tls_file("server.pem"), tls_file("client.key"));
  REQUIRE_FALSE(other_key);
  CHECK(other_key.error().find("cannot use the private key " + tls_file("client.key")) !=
        std::string::npos);

  auto not_a_key = load_server_tls(tls_file("server.pem"), tls_file("ca.pem"));
  REQUIRE_FALSE(not_a_key);
  CHECK(not_a_key.error().find(tls_file("ca.pem")) != std::string::npos);

  auto client_ca =
      load_server_tls(tls_file("server.pem"), tls_file("server.key"), tls_file("no-client-ca.pem"));
  REQUIRE_FALSE(client_ca);
  CHECK(client_ca.error().find("cannot use the client CA file " + tls_file("no-client-ca.pem")) !=
        std::string::npos);
  CHECK(load_server_tls(tls_file("server.pem"), tls_file("server.key"), tls_file("client-ca.pem")));
}
