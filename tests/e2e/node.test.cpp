// End-to-end: the real binary, real sockets on 127.0.0.1, real signals.

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <sstream>

#include "tests/support/node.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

json::object json_body(const std::optional<http_reply>& r) {
  REQUIRE(r);
  return json::parse(r->body).as_object();
}

}  // namespace

TEST_CASE("a node serves health, readiness, cluster stats and metrics, then stops on SIGTERM") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));

  auto health = n.get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(json_body(health).at("status") == "UP");

  auto ready = n.get("/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(json_body(ready).at("ready") == true);

  auto stats = n.get("/api/v1/cluster/stats");
  REQUIRE(stats);
  CHECK(stats->status == 200);
  CHECK(stats->headers["content-type"] == "application/json");
  auto s = json_body(stats);
  auto expected_self =
      "pekko://pekko-cluster-system@127.0.0.1:" + std::to_string(n.transport_port());
  CHECK(s.at("members") == 1);
  CHECK(s.at("status") == "Up");
  CHECK(s.at("leader") == json::value(expected_self));
  CHECK(s.at("self") == json::value(expected_self));
  // Roles are a set, reported sorted (as Pekko does).
  CHECK(s.at("roles") == json::parse(R"(["api-gateway","coordinator","worker"])"));
  CHECK(s.at("unreachable").as_array().empty());

  auto members = n.get("/api/v1/cluster/members");
  REQUIRE(members);
  CHECK(members->status == 200);
  auto m = json_body(members);
  CHECK(m.at("selfNode") == json::value(expected_self));
  CHECK(m.at("leader") == json::value(expected_self));
  CHECK(m.at("oldest") == json::value(expected_self));
  CHECK(m.at("oldestPerRole").at("worker") == json::value(expected_self));
  REQUIRE(m.at("members").as_array().size() == 1);
  CHECK(m.at("members").at(0).at("node") == json::value(expected_self));
  CHECK(m.at("members").at(0).at("status") == "Up");
  CHECK(m.at("members").at(0).at("nodeUid") == s.at("selfUid"));
  CHECK(m.at("unreachable").as_array().empty());
  // The address is one path segment: its '/' travel percent-encoded.
  auto encoded = "pekko:%2F%2Fpekko-cluster-system@127.0.0.1:" + std::to_string(n.transport_port());
  auto one = n.get("/api/v1/cluster/members/" + encoded);
  REQUIRE(one);
  CHECK(one->status == 200);
  CHECK(json_body(one).at("node") == json::value(expected_self));
  auto unknown = n.get("/api/v1/cluster/members/pekko:%2F%2Fpekko-cluster-system@10.9.9.9:1");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(json_body(unknown).at("error").at("code") == "member_not_found");

  auto metrics = http_request(n.metrics_port(), "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->headers["content-type"].find("text/plain") == 0);
  CHECK(metrics->body.find("workflow_build_info{") != std::string::npos);
  CHECK(metrics->body.find("process_resident_memory_bytes ") != std::string::npos);
  CHECK(metrics->body.find("journal_events_persisted_total ") != std::string::npos);
  CHECK(metrics->body.find("rocksdb_deleted_files_kept_bytes{db=\"journal\"}") !=
        std::string::npos);
  CHECK(metrics->body.find("rocksdb_deleted_files_kept_bytes{db=\"snapshots\"}") !=
        std::string::npos);
  // The requests above were counted by route and status.
  CHECK(metrics->body.find("http_requests_total{") != std::string::npos);
  CHECK(metrics->body.find("route=\"/api/v1/cluster/stats\"") != std::string::npos);

  CHECK(std::filesystem::is_directory(n.dir().path() / "journal"));
  CHECK(std::filesystem::is_directory(n.dir().path() / "snapshots"));

  n.proc().signal(SIGTERM);
  auto code = n.proc().wait(std::chrono::seconds(40));
  REQUIRE(code);
  CHECK(*code == 0);
  auto out = n.proc().stdout_text();
  CHECK(out.find("coordinated shutdown finished") != std::string::npos);
  CHECK(out.find(R"("event":"CLUSTER_EVENT","type":"MemberUp")") != std::string::npos);
}

// One node for every case (as SUBCASEs each started its own node: ~10 s).
TEST_CASE("bad requests get JSON errors with the right status") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));

  {
    INFO("unknown route is 404");
    auto r = n.get("/api/v1/nothing-here");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(json_body(r).at("error").at("code") == "not_found");
    CHECK(!json_body(r).at("error").at("message").as_string().empty());
  }
  {
    INFO("wrong method is 405 with Allow");
    auto r = http_request(n.http_port(), "POST", "/api/v1/cluster/stats", "{}");
    REQUIRE(r);
    CHECK(r->status == 405);
    CHECK(r->headers["allow"] == "GET");
    CHECK(json_body(r).at("error").at("code") == "method_not_allowed");
  }
  {
    INFO("a 20 KB header is 431");
    auto r = http_request(n.http_port(), "GET", "/health", "",
                          "X-Big: " + std::string(20 * 1024, 'a') + "\r\n");
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(json_body(r).at("error").at("code") == "header_too_large");
  }
  {
    INFO("a 3 KB URI is 414");
    auto r = n.get("/health?x=" + std::string(3 * 1024, 'a'));
    REQUIRE(r);
    CHECK(r->status == 414);
  }
  {
    INFO("garbage is 400");
    auto r = http_raw(n.http_port(), "NOT HTTP AT ALL\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE("SIGINT stops the node cleanly too") {
  node n;
  REQUIRE(n.wait_started());
  n.proc().signal(SIGINT);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE("a malformed config file fails start-up with exit 2 naming file and line") {
  temp_dir dir;
  auto conf = dir.write("bad.conf", "pekko {\n  cluster {\n    roles = [\"worker\"\n}\n");
  process p(WFE_BINARY, {"-Dconfig.file=" + conf.string()}, dir.path());
  auto code = p.wait(std::chrono::seconds(20));
  REQUIRE(code);
  CHECK(*code == 2);
  CHECK(p.stderr_text().find(conf.string() + ":") != std::string::npos);
}

TEST_CASE("invalid settings fail start-up with exit 2 naming every bad key") {
  temp_dir dir;
  auto conf = dir.write("node.conf",
                        "include classpath(\"application.conf\")\n"
                        "pekko.cluster.roles = [\"worker\", \"boss\"]\n"
                        "pekko.workflow.http.port = 99999\n"
                        "pekko.cluster.seed-nodes = [\"pekko//broken\"]\n");
  process p(WFE_BINARY, {"--config", conf.string()}, dir.path());
  auto code = p.wait(std::chrono::seconds(20));
  REQUIRE(code);
  CHECK(*code == 2);
  auto err = p.stderr_text();
  CHECK(err.find("node.conf:2") != std::string::npos);
  CHECK(err.find("boss") != std::string::npos);
  CHECK(err.find("node.conf:3") != std::string::npos);
  CHECK(err.find("pekko.workflow.http.port") != std::string::npos);
  CHECK(err.find("node.conf:4") != std::string::npos);
  CHECK(err.find("pekko.cluster.seed-nodes") != std::string::npos);
}

TEST_CASE("a bad environment override fails start-up naming the variable") {
  temp_dir dir;
  process p(WFE_BINARY, {}, dir.path(), {"PEKKO_PORT=notaport"});
  auto code = p.wait(std::chrono::seconds(20));
  REQUIRE(code);
  CHECK(*code == 2);
  CHECK(p.stderr_text().find("PEKKO_PORT") != std::string::npos);
}

TEST_CASE("environment overrides set the node's address and roles") {
  node n({}, {"PEKKO_ROLES=[\"worker\"]"});
  REQUIRE_MESSAGE(n.wait_started(), (n.proc().stdout_text() + n.proc().stderr_text()));
  auto s = json_body(n.get("/api/v1/cluster/stats"));
  CHECK(s.at("roles") == json::parse(R"(["worker"])"));
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE("a taken HTTP port fails start-up with a message naming the address") {
  node first;
  REQUIRE(first.wait_started());
  node second({"-Dpekko.workflow.http.port=" + std::to_string(first.http_port())});
  auto code = second.proc().wait(std::chrono::seconds(20));
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK(second.proc().stdout_text().find(std::to_string(first.http_port())) != std::string::npos);
  first.proc().signal(SIGTERM);
  CHECK(first.proc().wait(std::chrono::seconds(40)) == 0);
}

TEST_CASE("--help and --version answer without starting a node") {
  temp_dir dir;
  process help(WFE_BINARY, {"--help"}, dir.path());
  CHECK(help.wait(std::chrono::seconds(10)) == 0);
  CHECK(help.stdout_text().find("-Dconfig.file=PATH") != std::string::npos);
  temp_dir dir2;
  process version(WFE_BINARY, {"--version"}, dir2.path());
  CHECK(version.wait(std::chrono::seconds(10)) == 0);
  CHECK(version.stdout_text().find("workflow-engine ") == 0);
}

// Under `make sanitize`/`make tsan` a node's sanitizer report lands in its stderr, which
// goes with its temp dir: the process helper finds it there and fails the test that ran
// the node. Here exactly one failure is expected: the one `reported` adds when it goes.
TEST_CASE("a child's sanitizer report in its stderr fails the test that ran it" *
          doctest::expected_failures(1)) {
  temp_dir dir;
  process reported(
      "/bin/sh",
      {"-c",
       "echo 'SUMMARY: 3 passed' >&2; echo '==1==WARNING: ThreadSanitizer: data race' >&2; "
       "echo 'SUMMARY: ThreadSanitizer: data race x.cpp:1 in f()' >&2"},
      dir.path());
  REQUIRE(reported.wait(std::chrono::seconds(10)) == 0);
  CHECK(reported.sanitizer_report() == "SUMMARY: ThreadSanitizer: data race x.cpp:1 in f()");

  temp_dir clean_dir;
  process clean("/bin/sh", {"-c", "echo 'SUMMARY: 3 passed' >&2; echo Sanitizer"},
                clean_dir.path());
  REQUIRE(clean.wait(std::chrono::seconds(10)) == 0);
  CHECK_FALSE(clean.sanitizer_report());
}

// A test that crashes, or that CTest kills on its timeout, runs no destructor: the
// nodes it started must die with it, not keep running and holding their ports.
TEST_CASE("a node started by a test binary that is killed is killed with it") {
  int fds[2];
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);  // the node must not hold the write end
  const pid_t test_binary = ::fork();
  REQUIRE(test_binary >= 0);
  if (test_binary == 0) {  // stands for a test binary: starts a node, then is killed
    ::close(fds[0]);
    node n;
    const bool up = n.wait_started();
    const std::string line =
        std::to_string(up ? n.proc().pid() : -1) + ' ' + n.dir().path().string() + '\n';
    (void)!::write(fds[1], line.data(), line.size());
    ::raise(SIGKILL);
  }
  ::close(fds[1]);
  std::string line;
  char buf[512];
  for (ssize_t r;
       line.find('\n') == std::string::npos && (r = ::read(fds[0], buf, sizeof buf)) > 0;)
    line.append(buf, static_cast<std::size_t>(r));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(test_binary, &status, 0);
  CHECK(WIFSIGNALED(status));
  std::istringstream in(line);
  pid_t node_pid = -1;
  std::string dir;
  in >> node_pid >> dir;
  REQUIRE_MESSAGE(node_pid > 0, line);
  // This process adopted the node when its parent died (the subreaper set above), so
  // it can reap it and see how it ended.
  std::optional<int> node_status;
  for (int i = 0; i < 200 && !node_status; ++i) {
    int st = 0;
    if (::waitpid(node_pid, &st, WNOHANG) == node_pid)
      node_status = st;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!node_status) {
    ::kill(node_pid, SIGKILL);
    ::waitpid(node_pid, nullptr, 0);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  REQUIRE_MESSAGE(node_status, "the node outlived the process that started it");
  CHECK(WIFSIGNALED(*node_status));
  CHECK(WTERMSIG(*node_status) == SIGKILL);
}
