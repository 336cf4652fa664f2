#include "engine/core/health.hpp"

#include <doctest/doctest.h>

using wfe::core::health;

TEST_CASE("health: UP until a component is down, again once every one is up") {
  health h;
  CHECK(h.down().empty());
  h.set_down("journal", "damaged");
  h.set_down("workflow-index", "damaged too");
  h.set_down("journal", "still damaged");  // replaces the reason
  using row = std::pair<std::string, std::string>;
  CHECK(h.down() ==
        std::vector<row>{{"journal", "still damaged"}, {"workflow-index", "damaged too"}});
  h.set_up("journal");
  CHECK(h.down() == std::vector<row>{{"workflow-index", "damaged too"}});
  h.set_up("never-down");
  h.set_up("workflow-index");
  CHECK(h.down().empty());
}
