// api/openapi.yaml against the running binary (issue #4, item 8): the document covers
// every endpoint of DESIGN.md §9, and a walk sends each operation with the document's
// examples and checks the status is documented (and is `x-walk-status` where given)
// and the body matches the documented schema. A renamed or retyped field fails it.

#include <fstream>
#include <set>

#include <doctest/doctest.h>

#include "tests/support/node.hpp"
#include "tests/support/openapi.hpp"
#include "tests/support/workflow_api.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

json::object the_document() { return load_openapi(WFE_SOURCE_DIR "/api/openapi.yaml"); }

// "?a=1&b=x" from the query parameters that carry an example.
std::string query_of(const json::array& params) {
  std::string q;
  for (const auto& p : params) {
    const auto& o = p.as_object();
    if (o.at("in") != "query" || !o.contains("example")) continue;
    const auto& ex = o.at("example");
    q += (q.empty() ? "?" : "&") + std::string(o.at("name").as_string()) + "=" +
         (ex.is_string() ? std::string(ex.as_string()) : json::serialize(ex));
  }
  return q;
}

// The operation's parameters, path-level first.
json::array params_of(const json::object& path_item, const json::object& op) {
  json::array all;
  for (const auto* src : {path_item.if_contains("parameters"), op.if_contains("parameters")}) {
    if (src == nullptr) continue;
    for (const auto& p : src->as_array()) all.push_back(p);
  }
  return all;
}

}  // namespace

TEST_CASE("the OpenAPI document lists every endpoint of DESIGN.md section 9") {
  auto doc = the_document();
  CHECK(doc.at("openapi").as_string().starts_with("3.0"));
  const auto& paths = doc.at("paths").as_object();
  const std::vector<std::pair<std::string, std::string>> expected{
      {"/health", "get"},
      {"/ready", "get"},
      {"/api/v1/cluster/stats", "get"},
      {"/api/v1/cluster/members", "get"},
      {"/api/v1/cluster/members/{address}", "get"},
      {"/api/v1/cluster/members/{address}", "delete"},
      {"/api/v1/cluster/members/{address}", "put"},
      {"/api/v1/cluster/sbr", "get"},
      {"/api/v1/cluster/shards", "get"},
      {"/api/v1/admin/backup", "post"},
      {"/api/v1/workflow-definitions", "post"},
      {"/api/v1/workflow-definitions/{name}", "get"},
      {"/api/v1/workflows", "post"},
      {"/api/v1/workflows", "get"},
      {"/api/v1/workflows/{id}", "get"},
      {"/api/v1/workflows/{id}/history", "get"},
      {"/api/v1/workflows/{id}/signals/{name}", "post"},
      {"/api/v1/workflows/{id}/cancel", "post"},
      {"/api/v1/tasks/poll", "post"},
      {"/api/v1/tasks/{token}/complete", "post"},
      {"/api/v1/tasks/{token}/fail", "post"},
      {"/api/v1/tasks/{token}/heartbeat", "post"},
      {"/api/v1/tasks/queues", "get"},
      {"/api/v1/tasks/queues/{name}", "get"},
      {"/api/v1/dead-letters", "get"},
      {"/api/v1/dead-letters/{id}/retry", "post"},
  };
  for (const auto& [path, method] : expected) {
    CAPTURE(path);
    CAPTURE(method);
    const auto* item = paths.if_contains(path);
    REQUIRE(item != nullptr);
    const auto* op = item->as_object().if_contains(method);
    REQUIRE(op != nullptr);
    CHECK(op->as_object().contains("responses"));
    CHECK(op->as_object().contains("operationId"));
  }
  // Every $ref resolves.
  schema_validator v(doc);
  std::function<void(const json::value&)> refs = [&](const json::value& x) {
    if (x.is_object()) {
      if (const auto* r = x.as_object().if_contains("$ref")) {
        CHECK_MESSAGE(!v.resolve(x).is_null(), "dangling " << json::serialize(*r));
      }
      for (const auto& [k, val] : x.as_object()) refs(val);
    } else if (x.is_array()) {
      for (const auto& e : x.as_array()) refs(e);
    }
  };
  refs(doc);
}

