// api/workflow_routes over real HTTP against the real runtime (RocksDB journal, index,
// dispatcher, registry): DESIGN.md §9 shapes and status codes, bad input answered 4xx
// naming the field, nothing persisted for a rejected start.
#include "api/workflow_routes.hpp"

#include <functional>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include "api/http/http_server.hpp"
#include "engine/workflow/runtime/runtime_test_fixture.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/tasks/task_dispatcher.hpp"
#include "engine/workflow/tasks/task_test_fixture.hpp"
#include "tests/support/http_client.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::runtime;
using namespace wfe::workflow::runtime::test;
namespace json = boost::json;

namespace {

class api_node {
 public:
  // `tweak` changes the node's settings before it starts.
  explicit api_node(const std::function<void(runtime_config&)>& tweak = {})
      : node(dir.path(), tweaked(dir.path(), tweak)) {
    wfe::api::router r;
    wfe::api::workflow_routes_config c;
    c.system = &node.sys();
    c.region = &node.parts.region;
    c.router = &node.parts.router;
    c.registry = &node.parts.registry;
    c.index = &node.parts.index;
    c.journal = &node.journal_actor();
    c.load = node.parts.load;
    c.number_of_shards = 8;
    c.history_default_limit = 100;
    c.history_max_limit = 1000;
    gateway = wfe::api::add_workflow_routes(r, c);
    server_ = wfe::workflow::test::start_local_server(std::move(r), node.registry());
  }
  ~api_node() {
    server_->stop(std::chrono::steady_clock::now() + 2s);
    caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
  }

  wfe::test::http_reply call(const std::string& method, const std::string& target,
                             const std::string& body = {}) {
    auto r = wfe::test::http_request(server_->bound_port(), method, target, body);
    REQUIRE(r);
    return *r;
  }
  json::value get_json(const std::string& target) { return json::parse(call("GET", target).body); }

  wfe::test::temp_dir dir;
  incarnation node;
  caf::actor gateway;

  static runtime_config tweaked(const std::filesystem::path& dir,
                                const std::function<void(runtime_config&)>& tweak) {
    auto c = default_config(dir);
    if (tweak) tweak(c);
    return c;
  }

 private:
  std::unique_ptr<wfe::api::http_server> server_;
};

std::string error_code(const wfe::test::http_reply& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}
std::string error_field(const wfe::test::http_reply& r) {
  auto v = json::parse(r.body);
  const auto& e = v.at("error").as_object();
  return e.contains("field") ? std::string(e.at("field").as_string()) : "";
}

const char* k_order = R"({"name":"order","steps":[{"name":"a","task":"noop"},
    {"name":"b","task":"noop","dependsOn":["a"]}]})";

}  // namespace

TEST_CASE("definitions: 201 new, 200 identical re-post, 400 naming the field, GET") {
  api_node n;
  auto created = n.call("POST", "/api/v1/workflow-definitions", k_order);
  CHECK(created.status == 201);
  CHECK(json::parse(created.body) == json::parse(R"({"name":"order","version":1,"created":true})"));
  CHECK(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 200);
  auto bad = n.call("POST", "/api/v1/workflow-definitions",
                    R"({"name":"x","steps":[{"name":"a","task":"nope"}]})");
  CHECK(bad.status == 400);
  CHECK(error_field(bad) == "steps[0].task");
  CHECK(n.call("POST", "/api/v1/workflow-definitions", "{").status == 400);
  auto got = n.get_json("/api/v1/workflow-definitions/order");
  CHECK(got.at("version") == 1);
  CHECK(n.call("GET", "/api/v1/workflow-definitions/order?version=2").status == 404);
  CHECK(n.call("GET", "/api/v1/workflow-definitions/nope").status == 404);
}

