#include "cluster/cluster_settings.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/load_settings.hpp"

using wfe::cluster::cluster_settings;
using wfe::test::read_settings;

TEST_CASE("a valid cluster config yields the canonical address, seeds and roles") {
  auto [s, errors] = read_settings<cluster_settings>(R"(
include classpath("application-prod.conf")
pekko.cluster.seed-nodes = ["pekko://pekko-cluster-system-prod@node1:2551"]
pekko.cluster.roles = ["coordinator", "worker", "worker"]
pekko.remote.artery.canonical { hostname = "node1", port = 2552 }
pekko.remote.artery.bind.hostname = "0.0.0.0"
)");
  REQUIRE(errors.empty());
  CHECK(s.self.to_string() == "pekko://pekko-cluster-system-prod@node1:2552");
  CHECK(s.bind_hostname == "0.0.0.0");
  CHECK(s.bind_port == 2552);  // bind.port "" -> canonical port
  REQUIRE(s.seed_nodes.size() == 1);
  CHECK(s.seed_nodes[0].host == "node1");
  CHECK(s.roles == std::vector<std::string>{"coordinator", "worker"});
  CHECK(s.has_role("worker"));
  CHECK_FALSE(s.has_role("api-gateway"));
}

TEST_CASE("an unknown role names the file, line and key") {
  auto [s, errors] = read_settings<cluster_settings>(
      "pekko.cluster.roles = [\"worker\"]\n"
      "pekko.cluster.roles = [\"worker\", \"wroker\"]\n",
      "roles.conf");
  CHECK(errors.find("roles.conf:2") != std::string::npos);
  CHECK(errors.find("pekko.cluster.roles") != std::string::npos);
  CHECK(errors.find("wroker") != std::string::npos);
}

TEST_CASE("no role at all is refused") {
  auto [s, errors] = read_settings<cluster_settings>("pekko.cluster.roles = []\n");
  CHECK(errors.find("at least one role") != std::string::npos);
}

TEST_CASE("a port outside 1-65535 names the key and the value") {
  auto [s, errors] = read_settings<cluster_settings>(
      "pekko.cluster.roles = [worker]\npekko.remote.artery.canonical.port = 70000\n", "p.conf");
  CHECK(errors.find("p.conf:2") != std::string::npos);
  CHECK(errors.find("pekko.remote.artery.canonical.port") != std::string::npos);
  CHECK(errors.find("70000") != std::string::npos);
}

TEST_CASE("a port of the wrong type is refused") {
  auto [s, errors] = read_settings<cluster_settings>(
      "pekko.cluster.roles = [worker]\npekko.remote.artery.canonical.port = \"twenty\"\n");
  CHECK(errors.find("pekko.remote.artery.canonical.port") != std::string::npos);
  CHECK(errors.find(":2") != std::string::npos);
}

TEST_CASE("roles given as a string instead of a list is a type error") {
  auto [s, errors] = read_settings<cluster_settings>("pekko.cluster.roles = worker\n");
  CHECK(errors.find("pekko.cluster.roles") != std::string::npos);
  CHECK(errors.find(":1") != std::string::npos);
}

TEST_CASE("malformed seed URIs and a foreign system name are refused") {
  SUBCASE("malformed") {
    auto [s, errors] = read_settings<cluster_settings>(
        "pekko.cluster.roles = [worker]\npekko.cluster.seed-nodes = [\"pekko://sys@host\"]\n");
    CHECK(errors.find("malformed seed node") != std::string::npos);
    CHECK(errors.find(":2") != std::string::npos);
  }
  SUBCASE("other system") {
    auto [s, errors] = read_settings<cluster_settings>(
        "pekko.cluster.roles = [worker]\n"
        "pekko.cluster.seed-nodes = [\"pekko://other-system@host:2551\"]\n");
    CHECK(errors.find("other-system") != std::string::npos);
    CHECK(errors.find("pekko.actor.system-name") != std::string::npos);
  }
}

TEST_CASE("sharding settings read the guide's tuning values") {
  auto [s, errors] = read_settings<cluster_settings>(R"(
pekko.cluster.roles = [worker]
pekko.cluster.sharding { number-of-shards = 200, passivate-idle-entity-after = 2h }
)");
  REQUIRE(errors.empty());
  CHECK(s.sharding.number_of_shards == 200);
  CHECK(s.sharding.passivate_idle_entity_after == std::chrono::hours(2));
}

// transport = tls-tcp with the test certificate tests/data/tls/node.pem.
std::string tls_tcp_with_node_files() {
  const std::string dir = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/";
  return "pekko.cluster.roles = [worker]\n"
         "pekko.remote.artery.transport = tls-tcp\n"
         "pekko.remote.artery.ssl.rotating-keys-engine {\n"
         "  cert-file = \"" +
         dir +
         "node.pem\"\n"
         "  key-file = \"" +
         dir +
         "node.key\"\n"
         "  ca-cert-file = \"" +
         dir +
         "node-ca.pem\"\n"
         "}\n";
}

