#include "engine/workflow/json_ref.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>

using wfe::workflow::json_ref;
namespace json = boost::json;

TEST_CASE("json_ref: null by default, compares by content, copies share one value") {
  const json_ref none;
  CHECK(none->is_null());
  CHECK(json_ref(nullptr)->is_null());
  CHECK(none == json_ref(json::value()));

  const json_ref a = json::object{{"k", json::array{1, "two"}}};
  const json_ref b = json::object{{"k", json::array{1, "two"}}};
  CHECK(&a.get() != &b.get());
  CHECK(a == b);  // by content
  CHECK_FALSE(a == json_ref(json::object{{"k", 2}}));
  CHECK_FALSE(a == none);

  const json_ref copy = a;  // NOLINT(performance-unnecessary-copy-initialization): the point
  CHECK(&copy.get() == &a.get());
  CHECK(json::serialize(*copy) == R"({"k":[1,"two"]})");

  json::value moved = json::string("payload");
  const json_ref from_move(std::move(moved));
  CHECK(from_move->as_string() == "payload");
}