TEST_CASE("workflows are listed by creation time over HTTP: createdAfter, createdBefore") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"wf-t","definition":"order"})").status ==
          201);
  auto created = std::string(n.get_json("/api/v1/workflows/wf-t").at("createdAt").as_string());
  auto ids = [&n](const std::string& query) {
    std::vector<std::string> out;
    const auto page = n.get_json("/api/v1/workflows?" + query);  // owns what the loop reads
    for (const auto& i : page.at("items").as_array()) out.emplace_back(i.at("id").as_string());
    return out;
  };
  const std::vector<std::string> just{"wf-t"};
  CHECK(ids("createdAfter=" + created) == just);   // inclusive
  CHECK(ids("createdBefore=" + created).empty());  // exclusive
  CHECK(ids("createdAfter=2000-01-01T00:00:00Z&createdBefore=2999-01-01T00:00:00Z") == just);
  CHECK(ids("status=COMPLETED&definition=order&createdAfter=2000-01-01T00:00:00Z") == just);
  CHECK(ids("createdAfter=2999-01-01T00:00:00Z").empty());
  CHECK(error_field(n.call("GET", "/api/v1/workflows?createdAfter=yesterday")) == "createdAfter");
  CHECK(error_field(n.call("GET", "/api/v1/workflows?createdBefore=2026-13-01T00:00:00Z")) ==
        "createdBefore");
}

TEST_CASE("definitions are listed by name over HTTP, a page at a time") {
  api_node n;
  CHECK(n.get_json("/api/v1/workflow-definitions") == json::parse(R"({"items":[]})"));
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions",
                 R"({"name":"audit","steps":[{"name":"a","task":"noop"}]})")
              .status == 201);
  auto first = n.get_json("/api/v1/workflow-definitions?limit=1");
  CHECK(
      first ==
      json::parse(
          R"({"items":[{"name":"audit","version":1,"versions":1,"steps":1}],"nextCursor":"audit"})"));
  auto rest = n.get_json("/api/v1/workflow-definitions?limit=1&cursor=audit");
  const auto& items = rest.at("items").as_array();
  REQUIRE(items.size() == 1);
  CHECK(items[0].at("name") == "order");
  CHECK_FALSE(rest.as_object().contains("nextCursor"));
  CHECK(error_field(n.call("GET", "/api/v1/workflow-definitions?limit=0")) == "limit");
  CHECK(error_field(n.call("GET", "/api/v1/workflow-definitions?limit=1001")) == "limit");
  CHECK(error_field(n.call("GET", "/api/v1/workflow-definitions?cursor=a%20b")) == "cursor");
}

TEST_CASE("starts: 201 after the start is durable, 409 with the status, 404, 400, 405") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 201);
  auto started = n.call("POST", "/api/v1/workflows", R"({"id":"wf-1","definition":"order"})");
  REQUIRE(started.status == 201);
  auto body = json::parse(started.body);
  CHECK(body.at("id") == "wf-1");
  // Its two noop steps ran in the start's write (inline-noop): the whole run, 8 events,
  // is durable when the 201 is sent.
  CHECK(body.at("status") == "COMPLETED");
  auto pid =
      wfe::persistence::persistence_id{wfe::persistence::shard_id{shard_of("wf-1", 8)}, "wf-1"};
  CHECK(*n.node.journal().highest_sequence_nr(pid) == 8);

  auto dup = n.call("POST", "/api/v1/workflows", R"({"id":"wf-1","definition":"order"})");
  CHECK(dup.status == 409);
  CHECK(error_code(dup) == "already_exists");
  CHECK(json::parse(dup.body).at("error").as_object().contains("status"));

  auto generated = n.call("POST", "/api/v1/workflows", R"({"definition":"order"})");
  CHECK(generated.status == 201);
  CHECK(is_valid_id(json::parse(generated.body).at("id").as_string()));

  auto unknown = n.call("POST", "/api/v1/workflows", R"({"id":"wf-2","definition":"nope"})");
  CHECK(unknown.status == 404);
  CHECK(error_code(unknown) == "definition_not_found");
  auto nothing =
      wfe::persistence::persistence_id{wfe::persistence::shard_id{shard_of("wf-2", 8)}, "wf-2"};
  CHECK(*n.node.journal().highest_sequence_nr(nothing) == 0);

  auto bad_id = n.call("POST", "/api/v1/workflows", R"({"id":"a b","definition":"order"})");
  CHECK(bad_id.status == 400);
  CHECK(error_field(bad_id) == "id");
  CHECK(error_field(n.call("POST", "/api/v1/workflows", R"({"definition":7})")) == "definition");
  CHECK(error_field(n.call("POST", "/api/v1/workflows",
                           R"({"definition":"order","priority":"urgent"})")) == "priority");
  CHECK(n.call("POST", "/api/v1/workflows", "not json").status == 400);
  // A workflow timeout of up to ten years (a durable timer like a timer step's).
  CHECK(error_field(n.call("POST", "/api/v1/workflows",
                           R"({"definition":"order","timeoutMs":315360000001})")) == "timeoutMs");
  CHECK(error_field(n.call("POST", "/api/v1/workflows",
                           R"({"definition":"order","timeoutMs":-1})")) == "timeoutMs");
  auto far = n.call("POST", "/api/v1/workflows",
                    R"({"id":"wf-far","definition":"order","timeoutMs":315360000000})");
  CHECK(far.status == 201);
  CHECK(n.call("PUT", "/api/v1/workflows/wf-1").status == 405);
  CHECK(n.call("GET", "/api/v1/workflows/a%20b").status == 400);
}