TEST_CASE("transport: tcp by default, tls-tcp reads the rotating-keys engine's PEM files") {
  auto [plain, plain_errors] = read_settings<cluster_settings>("pekko.cluster.roles = [worker]\n");
  REQUIRE(plain_errors.empty());
  CHECK_FALSE(plain.tls.has_value());

  const std::string dir = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/";
  auto [s, errors] = read_settings<cluster_settings>(
      tls_tcp_with_node_files() +
      "pekko.remote.artery.advanced.tcp.connection-timeout = 2s\n"
      "pekko.remote.artery.ssl.rotating-keys-engine.ssl-context-cache-ttl = 30s\n"
      "pekko.workflow.transport.tls { max-connections = 16, buffer-size = 16 KiB }\n");
  auto [lenient, lenient_errors] = read_settings<cluster_settings>(
      tls_tcp_with_node_files() + "pekko.workflow.transport.tls.require-same-subject = off\n");
  REQUIRE(lenient_errors.empty());
  CHECK_FALSE(lenient.tls->require_same_subject);
  REQUIRE_MESSAGE(errors.empty(), errors);
  REQUIRE(s.tls.has_value());
  CHECK(s.tls->cert_file == dir + "node.pem");
  CHECK(s.tls->key_file == dir + "node.key");
  CHECK(s.tls->ca_cert_file == dir + "node-ca.pem");
  CHECK(s.tls->connection_timeout == std::chrono::seconds(2));
  CHECK(s.tls->reload_interval == std::chrono::seconds(30));
  CHECK(s.tls->max_connections == 16);
  CHECK(s.tls->buffer_size == 16 * 1024);
  CHECK(s.tls->require_same_subject);
  CHECK(s.tls->policy.protocol == "TLS");
  CHECK(s.tls->policy.tls12_ciphers.empty());  // OpenSSL's suites
  CHECK(s.tls->policy.tls13_suites.empty());
}

TEST_CASE("transport: protocol and enabled-algorithms as Pekko writes them, bad ones named") {
  auto [s, errors] = read_settings<cluster_settings>(
      tls_tcp_with_node_files() +
      "pekko.remote.artery.ssl.rotating-keys-engine {\n"
      "  protocol = \"TLSv1.2\"\n"
      "  enabled-algorithms = [\"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\",\n"
      "                        \"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\"]\n"
      "}\n");
  REQUIRE_MESSAGE(errors.empty(), errors);
  CHECK(s.tls->policy.protocol == "TLSv1.2");
  CHECK(s.tls->policy.max_version == 0x0303);  // TLS1_2_VERSION
  CHECK(s.tls->policy.tls12_ciphers == "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");

  SUBCASE("an unknown protocol") {
    auto [t, bad] = read_settings<cluster_settings>(
        tls_tcp_with_node_files() +
            "pekko.remote.artery.ssl.rotating-keys-engine.protocol = SSLv3\n",
        "p.conf");
    CHECK(bad.find("p.conf:8") != std::string::npos);
    CHECK(bad.find("rotating-keys-engine.protocol") != std::string::npos);
    CHECK(bad.find("SSLv3") != std::string::npos);
  }
  SUBCASE("an unknown suite") {
    auto [t, bad] = read_settings<cluster_settings>(
        tls_tcp_with_node_files() +
            "pekko.remote.artery.ssl.rotating-keys-engine.enabled-algorithms = "
            "[TLS_AES_256_GCM_SHA384, TLS_FANCY_WITH_ROT13]\n",
        "a.conf");
    CHECK(bad.find("a.conf:8") != std::string::npos);
    CHECK(bad.find("rotating-keys-engine.enabled-algorithms") != std::string::npos);
    CHECK(bad.find("TLS_FANCY_WITH_ROT13") != std::string::npos);
  }
  SUBCASE("no suite for the protocol") {
    auto [t, bad] = read_settings<cluster_settings>(
        tls_tcp_with_node_files() +
        "pekko.remote.artery.ssl.rotating-keys-engine {\n"
        "  protocol = TLSv1.3\n"
        "  enabled-algorithms = [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"
        "}\n");
    CHECK(bad.find("rotating-keys-engine.enabled-algorithms") != std::string::npos);
    CHECK(bad.find("TLSv1.3") != std::string::npos);
  }
}

TEST_CASE("transport: an unknown transport or a missing PEM file names the key") {
  auto [s, errors] = read_settings<cluster_settings>(
      "pekko.cluster.roles = [worker]\npekko.remote.artery.transport = udp\n", "t.conf");
  CHECK(errors.find("t.conf:2") != std::string::npos);
  CHECK(errors.find("pekko.remote.artery.transport") != std::string::npos);
  CHECK(errors.find("udp") != std::string::npos);

  // The defaults point at a Kubernetes secret's mount, absent here: each is named.
  auto [t, missing] = read_settings<cluster_settings>(
      "pekko.cluster.roles = [worker]\npekko.remote.artery.transport = tls-tcp\n");
  for (const char* key : {"rotating-keys-engine.cert-file", "rotating-keys-engine.key-file",
                          "rotating-keys-engine.ca-cert-file"}) {
    CHECK_MESSAGE(missing.find(key) != std::string::npos, key);
  }
  CHECK(missing.find("/var/run/secrets/pekko-tls/rotating-keys-engine/tls.crt") !=
        std::string::npos);
}

TEST_CASE(
    "transport: a Java key store config of Pekko's default engine is refused with what to set") {
  auto [s, errors] = read_settings<cluster_settings>(
      "pekko.cluster.roles = [worker]\n"
      "pekko.remote.artery.transport = tls-tcp\n"
      "pekko.remote.artery.ssl.config-ssl-engine.key-store = \"/etc/pekko/keystore.jks\"\n",
      "jks.conf");
  CHECK(errors.find("jks.conf:3") != std::string::npos);
  CHECK(errors.find("RotatingKeysSSLEngineProvider") != std::string::npos);
  CHECK(errors.find("rotating-keys-engine.{cert-file,key-file,ca-cert-file}") != std::string::npos);

  auto [t, ok] = read_settings<cluster_settings>(
      tls_tcp_with_node_files() +
      "pekko.remote.artery.ssl.ssl-engine-provider = "
      "org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider\n");
  CHECK_MESSAGE(ok.empty(), ok);
  CHECK(t.tls.has_value());
}
