#pragma once
// A small client of the workflow API (DESIGN.md §9) over the real HTTP port, for
// end-to-end tests: define, start, get, history, list (following cursors), poll, and
// a bounded wait for a workflow status. Uses doctest's REQUIRE/CHECK.

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.hpp"

namespace wfe::test {

// The reply body as JSON; null when empty or not JSON.
inline boost::json::value json_of(const http_reply& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  return ec ? boost::json::value(nullptr) : v;
}

// Checks a reply is `status` with the error shape {"error":{"code","message"}}; returns
// the error code ("" when the shape is wrong).
inline std::string check_error(const std::optional<http_reply>& r, int status) {
  REQUIRE(r);
  CHECK_MESSAGE(r->status == status, r->status << " " << r->body);
  auto v = json_of(*r);
  const auto* e = v.is_object() ? v.as_object().if_contains("error") : nullptr;
  bool shaped = e != nullptr && e->is_object() && e->as_object().contains("code") &&
                e->as_object().at("code").is_string() && e->as_object().contains("message") &&
                e->as_object().at("message").is_string() &&
                !e->as_object().at("message").as_string().empty();
  CHECK_MESSAGE(shaped, "not the error shape: " << r->body);
  return shaped ? std::string(e->as_object().at("code").as_string()) : std::string();
}

class workflow_api {
 public:
  explicit workflow_api(std::uint16_t port) : port_(port) {}

  [[nodiscard]] http_reply get(const std::string& target) const {
    auto r = http_request(port_, "GET", target);
    REQUIRE_MESSAGE(r, "GET " << target << ": no answer");
    return *r;
  }
  [[nodiscard]] http_reply post(const std::string& target, const std::string& body) const {
    auto r = http_request(port_, "POST", target, body);
    REQUIRE_MESSAGE(r, "POST " << target << ": no answer");
    return *r;
  }
  [[nodiscard]] http_reply post(const std::string& target, const boost::json::value& body) const {
    return post(target, boost::json::serialize(body));
  }

  // POST /api/v1/workflow-definitions; REQUIREs 201 (or 200 for an identical re-post).
  std::int64_t define(const std::string& name, const std::string& steps_json) const {
    auto r = post("/api/v1/workflow-definitions",
                  R"({"name":")" + name + R"(","steps":)" + steps_json + "}");
    REQUIRE_MESSAGE((r.status == 201 || r.status == 200), r.status << " " << r.body);
    auto v = json_of(r);
    REQUIRE(v.is_object());
    CHECK(v.at("name") == boost::json::value(name));
    return v.at("version").to_number<std::int64_t>();
  }

  // POST /api/v1/workflows; returns the reply (status not checked).
  [[nodiscard]] http_reply start(const std::string& id, const std::string& definition,
                                 const boost::json::value& input = boost::json::object{},
                                 const std::string& priority = {}) const {
    boost::json::object b{{"definition", definition}, {"input", input}};
    if (!id.empty()) b["id"] = id;
    if (!priority.empty()) b["priority"] = priority;
    return post("/api/v1/workflows", boost::json::value(std::move(b)));
  }
  // Start that must answer 201 RUNNING (or a status the workflow already reached).
  void started(const std::string& id, const std::string& definition,
               const boost::json::value& input = boost::json::object{}) const {
    auto r = start(id, definition, input);
    REQUIRE_MESSAGE(r.status == 201, "start " << id << ": " << r.status << " " << r.body);
    CHECK(json_of(r).at("id") == boost::json::value(id));
  }

  [[nodiscard]] boost::json::object workflow(const std::string& id) const {
    auto r = get("/api/v1/workflows/" + id);
    REQUIRE_MESSAGE(r.status == 200, "GET workflow " << id << ": " << r.status << " " << r.body);
    return json_of(r).as_object();
  }
  [[nodiscard]] std::string status(const std::string& id) const {
    return std::string(workflow(id).at("status").as_string());
  }
  [[nodiscard]] boost::json::array history(const std::string& id) const {
    auto r = get("/api/v1/workflows/" + id + "/history");
    REQUIRE_MESSAGE(r.status == 200, "GET history " << id << ": " << r.status << " " << r.body);
    return json_of(r).at("events").as_array();
  }
  // The history's event types in order; CHECKs seq is 1..n contiguous.
  [[nodiscard]] std::vector<std::string> event_types(const std::string& id) const {
    std::vector<std::string> types;
    std::int64_t expect = 1;
    for (const auto& e : history(id)) {
      CHECK(e.at("seq").to_number<std::int64_t>() == expect);
      CHECK(e.at("at").is_string());
      CHECK(e.at("data").is_object());
      ++expect;
      types.emplace_back(e.at("type").as_string());
    }
    return types;
  }

  // Polls GET /api/v1/workflows/{id} until its status is `want` (or the time is up);
  // returns the last status seen.
  std::string wait_status(const std::string& id, const std::string& want,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15)) const {
    auto until = std::chrono::steady_clock::now() + timeout;
    std::string last;
    for (;;) {
      auto r = http_request(port_, "GET", "/api/v1/workflows/" + id);
      if (r && r->status == 200) last = std::string(json_of(*r).at("status").as_string());
      if (last == want || std::chrono::steady_clock::now() >= until) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  // Every item of a paginated list (GET target with ?...), following nextCursor; also
  // returns how many pages it took.
  std::vector<boost::json::object> list_all(const std::string& target, int* pages = nullptr) const {
    std::vector<boost::json::object> items;
    std::string cursor;
    int n = 0;
    for (; n < 10'000; ++n) {
      auto sep = target.find('?') == std::string::npos ? "?" : "&";
      auto r = get(target + (cursor.empty() ? "" : sep + std::string("cursor=") + cursor));
      REQUIRE_MESSAGE(r.status == 200, target << ": " << r.status << " " << r.body);
      auto v = json_of(r).as_object();
      for (const auto& i : v.at("items").as_array()) items.push_back(i.as_object());
      const auto* next = v.if_contains("nextCursor");
      if (next == nullptr || next->is_null() || next->as_string().empty()) break;
      cursor = std::string(next->as_string());
    }
    if (pages) *pages = n + 1;
    return items;
  }

  // POST /api/v1/tasks/poll; the task, or nullopt on 204 (REQUIREs 200 or 204).
  [[nodiscard]] std::optional<boost::json::object> poll(const std::string& queue, int wait_ms,
                                                        const std::string& worker = "w1") const {
    auto r = post("/api/v1/tasks/poll",
                  boost::json::value(boost::json::object{
                      {"queue", queue}, {"workerId", worker}, {"waitMs", wait_ms}}));
    REQUIRE_MESSAGE((r.status == 200 || r.status == 204), r.status << " " << r.body);
    if (r.status == 204) return std::nullopt;
    return json_of(r).as_object();
  }
  // Polls until a task arrives (bounded); REQUIREs one.
  [[nodiscard]] boost::json::object poll_task(const std::string& queue,
                                              const std::string& worker = "w1") const {
    for (int i = 0; i < 20; ++i) {
      if (auto t = poll(queue, 1000, worker)) return *t;
    }
    FAIL("no task on queue " << queue);
    return {};
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
};

}  // namespace wfe::test
