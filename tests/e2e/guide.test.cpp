// The deployment guide's configs start the real binary unchanged; only ports and
// data directories are moved by -D flags so tests can run side by side.

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "tests/support/node.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

std::string fixture(std::string_view name) {
  return (std::filesystem::path(WFE_SOURCE_DIR) / "tests/fixtures/guide" / name).string();
}

}  // namespace

TEST_CASE("the guide's single-node config starts a node reporting itself Up and leader") {
  node n({"-Dconfig.file=" + fixture("single-node.conf")});
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
  auto r = n.get("/api/v1/cluster/stats");
  REQUIRE(r);
  auto s = json::parse(r->body).as_object();
  CHECK(s.at("members") == 1);
  CHECK(s.at("status") == "Up");
  CHECK(s.at("leader") == json::value(n.self()));
  CHECK(n.self().starts_with("pekko://pekko-cluster-system@127.0.0.1:"));
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE("the guide's node1 config starts with its canonical name and prod system") {
  // node1 is not resolvable here: listen on 127.0.0.1, keep the canonical address.
  node n({"-Dconfig.file=" + fixture("node1.conf"),
          "-Dpekko.remote.artery.canonical.hostname=node1",
          "-Dpekko.remote.artery.bind.hostname=127.0.0.1"});
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
  auto r = n.get("/api/v1/cluster/stats");
  REQUIRE(r);
  auto s = json::parse(r->body).as_object();
  auto self = "pekko://pekko-cluster-system-prod@node1:" + std::to_string(n.transport_port());
  CHECK(s.at("self") == json::value(self));
  CHECK(s.at("roles") == json::parse(R"(["coordinator","worker"])"));
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// The guide's troubleshooting ("节点无法加入集群"): a node whose seeds do not answer logs
// Pekko's "Cluster Node [...] - Couldn't join seed nodes after [N] attempts"; with
// shutdown-after-unsuccessful-join-seed-nodes it gives up and stops.
TEST_CASE("the guide's join symptom: unanswered seeds are logged, then the node gives up") {
  auto seed = "pekko://pekko-cluster-system@127.0.0.1:" + std::to_string(free_port());
  node n({"-Dpekko.cluster.seed-nodes=[\"" + seed + "\"]", "-Dpekko.cluster.seed-node-timeout=1s",
          "-Dpekko.cluster.shutdown-after-unsuccessful-join-seed-nodes=6s"});
  REQUIRE_MESSAGE(n.wait_listening(), n.proc().stdout_text());
  auto r = n.get("/ready");
  REQUIRE(r);
  CHECK(r->status == 503);
  auto code = n.proc().wait(std::chrono::seconds(40));
  auto out = n.proc().stdout_text();
  CHECK(code == 0);
  auto self =
      "Cluster Node [pekko://pekko-cluster-system@127.0.0.1:" + std::to_string(n.transport_port()) +
      "] - ";
  CHECK_MESSAGE(out.find(self +
                         "Couldn't join seed nodes after [2] attempts, will try again. "
                         "seed-nodes=[" +
                         seed + "]") != std::string::npos,
                out);
  CHECK(out.find("Couldn't join seed nodes after [5] attempts") != std::string::npos);
  CHECK(out.find("shutdown-after-unsuccessful-join-seed-nodes [6000 ms]. Running "
                 "CoordinatedShutdown.") != std::string::npos);
  CHECK(out.find("no seed node answered within shutdown-after-unsuccessful-join-seed-nodes") !=
        std::string::npos);
}

// The guide's troubleshooting ("Entity无法创建": "ShardRegion [workflow] is not started",
// check the node's roles): a node without the worker role hosts no workflows and says so
// on every workflow path, while the cluster routes work.
TEST_CASE("the guide's entity symptom: a node without the worker role names its roles") {
  node n({"-Dpekko.cluster.roles=[\"api-gateway\"]"});
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  auto stats = n.get("/api/v1/cluster/stats");
  REQUIRE(stats);
  CHECK(stats->status == 200);
  struct call {
    const char* method;
    const char* target;
    const char* body;
  };
  for (auto c : {call{"POST", "/api/v1/workflows", R"({"definition":"d"})"},
                 call{"GET", "/api/v1/workflows?status=RUNNING", ""},
                 call{"GET", "/api/v1/workflows/wf-1/history", ""},
                 call{"POST", "/api/v1/workflow-definitions",
                      R"({"name":"d","steps":[{"name":"a","task":"noop"}]})"},
                 call{"GET", "/api/v1/dead-letters", ""}, call{"GET", "/api/v1/cluster/shards", ""},
                 call{"POST", "/api/v1/tasks/poll", R"({"queue":"q","workerId":"w"})"}}) {
    INFO(c.method << " " << c.target);
    auto r = n.request(c.method, c.target, c.body);
    REQUIRE(r);
    CHECK(r->status == 503);
    auto e = json::parse(r->body).at("error");
    CHECK(e.at("code") == "shard_region_not_started");
    CHECK(std::string(e.at("message").as_string())
              .starts_with("ShardRegion [workflow] is not started on this node: its roles are "
                           "[api-gateway]"));
  }
  CHECK(n.proc().stdout_text().find("ShardRegion [workflow] is not started") != std::string::npos);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}
