// The deployment guide's configs (tests/fixtures/guide, verbatim) load unchanged
// and yield the settings the guide promises.

#include <doctest/doctest.h>

#include "api/api_settings.hpp"
#include "cluster/cluster_settings.hpp"
#include "engine/core/logging.hpp"
#include "persistence/persistence_settings.hpp"
#include "tests/support/load_settings.hpp"

using namespace wfe;

namespace {

std::filesystem::path fixture(std::string_view name) {
  return std::filesystem::path(WFE_SOURCE_DIR) / "tests/fixtures/guide" / name;
}

struct all_settings {
  cluster::cluster_settings cluster;
  persistence::persistence_settings persistence;
  api::api_settings api;
  core::logging_settings logging;
};

all_settings read_all(const core::config& cfg) {
  core::settings_reader r(cfg);
  all_settings s{cluster::cluster_settings::read(r), persistence::persistence_settings::read(r),
                 api::api_settings::read(r), core::logging_settings::read(r)};
  REQUIRE_MESSAGE(r.ok(), core::describe(r.errors()));
  return s;
}

}  // namespace

TEST_CASE("the guide's single-node config loads with all roles and the guide's ports") {
  auto s = read_all(test::load_file(fixture("single-node.conf")));
  CHECK(s.cluster.self.to_string() == "pekko://pekko-cluster-system@127.0.0.1:2551");
  REQUIRE(s.cluster.seed_nodes.size() == 1);
  CHECK(s.cluster.seed_nodes[0] == s.cluster.self);
  CHECK(s.cluster.roles == std::vector<std::string>{"coordinator", "worker", "api-gateway"});
  CHECK(s.api.http.port == 8080);
  CHECK(s.api.metrics.port == 9095);
  CHECK(s.persistence.journal_dir == "./data/journal");
}

TEST_CASE("the guide's three node configs load with their roles and prod defaults") {
  struct expect {
    const char* file;
    const char* host;
    std::vector<std::string> roles;
  };
  for (const auto& e : {expect{"node1.conf", "node1", {"coordinator", "worker"}},
                        expect{"node2.conf", "node2", {"worker", "api-gateway"}},
                        expect{"node3.conf", "node3", {"worker", "api-gateway"}}}) {
    CAPTURE(e.file);
    auto s = read_all(test::load_file(fixture(e.file)));
    CHECK(s.cluster.self.to_string() ==
          std::string("pekko://pekko-cluster-system-prod@") + e.host + ":2551");
    REQUIRE(s.cluster.seed_nodes.size() == 3);
    CHECK(s.cluster.seed_nodes[2].to_string() == "pekko://pekko-cluster-system-prod@node3:2551");
    CHECK(s.cluster.roles == e.roles);
    CHECK(s.persistence.journal_dir == "/var/lib/pekko/journal");
    CHECK(s.persistence.snapshot_dir == "/var/lib/pekko/snapshots");
    CHECK(s.logging.fmt == core::logging_settings::format::json);
  }
}

TEST_CASE("the Kubernetes ConfigMap config takes hostname, port and roles from the environment") {
  core::config_sources src;
  src.config_file = fixture("k8s-configmap.conf");
  src.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "PEKKO_HOSTNAME") return "10.244.1.7";
    if (name == "PEKKO_PORT") return "2551";
    if (name == "PEKKO_ROLES") return R"(["worker"])";
    return std::nullopt;
  };
  auto cfg = core::load_config(src);
  REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().describe()));
  auto s = read_all(*cfg);
  CHECK(s.cluster.self.to_string() == "pekko://pekko-cluster-system-prod@10.244.1.7:2551");
  CHECK(s.cluster.roles == std::vector<std::string>{"worker"});
  CHECK(s.cluster.seed_nodes[0].host ==
        "workflow-engine-0.workflow-engine-headless.workflow.svc.cluster.local");
}

TEST_CASE("the guide's tuning snippets set shards, passivation and snapshot frequency") {
  test::temp_dir dir;
  SUBCASE("high throughput") {
    auto base = test::read_file(fixture("single-node.conf")) +
                test::read_file(fixture("tuning-throughput.conf"));
    auto s = read_all(test::load_file(dir.write("node.conf", base)));
    CHECK(s.cluster.sharding.number_of_shards == 200);
    CHECK(s.cluster.sharding.passivate_idle_entity_after == std::chrono::hours(2));
    CHECK(s.persistence.snapshot_every == 200);
  }
  SUBCASE("low latency") {
    auto base = test::read_file(fixture("single-node.conf")) +
                test::read_file(fixture("tuning-latency.conf"));
    auto s = read_all(test::load_file(dir.write("node.conf", base)));
    CHECK(s.cluster.sharding.number_of_shards == 50);
    CHECK(s.cluster.sharding.passivate_idle_entity_after == std::chrono::minutes(30));
    CHECK(s.persistence.snapshot_every == 50);
  }
}

TEST_CASE("reference.conf defaults satisfy every module's validation") {
  test::temp_dir dir;
  auto s = read_all(test::load_file(dir.write("empty.conf", "pekko.cluster.roles = [worker]\n")));
  CHECK(s.api.http.limits.max_uri_bytes == 2048);
  CHECK(s.api.http.limits.max_header_bytes == 8192);
  CHECK(s.api.http.limits.max_body_bytes == 8u << 20);
  CHECK(s.api.http.limits.idle_timeout == std::chrono::seconds(60));
  CHECK(s.api.http.limits.request_timeout == std::chrono::seconds(20));
  CHECK(s.persistence.snapshot_every == 100);
}