TEST_CASE("a workflow runs, GET, history seq 1..n, list, signal and cancel after the end") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"wf-h","definition":"order"})").status ==
          201);
  REQUIRE(
      eventually([&] { return n.get_json("/api/v1/workflows/wf-h").at("status") == "COMPLETED"; }));
  auto history = n.get_json("/api/v1/workflows/wf-h/history");
  const auto& events = history.at("events").as_array();
  REQUIRE(events.size() >= 6);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].at("seq") == i + 1);
  CHECK(events.front().at("type") == "WorkflowStarted");
  CHECK(events.back().at("type") == "WorkflowCompleted");
  auto page = n.get_json("/api/v1/workflows/wf-h/history?limit=2");
  CHECK(page.at("events").as_array().size() == 2);
  CHECK(page.at("nextFrom") == 3);
  CHECK(n.call("GET", "/api/v1/workflows/wf-h/history?limit=0").status == 400);
  CHECK(n.call("GET", "/api/v1/workflows/none/history").status == 404);
  CHECK_FALSE(history.as_object().contains("deletedBefore"));  // nothing was deleted

  // Events deleted after a snapshot (delete-events-on-snapshot): the history says where
  // it starts instead of silently starting later; all of them deleted is not a 404.
  const auto pid =
      wfe::persistence::persistence_id{wfe::persistence::shard_id{shard_of("wf-h", 8)}, "wf-h"};
  REQUIRE(n.node.journal().delete_to(pid, 3));
  auto trimmed = n.get_json("/api/v1/workflows/wf-h/history");
  CHECK(trimmed.at("deletedBefore") == 4);
  const auto& rest = trimmed.at("events").as_array();
  REQUIRE(rest.size() == events.size() - 3);
  CHECK(rest.front().at("seq") == 4);
  CHECK(n.get_json("/api/v1/workflows/wf-h/history?from=2&limit=1").at("deletedBefore") == 4);
  CHECK_FALSE(n.get_json("/api/v1/workflows/wf-h/history?from=5").as_object().contains(
      "deletedBefore"));
  REQUIRE(n.node.journal().delete_to(pid, events.size()));
  auto none = n.call("GET", "/api/v1/workflows/wf-h/history");
  CHECK(none.status == 200);
  auto empty = json::parse(none.body);
  CHECK(empty.at("events").as_array().empty());
  CHECK(empty.at("deletedBefore") == events.size() + 1);
  CHECK_FALSE(json::parse(n.call("GET", "/api/v1/workflows/wf-h/history?from=" +
                                          std::to_string(events.size() + 1))
                              .body)
                  .as_object()
                  .contains("deletedBefore"));  // past the end: nothing deleted there

  REQUIRE(eventually([&] {
    auto l = n.get_json("/api/v1/workflows?status=COMPLETED&definition=order");
    return l.at("items").as_array().size() == 1;
  }));
  CHECK(n.call("GET", "/api/v1/workflows?status=bogus").status == 400);

  auto late = n.call("POST", "/api/v1/workflows/wf-h/signals/go", R"({"x":1})");
  CHECK(late.status == 409);
  CHECK(error_code(late) == "workflow_finished");
  CHECK(n.call("POST", "/api/v1/workflows/wf-h/cancel").status == 409);
  CHECK(n.call("POST", "/api/v1/workflows/none/cancel").status == 404);
  CHECK(n.call("GET", "/api/v1/workflows/none").status == 404);
}

