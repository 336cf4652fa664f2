// GET /health over real HTTP with the node routes' gateway actor: UP, then 503 DOWN
// naming each component a store reported down (core/health.hpp), then UP again.
#include "api/node_routes.hpp"

#include <memory>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "api/http/http_test_support.hpp"

namespace wfe::api::test {

TEST_CASE("GET /health is 503 DOWN naming each component down in the node's health") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::actor membership;  // /health asks for no cluster view
  auto health = std::make_shared<core::health>();
  router routes;
  node_routes_config nc{&sys, &membership, "test", std::chrono::milliseconds(2000), true, health};
  auto gateway = add_node_routes(routes, nc);
  {
    running_server srv(std::move(routes));
    client c(srv.port());
    auto up = c.get("/health");
    REQUIRE_FALSE(up.ec);
    CHECK(up.status() == 200);
    CHECK(boost::json::parse(up.res.body()) == boost::json::parse(R"({"status":"UP"})"));

    health->set_down("workflow-index", "writing stopped; restart the node");
    health->set_down("journal", "journal /data is read-only; restart the node");
    auto down = c.get("/health");
    REQUIRE_FALSE(down.ec);
    CHECK(down.status() == 503);
    CHECK(boost::json::parse(down.res.body()) == boost::json::parse(R"({"status":"DOWN","down":[
        {"component":"journal","reason":"journal /data is read-only; restart the node"},
        {"component":"workflow-index","reason":"writing stopped; restart the node"}]})"));

    health->set_up("journal");
    health->set_up("workflow-index");
    CHECK(c.get("/health").status() == 200);
  }
  caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
}

}  // namespace wfe::api::test
