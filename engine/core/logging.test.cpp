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
  s.file_fmt = logging_settings::format::text;
  REQUIRE(init_logging(s).empty());
  log_event(*logger("core"), spdlog::level::info, "NODE_STARTED", {{"http", "0.0.0.0:8080"}},
            "started");
  log_event(*logger("core"), spdlog::level::info, "E", {{"k", "a \"q\" b\\c\td"}, {"x", "\x01"}},
            "escaped");
  // A message that looks like an encoded one is shown as it is, not parsed forever.
  logger("core")->info("{}", std::string("\x1fnot \"fields\x1fmsg"));
  flush_logs();
  auto text = read_all(s.file);
  CHECK(text.find("[core] started {event=NODE_STARTED, http=0.0.0.0:8080}") != std::string::npos);
  CHECK(text.find("[core] escaped {event=E, k=a \"q\" b\\c\td, x=\x01}") != std::string::npos);
  CHECK(text.find("[core] msg {not \"fields}") != std::string::npos);
  CHECK(text.find('{') == text.find("{event=NODE_STARTED"));  // no JSON object line
  init_logging(logging_settings{});
}

TEST_CASE("the log file is JSON lines by default while stdout stays text") {
  wfe::test::temp_dir dir;
  logging_settings s;  // stdout: text
  s.file = (dir.path() / "app.log").string();
  REQUIRE(s.file_fmt == logging_settings::format::json);
  REQUIRE(init_logging(s).empty());
  log_event(*logger("workflow"), spdlog::level::info, "workflow_failover", {{"workflow", "wf-1"}},
            "resumed");
  logger("workflow")->info("plain");
  flush_logs();
  auto text = read_all(s.file);
  CHECK(text.find(R"("logger":"workflow")") != std::string::npos);
  CHECK(text.find(R"("event":"workflow_failover","workflow":"wf-1","msg":"resumed"})") !=
        std::string::npos);
  CHECK(text.find(R"("msg":"plain"})") != std::string::npos);
  CHECK(text.find("{event=") == std::string::npos);
  // every line is one object
  std::istringstream lines(text);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
  }
  CHECK(n == 2);
  init_logging(logging_settings{});
}

TEST_CASE("a line is in the log file as soon as it is logged (a SIGKILL keeps it)") {
  wfe::test::temp_dir dir;
  logging_settings s;
  s.file = (dir.path() / "app.log").string();
  REQUIRE(init_logging(s).empty());
  logger("core")->info("first");
  CHECK(read_all(s.file).find(R"("msg":"first")") != std::string::npos);  // no flush_logs()
  log_event(*logger("cluster"), spdlog::level::info, "CLUSTER_EVENT", {{"type", "MemberUp"}}, "up");
  CHECK(read_all(s.file).find(R"("type":"MemberUp")") != std::string::npos);
  init_logging(logging_settings{});
}

TEST_CASE("reopening the log file after logrotate moved it writes to a new file at the path") {
  wfe::test::temp_dir dir;
  logging_settings s;
  s.file = (dir.path() / "app.log").string();
  REQUIRE(init_logging(s).empty());
  logger("core")->info("before");
  std::filesystem::rename(s.file, dir.path() / "app.log.1");
  logger("core")->info("still the old file");
  CHECK(reopen_log_file().empty());
  logger("core")->info("after");
  const auto old_text = read_all(dir.path() / "app.log.1");
  const auto new_text = read_all(s.file);
  CHECK(old_text.find(R"("msg":"before")") != std::string::npos);
  CHECK(old_text.find(R"("msg":"still the old file")") != std::string::npos);
  CHECK(new_text.find(R"("msg":"after")") != std::string::npos);
  CHECK(new_text.find("before") == std::string::npos);
  init_logging(logging_settings{});
  CHECK(reopen_log_file().empty());  // no file: nothing to do
}

TEST_CASE("an unwritable log file is reported, not thrown") {
  logging_settings s;
  s.file = "/dev/null/app.log";
  auto err = init_logging(s);
  CHECK(err.find("/dev/null/app.log") != std::string::npos);
  init_logging(logging_settings{});
}
