#include "engine/workflow/placeholders.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include "engine/workflow/definition.hpp"

using namespace wfe::workflow;
namespace json = boost::json;

namespace {

struct scope_fixture {
  json::value input = json::parse(R"({"orderId":42,"customer":{"name":"Ann Lee"},
      "items":["a&b","c"]})");
  std::vector<step_output> outputs{
      {"reserve", json_ref(json::parse(R"({"id":"r-1","slots":[3,4]})"))},
      {"price.eur", json_ref(json::parse(R"({"total":9.5})"))}};
  placeholder_scope scope() const { return {"wf-7", input, outputs}; }
};

json::value resolved(const scope_fixture& f, std::string_view input) {
  auto r = resolve_placeholders(json::parse(input), f.scope());
  REQUIRE_MESSAGE(r, (r ? "" : r.error()));
  return *r;
}

std::string refused(const scope_fixture& f, std::string_view input) {
  auto r = resolve_placeholders(json::parse(input), f.scope());
  REQUIRE_FALSE(r);
  return r.error();
}

}  // namespace

TEST_CASE("a string that is one placeholder becomes the value, any JSON") {
  scope_fixture f;
  auto out = resolved(f, R"({"body":{"order":"${workflow.input.orderId}",
      "who":"${workflow.input.customer}","slot":"${steps.reserve.output.slots.1}",
      "total":"${steps.price.eur.output.total}","all":"${workflow.input}","id":"${workflow.id}",
      "list":["${workflow.input.items.0}", 5, true, null]}})");
  const auto& b = out.at("body");
  CHECK(b.at("order") == 42);
  CHECK(b.at("who") == json::object{{"name", "Ann Lee"}});
  CHECK(b.at("slot") == 4);
  CHECK(b.at("total") == 9.5);
  CHECK(b.at("all") == f.input);
  CHECK(b.at("id") == "wf-7");
  CHECK(b.at("list") == json::array{"a&b", 5, true, nullptr});
}

TEST_CASE("a placeholder inside a longer string becomes its text, percent-encoded in the url") {
  scope_fixture f;
  auto out = resolved(
      f,
      R"({"url":"http://127.0.0.1:9/orders/${workflow.input.items.0}?c=${workflow.input.customer.name}",
      "body":"order ${workflow.input.orderId} of ${workflow.input.customer.name}: ${steps.reserve.output}",
      "headers":{"X-Order":"o-${workflow.input.orderId}"}})");
  CHECK(out.at("url") == "http://127.0.0.1:9/orders/a%26b?c=Ann%20Lee");
  CHECK(out.at("body") == R"(order 42 of Ann Lee: {"id":"r-1","slots":[3,4]})");
  CHECK(out.at("headers").at("X-Order") == "o-42");
  // A url that is one placeholder is the value's text as it is (a whole URL).
  f.input = json::object{{"callback", "http://127.0.0.1:9/cb?a=1&b=2"}};
  CHECK(resolved(f, R"({"url":"${workflow.input.callback}"})").at("url") ==
        "http://127.0.0.1:9/cb?a=1&b=2");
}

TEST_CASE("without placeholders nothing changes, and $${ is a literal ${") {
  scope_fixture f;
  const auto plain = json::parse(R"({"url":"http://x/$1","body":{"a":["$",{"b":"{}"}]}})");
  CHECK_FALSE(has_placeholders(plain));
  CHECK(resolved(f, json::serialize(plain)) == plain);
  CHECK(has_placeholders(json::parse(R"({"body":["x","${workflow.id}"]})")));
  CHECK(resolved(f, R"({"body":"cost $${price} for ${workflow.id}"})").at("body") ==
        "cost ${price} for wf-7");
  CHECK(resolved(f, R"({"body":"$${workflow.id}"})").at("body") == "${workflow.id}");
}

TEST_CASE("a placeholder that names nothing fails, naming it") {
  scope_fixture f;
  CHECK(refused(f, R"({"body":"${workflow.input.missing}"})") ==
        "placeholder ${workflow.input.missing} names nothing: no 'missing'");
  CHECK(refused(f, R"({"body":"${workflow.input.items.7}"})").find("no '7'") != std::string::npos);
  CHECK(refused(f, R"({"body":"${workflow.input.orderId.x}"})").find("no 'x'") !=
        std::string::npos);
  CHECK(refused(f, R"({"body":"${steps.ship.output}"})") ==
        "placeholder ${steps.ship.output}: step 'ship' is not one this step depends on");
  CHECK(refused(f, R"({"body":"${workflow.inputs}"})").find("must be ${workflow.id}") !=
        std::string::npos);
  CHECK(refused(f, R"({"body":"${steps.reserve}"})").find("must be") != std::string::npos);
  CHECK(refused(f, R"({"body":"${workflow.input..a}"})").find("must be") != std::string::npos);
  CHECK(refused(f, R"({"body":"x ${workflow.id"})").find("no closing") != std::string::npos);
}

TEST_CASE("a definition's http step may name only steps of its dependsOn") {
  const auto parse = [](const std::string& body) {
    return parse_definition(
        R"({"name":"x","steps":[{"name":"reserve","task":"noop"},)" + body + "]}",
        builtin_task_types());
  };
  CHECK(parse(R"({"name":"call","task":"http","dependsOn":["reserve"],
      "input":{"url":"http://127.0.0.1:9/${steps.reserve.output.id}","body":"${workflow.input}"}})"));
  auto stranger = parse(R"({"name":"call","task":"http",
      "input":{"url":"http://127.0.0.1:9/","body":{"r":"${steps.reserve.output}"}}})");
  REQUIRE_FALSE(stranger);
  CHECK(stranger.error().field == "steps[1].input");
  CHECK(stranger.error().message ==
        "step 'call': placeholder ${steps.reserve.output}: step 'reserve' is not in this step's "
        "dependsOn");
  auto malformed = parse(R"({"name":"call","task":"http","input":{"url":"http://h/${nope}"}})");
  REQUIRE_FALSE(malformed);
  CHECK(malformed.error().message.find("placeholder ${nope} must be") != std::string::npos);
  // Other tasks' inputs are theirs: not checked, not resolved.
  CHECK(parse(R"({"name":"other","task":"noop","input":{"text":"${nope}"}})"));
}