TEST_CASE("dead letters over HTTP: listed, retried with 202, then gone") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions",
                 R"({"name":"dl","steps":[{"name":"a","task":"fail","input":{"times":1}}]})")
              .status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"wf-d","definition":"dl"})").status == 201);
  REQUIRE(eventually(
      [&] { return n.get_json("/api/v1/dead-letters").at("items").as_array().size() == 1; }));
  auto letters = n.get_json("/api/v1/dead-letters");
  auto item = letters.at("items").at(0);
  CHECK(item.at("workflowId") == "wf-d");
  CHECK(item.at("step") == "a");
  CHECK(item.at("attempts") == 1);
  CHECK(n.call("POST", "/api/v1/dead-letters/nope/retry").status == 404);
  CHECK(n.call("POST", "/api/v1/dead-letters/wf-d/retry").status == 202);
  REQUIRE(
      eventually([&] { return n.get_json("/api/v1/workflows/wf-d").at("status") == "COMPLETED"; }));
  CHECK(eventually(
      [&] { return n.get_json("/api/v1/dead-letters").at("items").as_array().empty(); }));
  CHECK(n.call("POST", "/api/v1/dead-letters/wf-d/retry").status == 404);
}

// A redrive: after an outage, every dead letter retried a page at a time.
TEST_CASE("dead letters are retried a page at a time: retried, failed, nextCursor") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions",
                 R"({"name":"dl","steps":[{"name":"a","task":"fail","input":{"times":1}}]})")
              .status == 201);
  const std::vector<std::string> ids{"wf-r1", "wf-r2", "wf-r3", "wf-r4", "wf-r5"};
  for (const auto& id : ids) {
    REQUIRE(
        n.call("POST", "/api/v1/workflows", R"({"definition":"dl","id":")" + id + R"("})").status ==
        201);
  }
  REQUIRE(eventually(
      [&] { return n.get_json("/api/v1/dead-letters").at("items").as_array().size() == 5; }));
  std::vector<std::string> retried;
  std::string cursor;
  int pages = 0;
  do {
    auto body = cursor.empty() ? std::string(R"({"limit":2})")
                               : R"({"limit":2,"cursor":")" + cursor + R"("})";
    auto res = n.call("POST", "/api/v1/dead-letters/retry", body);
    REQUIRE(res.status == 200);
    auto o = json::parse(res.body).as_object();
    CHECK(o.at("failed").as_array().empty());
    for (const auto& id : o.at("retried").as_array()) retried.emplace_back(id.as_string());
    cursor = o.contains("nextCursor") ? std::string(o.at("nextCursor").as_string()) : "";
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(retried == ids);  // the listing's order: by id
  CHECK(pages == 3);
  // No dead letter left: an empty page. Bad bodies are a 400 naming the field.
  REQUIRE(eventually(
      [&] { return n.get_json("/api/v1/dead-letters").at("items").as_array().empty(); }));
  CHECK(json::parse(n.call("POST", "/api/v1/dead-letters/retry").body) ==
        json::parse(R"({"retried":[],"failed":[]})"));
  CHECK(error_field(n.call("POST", "/api/v1/dead-letters/retry", R"({"limit":0})")) == "limit");
  CHECK(n.call("POST", "/api/v1/dead-letters/retry", R"({"limit":1001})").status == 400);
  CHECK(error_field(n.call("POST", "/api/v1/dead-letters/retry", R"({"cursor":7})")) == "cursor");
  CHECK(n.call("POST", "/api/v1/dead-letters/retry", R"({"cursor":"zz"})").status == 400);
}

