#include "engine/core/tls.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

using wfe::core::tls_policy;

TEST_CASE("tls_policy: Pekko's protocol and IANA suite names in OpenSSL's terms") {
  auto any = tls_policy::resolve("TLS", {});
  REQUIRE(any);
  CHECK(any->min_version == TLS1_2_VERSION);
  CHECK(any->max_version == TLS1_3_VERSION);
  CHECK(any->tls12_ciphers.empty());
  CHECK(any->tls13_suites.empty());

  auto v12 = tls_policy::resolve("TLSv1.2", {});
  REQUIRE(v12);
  CHECK(v12->max_version == TLS1_2_VERSION);
  auto v13 = tls_policy::resolve("TLSv1.3", {});
  REQUIRE(v13);
  CHECK(v13->min_version == TLS1_3_VERSION);

  // Java's names, TLS 1.2 and 1.3 mixed: each list gets OpenSSL's names.
  auto mixed =
      tls_policy::resolve("TLS", {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"});
  REQUIRE_MESSAGE(mixed, (mixed ? "" : mixed.error()));
  CHECK(mixed->tls12_ciphers == "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305");
  CHECK(mixed->tls13_suites == "TLS_AES_128_GCM_SHA256");
  CHECK(mixed->min_version == TLS1_2_VERSION);
  CHECK(mixed->max_version == TLS1_3_VERSION);

  // Only 1.3 suites: 1.2 is not offered; only 1.2 suites: 1.3 is not.
  auto only13 = tls_policy::resolve("TLS", {"TLS_AES_256_GCM_SHA384"});
  REQUIRE(only13);
  CHECK(only13->min_version == TLS1_3_VERSION);
  auto only12 = tls_policy::resolve("TLS", {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  REQUIRE(only12);
  CHECK(only12->max_version == TLS1_2_VERSION);
}

TEST_CASE("tls_policy: an unknown protocol or suite, or no suite for the protocol, says which") {
  auto proto = tls_policy::resolve("SSLv3", {});
  REQUIRE_FALSE(proto);
  CHECK(proto.error().find("SSLv3") != std::string::npos);

  auto unknown = tls_policy::resolve("TLS", {"TLS_AES_128_GCM_SHA256", "TLS_MADE_UP"});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().find("TLS_MADE_UP") != std::string::npos);

  auto none = tls_policy::resolve("TLSv1.3", {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  REQUIRE_FALSE(none);
  CHECK(none.error().find("TLSv1.3") != std::string::npos);
  CHECK_FALSE(tls_policy::resolve("TLSv1.2", {"TLS_AES_128_GCM_SHA256"}));
}

TEST_CASE("tls_policy: apply sets the versions and suites on a context") {
  auto p = tls_policy::resolve("TLS", {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  REQUIRE(p);
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  REQUIRE(ctx != nullptr);
  CHECK(p->apply(ctx).empty());
  CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(ctx) == TLS1_2_VERSION);
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  bool listed = false;
  bool other12 = false;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const std::string name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i));
    if (name == "ECDHE-ECDSA-AES128-GCM-SHA256") listed = true;
    if (name == "ECDHE-ECDSA-AES256-GCM-SHA384") other12 = true;
  }
  CHECK(listed);
  CHECK_FALSE(other12);
  SSL_CTX_free(ctx);
}
