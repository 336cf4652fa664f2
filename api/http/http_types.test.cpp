#include "api/http/http_types.hpp"

#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

namespace wfe::api {

TEST_CASE("an error response is JSON with the code and an escaped message") {
  const auto r = http_response::error(409, "conflict", "name \"a\\b\"\nexists");
  CHECK(r.status == 409);
  CHECK(r.content_type == "application/json");
  const auto v = boost::json::parse(r.body);
  CHECK(v.at("error").at("code").as_string() == "conflict");
  CHECK(v.at("error").at("message").as_string() == "name \"a\\b\"\nexists");
}

TEST_CASE("a json response keeps its body and status") {
  const auto r = http_response::json(201, R"({"id":1})");
  CHECK(r.status == 201);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == R"({"id":1})");
}

TEST_CASE("a header is looked up by its lower-case name and is empty when absent") {
  http_request req;
  req.headers["content-type"] = "text/plain";
  CHECK(req.header("content-type") == "text/plain");
  CHECK(req.header("accept").empty());
}

TEST_CASE("a request target splits as Boost.URL splits it, with or without its parser") {
  // Plain targets take the fast path; the rest go through Boost.URL. Every one must give
  // what Boost.URL alone gives (path, query, or refusal).
  const std::vector<std::string> targets = {"/api/v1/workflows",
                                            "/",
                                            "//x",
                                            "/a/b/",
                                            "/a-b.c_d~e!f$g&h'i(j)k*l+m,n;o=p:q@r",
                                            "/api/v1/workflows/wf-1/history",
                                            "/api/v1/workflows?status=RUNNING&limit=5",
                                            "/api/v1/%77orkflows",
                                            "/a%2Fb/c",
                                            "/a?x=1&x=2",
                                            "/a?",
                                            "/a#frag",
                                            "/a b",
                                            "/a\"b",
                                            "/a%zz",
                                            "",
                                            "api/v1/workflows",
                                            "*",
                                            "/a%00b",
                                            "/caf\xc3\xa9",
                                            "/a?q=%20&r=+",
                                            "/[",
                                            "/a|b",
                                            "/a^b",
                                            "/a{b}"};
  for (const auto& t : targets) {
    CAPTURE(t);
    std::string path;
    std::unordered_map<std::string, std::string> query;
    const bool ok = parse_target(t, path, &query);
    const auto url = boost::urls::parse_origin_form(t);
    REQUIRE(ok == url.has_value());
    if (!ok) continue;
    CHECK(path == std::string(url->path()));
    std::unordered_map<std::string, std::string> expected;
    for (const auto& p : url->params()) expected.emplace(p.key, p.value);
    CHECK(query == expected);
    std::string path_only;
    CHECK(parse_target(t, path_only));
    CHECK(path_only == path);
  }
}

TEST_CASE("a responder delivers only the first of several answers, across copies and threads") {
  std::atomic<int> calls{0};
  std::atomic<unsigned> status{0};
  const responder respond(std::make_shared<responder::fn>([&](http_response r) {
    calls.fetch_add(1);
    status.store(r.status);
  }));
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < 4; ++i) {
    threads.emplace_back([copy = respond, i] { copy(http_response::json(200 + i, "{}")); });
  }
  for (auto& t : threads) t.join();
  respond(http_response::json(500, "{}"));
  CHECK(calls.load() == 1);
  CHECK(status.load() >= 200);
  CHECK(status.load() <= 203);
}

}  // namespace wfe::api