// The dead-letter listing and the redrive narrowed to one definition or one step.
TEST_CASE("dead letters filtered by definition and step, listed and retried") {
  api_node n;
  for (const auto* def :
       {R"({"name":"dl1","steps":[{"name":"a","task":"fail","input":{"times":1}}]})",
        R"({"name":"dl2","steps":[{"name":"b","task":"fail","input":{"times":1}}]})"}) {
    REQUIRE(n.call("POST", "/api/v1/workflow-definitions", def).status == 201);
  }
  for (const auto& [id, def] : std::vector<std::pair<std::string, std::string>>{
           {"wf-x1", "dl1"}, {"wf-x2", "dl1"}, {"wf-y1", "dl2"}, {"wf-y2", "dl2"}}) {
    REQUIRE(n.call("POST", "/api/v1/workflows",
                   R"({"definition":")" + def + R"(","id":")" + id + R"("})")
                .status == 201);
  }
  REQUIRE(eventually(
      [&] { return n.get_json("/api/v1/dead-letters").at("items").as_array().size() == 4; }));
  auto ids = [&](const std::string& query) {
    std::set<std::string> out;
    const auto page = n.get_json("/api/v1/dead-letters" + query);  // owns what the loop reads
    for (const auto& d : page.at("items").as_array()) out.emplace(d.at("workflowId").as_string());
    return out;
  };
  CHECK(ids("?definition=dl2") == std::set<std::string>{"wf-y1", "wf-y2"});
  CHECK(ids("?step=a") == std::set<std::string>{"wf-x1", "wf-x2"});
  CHECK(ids("?definition=dl1&step=a&limit=1").size() == 1);
  CHECK(ids("?definition=dl1&step=b").empty());
  CHECK(ids("?definition=nosuch").empty());
  CHECK(error_field(n.call("GET", "/api/v1/dead-letters?step=a%20b")) == "step");
  CHECK(error_field(n.call("GET", "/api/v1/dead-letters?definition=a%2Fb")) == "definition");
  // The redrive of dl2 only: its two workflows run again, dl1's stay dead-lettered.
  auto res = n.call("POST", "/api/v1/dead-letters/retry", R"({"definition":"dl2"})");
  REQUIRE(res.status == 200);
  std::set<std::string> retried;
  const auto answer = json::parse(res.body);
  for (const auto& id : answer.at("retried").as_array()) retried.emplace(id.as_string());
  CHECK(retried == std::set<std::string>{"wf-y1", "wf-y2"});
  REQUIRE(eventually([&] { return ids("").size() == 2; }));
  CHECK(ids("") == std::set<std::string>{"wf-x1", "wf-x2"});
  CHECK(error_field(n.call("POST", "/api/v1/dead-letters/retry", R"({"step":5})")) == "step");
  CHECK(error_field(n.call("POST", "/api/v1/dead-letters/retry", R"({"definition":"a b"})")) ==
        "definition");
  // A step filter that matches nothing retries nothing.
  CHECK(json::parse(n.call("POST", "/api/v1/dead-letters/retry", R"({"step":"zz"})").body) ==
        json::parse(R"({"retried":[],"failed":[]})"));
  CHECK(ids("").size() == 2);
}