TEST_CASE("the schema check fails on a renamed or retyped field (drift is caught)") {
  auto doc = the_document();
  schema_validator v(doc);
  const auto& schemas = doc.at("components").at("schemas");
  auto ok = json::parse(R"({"id":"wf-1","definition":"order","version":1,"status":"RUNNING",
      "steps":[{"name":"a","status":"COMPLETED","attempts":1,"output":{}}],
      "createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z"})");
  CHECK(v.validate(ok, schemas.at("Workflow")).empty());

  auto renamed = ok;
  renamed.as_object().erase("status");
  renamed.as_object()["state"] = "RUNNING";
  auto e1 = v.validate(renamed, schemas.at("Workflow"));
  REQUIRE(e1.size() == 1);
  CHECK(e1[0].find("status") != std::string::npos);

  auto retyped = ok;
  retyped.at("steps").at(0).as_object()["attempts"] = "1";
  CHECK(!v.validate(retyped, schemas.at("Workflow")).empty());
  auto bad_enum = ok;
  bad_enum.as_object()["status"] = "DONE";
  CHECK(!v.validate(bad_enum, schemas.at("Workflow")).empty());
  CHECK(!v.validate(json::parse(R"({"error":{"code":"x"}})"), schemas.at("Error")).empty());
  CHECK(v.validate(json::parse(R"({"error":{"code":"x","message":"m"}})"), schemas.at("Error"))
            .empty());
}

TEST_CASE("walk: every operation of the document against the running node") {
  temp_dir backups;
  // An archive holding one workflow (as retention writes it) for the archived read.
  temp_dir archive;
  {
    std::ofstream(archive.path() / "workflows-000001.jsonl")
        << R"({"id":"openapi-archived","definition":"d","version":1,"status":"COMPLETED",)"
        << R"("priority":"normal","createdAt":"2026-01-02T03:04:05.000Z",)"
        << R"("updatedAt":"2026-01-02T03:04:06.000Z","seq":1,"archivedAt":"2026-02-01T00:00:00.000Z",)"
        << R"("events":[{"seq":1,"type":"WorkflowCompleted","at":"2026-01-02T03:04:06.000Z","data":{}}]})"
        << "\n";
  }
  node n({"-Dpekko.persistence.backup.dir=" + backups.path().string(),
          "-Dpekko.workflow.retention.archive-dir=" + archive.path().string()});
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  auto doc = the_document();
  schema_validator v(doc);
  std::string token;  // of the last polled task
  int walked = 0;
  for (const auto& [path, item_v] : doc.at("paths").as_object()) {
    const auto& item = item_v.as_object();
    for (const auto& [method, op_v] : item) {
      if (method == "parameters") continue;
      const auto& op = op_v.as_object();
      auto params = params_of(item, op);
      std::string target(path);
      for (const auto& p : params) {
        const auto& o = p.as_object();
        if (o.at("in") != "path") continue;
        std::string name(o.at("name").as_string());
        std::string value = o.contains("example") ? std::string(o.at("example").as_string()) : "";
        if (name == "token" && !token.empty()) value = token;
        auto at = target.find("{" + name + "}");
        REQUIRE_MESSAGE(at != std::string::npos, path << ": no {" << name << "}");
        target.replace(at, name.size() + 2, value);
      }
      target += query_of(params);
      std::string body;
      if (const auto* rb = op.if_contains("requestBody")) {
        const auto* ex =
            rb->at("content").at("application/json").as_object().if_contains("example");
        if (ex != nullptr) body = json::serialize(*ex);
      }
      std::string upper(method);
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      CAPTURE(upper);
      CAPTURE(target);
      auto r = http_request(n.http_port(), upper, target, body);
      REQUIRE(r);
      CAPTURE(r->status);
      CAPTURE(r->body);
      ++walked;
      const auto& responses = op.at("responses").as_object();
      const auto* documented = responses.if_contains(std::to_string(r->status));
      CHECK_MESSAGE(documented != nullptr, "status not documented");
      if (const auto* want = op.if_contains("x-walk-status")) {
        CHECK(r->status == want->to_number<int>());
      }
      if (documented == nullptr) continue;
      const auto& resp = v.resolve(*documented).as_object();
      const auto* content = resp.if_contains("content");
      if (content == nullptr) {
        CHECK_MESSAGE(r->body.empty(), "no content documented");
        continue;
      }
      CHECK(r->headers["content-type"].find("application/json") == 0);
      auto value = json_of(*r);
      REQUIRE_MESSAGE(!value.is_null(), "body is not JSON");
      const auto& schema = content->at("application/json").at("schema");
      auto errors = v.validate(value, schema);
      std::string all;
      for (const auto& e : errors) all += e + "\n";
      CHECK_MESSAGE(errors.empty(), all);
      if (op.at("operationId") == "pollTask" && r->status == 200) {
        token = std::string(value.at("token").as_string());
      }
    }
  }
  CHECK(walked == 32);
  CHECK(!token.empty());
}
