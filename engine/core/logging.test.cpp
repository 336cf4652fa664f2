#include "engine/core/logging.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.hpp"

using namespace wfe::core;

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("json log lines carry structured event fields at the top level, escaped") {
  wfe::test::temp_dir dir;
  logging_settings s;
  s.fmt = logging_settings::format::json;
  s.file = (dir.path() / "app.log").string();
  REQUIRE(init_logging(s).empty());
  auto log = logger("cluster");
  log_event(*log, spdlog::level::info, "CLUSTER_EVENT",
            {{"type", "MemberUp"}, {"member", "pekko://s@h:1"}}, "quote \" and\nnewline");
  log->warn("plain {}", 42);
  flush_logs();
  auto text = read_all(s.file);
  CHECK(text.find(R"("event":"CLUSTER_EVENT","type":"MemberUp","member":"pekko://s@h:1")") !=
        std::string::npos);
  CHECK(text.find(R"("msg":"quote \" and\nnewline"})") != std::string::npos);
  CHECK(text.find(R"("level":"warning","logger":"cluster")") != std::string::npos);
  CHECK(text.find(R"("msg":"plain 42"})") != std::string::npos);
  // one object per line
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  init_logging(logging_settings{});
}

TEST_CASE("text log lines show the message then the fields") {
  wfe::test::temp_dir dir;
  logging_settings s;
  s.file = (dir.path() / "app.log").string();
  REQUIRE(init_logging(s).empty());
  log_event(*logger("core"), spdlog::level::info, "NODE_STARTED", {{"http", "0.0.0.0:8080"}},
            "started");
  flush_logs();
  auto text = read_all(s.file);
  CHECK(text.find("[core] started {event=NODE_STARTED, http=0.0.0.0:8080}") != std::string::npos);
  init_logging(logging_settings{});
}

TEST_CASE("an unwritable log file is reported, not thrown") {
  logging_settings s;
  s.file = "/dev/null/app.log";
  auto err = init_logging(s);
  CHECK(err.find("/dev/null/app.log") != std::string::npos);
  init_logging(logging_settings{});
}