// A dead letter whose workflow refuses the retry is reported, not hidden, and the rest
// of the page goes on. Made here by deleting a passivated workflow's journal behind the
// index's back: its entity recovers empty and answers not found.
TEST_CASE("a page retry reports the dead letters whose workflow refused the retry") {
  api_node n([](runtime_config& c) { c.runtime.passivate_idle_after = 50ms; });
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions",
                 R"({"name":"dl","steps":[{"name":"a","task":"fail","input":{"times":1}}]})")
              .status == 201);
  for (const auto* id : {"wf-a", "wf-b"}) {
    REQUIRE(n.call("POST", "/api/v1/workflows",
                   R"({"definition":"dl","id":")" + std::string(id) + R"("})")
                .status == 201);
  }
  REQUIRE(eventually(
      [&] { return n.get_json("/api/v1/dead-letters").at("items").as_array().size() == 2; }));
  REQUIRE(eventually([&] { return n.node.metric("workflow_entities_active") == 0; }));
  const auto pid =
      wfe::persistence::persistence_id{wfe::persistence::shard_id{shard_of("wf-a", 8)}, "wf-a"};
  auto highest = n.node.journal().highest_sequence_nr(pid);
  REQUIRE(highest);
  REQUIRE(n.node.journal().purge(pid, *highest));
  auto page = json::parse(n.call("POST", "/api/v1/dead-letters/retry").body).as_object();
  CHECK(page.at("retried") == json::parse(R"(["wf-b"])"));
  REQUIRE(page.at("failed").as_array().size() == 1);
  CHECK(page.at("failed").at(0).at("id") == "wf-a");
  CHECK(page.at("failed").at(0).at("error").at("code") == "not_retried");
  CHECK_FALSE(page.at("failed").at(0).at("error").at("message").as_string().empty());
}

TEST_CASE("starts: the latest version by default (straight to the shard), or the one asked for") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"v-a","definition":"order"})").status ==
          201);
  // A new version is used by the next start without a version: it is published to the
  // HTTP threads before its registration is answered.
  const char* v2 = R"({"name":"order","steps":[{"name":"a","task":"noop"}]})";
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", v2).status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"v-b","definition":"order"})").status ==
          201);
  auto pinned =
      n.call("POST", "/api/v1/workflows", R"({"id":"v-c","definition":"order","version":1})");
  REQUIRE(pinned.status == 201);
  CHECK(json::parse(pinned.body).at("version") == 1);
  CHECK(n.get_json("/api/v1/workflows/v-a").at("version") == 1);
  CHECK(n.get_json("/api/v1/workflows/v-b").at("version") == 2);
  CHECK(n.get_json("/api/v1/workflows/v-c").at("version") == 1);
  auto missing =
      n.call("POST", "/api/v1/workflows", R"({"id":"v-d","definition":"order","version":3})");
  CHECK(missing.status == 404);
  // Starts through the gateway (a pinned version; also the first start of a definition
  // the HTTP threads do not know yet) reach the shard of their id, so every later request
  // finds them: the journal holds each under {shard_of(id), id}, a GET answers it and a
  // second start of the id is 409. (They once went to shard_of(""), the id moved out
  // while the call's arguments were evaluated.)
  for (int i = 0; i < 8; ++i) {
    const auto id = "pin-" + std::to_string(i);
    auto r = n.call("POST", "/api/v1/workflows",
                    R"({"id":")" + id + R"(","definition":"order","version":1})");
    REQUIRE(r.status == 201);
    auto highest = n.node.journal().highest_sequence_nr(
        wfe::persistence::persistence_id{wfe::persistence::shard_id{shard_of(id, 8)}, id});
    REQUIRE(highest);
    CHECK_MESSAGE(*highest >= 1, id);
    CHECK_MESSAGE(n.call("GET", "/api/v1/workflows/" + id).status == 200, id);
    CHECK_MESSAGE(n.call("POST", "/api/v1/workflows",
                         R"({"id":")" + id + R"(","definition":"order","version":1})")
                          .status == 409,
                  id);
  }
}

