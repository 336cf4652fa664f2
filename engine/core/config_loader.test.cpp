#include "engine/core/config_loader.hpp"

#include <doctest/doctest.h>

#include <map>

#include "engine/core/resources.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::core;

namespace {

env_reader fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

config load(config_sources s) {
  if (!s.env) s.env = fake_env({});
  auto c = load_config(s);
  REQUIRE_MESSAGE(c, (c ? "" : c.error().describe()));
  return *c;
}

}  // namespace

TEST_CASE("the compiled-in resources include reference, application and application-prod") {
  CHECK(find_resource("reference.conf"));
  CHECK(find_resource("/application.conf"));
  CHECK(find_resource("application-prod.conf"));
  CHECK_FALSE(find_resource("nope.conf"));
}

TEST_CASE("without a config file the embedded application.conf sits over reference.conf") {
  auto c = load({});
  CHECK(*c.get_string("pekko.actor.system-name") == "pekko-cluster-system");
  CHECK(c.get_string_list("pekko.cluster.roles")->size() == 3);
  CHECK(*c.get_int("pekko.workflow.http.port") == 8080);  // from reference.conf
  CHECK(c.origin_of("pekko.workflow.http.port").file == "classpath:reference.conf");
}

TEST_CASE("layers: -D beats environment beats config file beats reference") {
  wfe::test::temp_dir dir;
  auto file = dir.write("node.conf", R"(
include classpath("application-prod.conf")
pekko.remote.artery.canonical { hostname = "node1", port = 2551 }
pekko.workflow.http.port = 8081
)");
  config_sources s;
  s.config_file = file;
  s.env = fake_env({{"PEKKO_HOSTNAME", "10.1.2.3"}, {"PEKKO_PORT", "2600"}});
  s.overrides = {{"pekko.remote.artery.canonical.port", "2700"}};
  auto c = load(s);
  CHECK(*c.get_string("pekko.remote.artery.canonical.hostname") == "10.1.2.3");
  CHECK(*c.get_int("pekko.remote.artery.canonical.port") == 2700);
  CHECK(*c.get_int("pekko.workflow.http.port") == 8081);
  CHECK(*c.get_string("pekko.actor.system-name") == "pekko-cluster-system-prod");
  CHECK(c.origin_of("pekko.workflow.http.port").line == 4);
}

TEST_CASE("PEKKO_ROLES and PEKKO_SEED_NODES accept a list or comma-separated words") {
  config_sources s;
  SUBCASE("list syntax, as in the StatefulSet") {
    s.env = fake_env({{"PEKKO_ROLES", R"(["worker"])"}});
    auto roles = *load(s).get_string_list("pekko.cluster.roles");
    REQUIRE(roles.size() == 1);
    CHECK(roles[0] == "worker");
  }
  SUBCASE("comma-separated") {
    s.env = fake_env({{"PEKKO_ROLES", "worker, api-gateway"},
                      {"PEKKO_SEED_NODES", "pekko://s@a:1,pekko://s@b:2"}});
    auto c = load(s);
    auto roles = *c.get_string_list("pekko.cluster.roles");
    REQUIRE(roles.size() == 2);
    CHECK(roles[1] == "api-gateway");
    auto seeds = *c.get_string_list("pekko.cluster.seed-nodes");
    REQUIRE(seeds.size() == 2);
    CHECK(seeds[1] == "pekko://s@b:2");
  }
}

TEST_CASE("-Dconfig.resource loads a compiled-in resource instead of application.conf") {
  config_sources s;
  s.config_resource = "application-prod.conf";
  auto c = load(s);
  CHECK(*c.get_string("pekko.persistence.journal.rocksdb.dir") == "/var/lib/pekko/journal");
}

TEST_CASE("a syntax error in the config file names file, line and column") {
  wfe::test::temp_dir dir;
  auto file = dir.write("broken.conf", "pekko {\n  cluster {\n    roles = [\"worker\"\n  }\n");
  config_sources s;
  s.config_file = file;
  s.env = fake_env({});
  auto c = load_config(s);
  REQUIRE_FALSE(c);
  auto text = c.error().describe();
  CHECK(text.find("broken.conf:") != std::string::npos);
  CHECK(c.error().origin.line >= 3);
}

TEST_CASE("a missing config file is an error naming it") {
  config_sources s;
  s.config_file = "/nonexistent/node.conf";
  s.env = fake_env({});
  auto c = load_config(s);
  REQUIRE_FALSE(c);
  CHECK(c.error().describe().find("/nonexistent/node.conf") != std::string::npos);
}
