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