TEST_CASE("DELETE a workflow: 409 while RUNNING, 204 once finished, then 404 and the id is free") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions",
                 R"({"name":"waits","steps":[{"name":"a","task":"fail","input":{"times":9},
                     "retry":{"maxAttempts":3,"initialIntervalMs":3600000}}]})")
              .status == 201);
  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"wf-r","definition":"waits"})").status ==
          201);
  auto running = n.call("DELETE", "/api/v1/workflows/wf-r");
  CHECK(running.status == 409);
  CHECK(error_code(running) == "workflow_running");
  CHECK(json::parse(running.body).at("error").at("status") == "RUNNING");
  CHECK(n.get_json("/api/v1/workflows/wf-r").at("status") == "RUNNING");

  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"wf-x","definition":"order"})").status ==
          201);
  REQUIRE(eventually([&] {
    return n.get_json("/api/v1/workflows?status=COMPLETED").at("items").as_array().size() == 1;
  }));
  auto deleted = n.call("DELETE", "/api/v1/workflows/wf-x");
  CHECK(deleted.status == 204);
  CHECK(deleted.body.empty());
  auto get = n.call("GET", "/api/v1/workflows/wf-x");
  CHECK(get.status == 404);
  CHECK(error_code(get) == "workflow_not_found");
  CHECK(n.call("GET", "/api/v1/workflows/wf-x/history").status == 404);
  CHECK(n.get_json("/api/v1/workflows?status=COMPLETED").at("items").as_array().empty());
  auto again = n.call("DELETE", "/api/v1/workflows/wf-x");
  CHECK(again.status == 404);
  CHECK(error_code(again) == "workflow_not_found");
  CHECK(n.call("DELETE", "/api/v1/workflows/a%20b").status == 400);
  CHECK(n.call("DELETE", "/api/v1/workflows/never").status == 404);

  // A cancelled workflow is finished too; the id then starts a new workflow.
  REQUIRE(n.call("POST", "/api/v1/workflows/wf-r/cancel").status == 200);
  REQUIRE(eventually([&] {
    return n.get_json("/api/v1/workflows?status=CANCELLED").at("items").as_array().size() == 1;
  }));
  CHECK(n.call("DELETE", "/api/v1/workflows/wf-r").status == 204);
  REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":"wf-x","definition":"order"})").status ==
          201);
  REQUIRE(eventually(
      [&] { return n.get_json("/api/v1/workflows/wf-x").at("status") == "COMPLETED"; }));
  auto history = n.get_json("/api/v1/workflows/wf-x/history").at("events").as_array();
  REQUIRE_FALSE(history.empty());
  CHECK(history.front().at("seq") == 1);
  CHECK(history.front().at("type") == "WorkflowStarted");
}

TEST_CASE("GET /api/v1/cluster/shards: each shard with the entities it hosts, in Pekko's shape") {
  api_node n;
  REQUIRE(n.call("POST", "/api/v1/workflow-definitions", k_order).status == 201);
  auto empty = n.get_json("/api/v1/cluster/shards");
  CHECK(empty.at("typeName") == "workflow");
  CHECK(empty.at("numberOfShards") == 8);
  CHECK(empty.at("activeEntities") == 0);
  REQUIRE(empty.at("regions").as_array().size() == 8);

  // Five workflows: their shards, by the region's hash, must show them (alive for an
  // hour: the fixture's passivate-idle-entity-after).
  std::vector<std::uint64_t> expected(8, 0);
  for (int i = 0; i < 5; ++i) {
    const auto id = "sh-" + std::to_string(i);
    REQUIRE(n.call("POST", "/api/v1/workflows", R"({"id":")" + id + R"(","definition":"order"})")
                .status == 201);
    ++expected[shard_of(id, 8)];
  }
  auto s = n.get_json("/api/v1/cluster/shards");
  CHECK(s.at("activeEntities") == 5);
  const auto& regions = s.at("regions").as_array();
  REQUIRE(regions.size() == 8);
  for (std::size_t shard = 0; shard < 8; ++shard) {
    INFO("shard " << shard);
    CHECK(regions[shard].at("shardId").as_string() == std::to_string(shard));
    CHECK(regions[shard].at("numEntities") == expected[shard]);
  }
  CHECK(n.get_json("/api/v1/cluster/shards/workflow") == s);
  auto other = n.call("GET", "/api/v1/cluster/shards/orders");
  CHECK(other.status == 404);
  CHECK(error_code(other) == "shard_region_not_found");
}
