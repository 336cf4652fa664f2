// The retention archive: the file layer (appends, rotation, the bound, a torn line after a
// crash) and the sweeper archiving each workflow before it deletes it, deleting nothing
// the archive refused.
#include "engine/workflow/runtime/archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "engine/workflow/runtime/runtime_test_fixture.hpp"
#include "engine/workflow/history.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::runtime;
using namespace wfe::workflow::runtime::test;
namespace json = boost::json;

namespace {

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::uintmax_t bytes_in(const std::filesystem::path& dir) {
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) bytes += entry.file_size();
  return bytes;
}

std::unique_ptr<workflow_archive> open_archive(archive_settings s) {
  auto a = workflow_archive::open(std::move(s));
  REQUIRE_MESSAGE(a, (a ? "" : a.error().describe()));
  return std::move(*a);
}

}  // namespace

TEST_CASE("the archive appends whole lines, begins a new file past its size, refuses past its bound") {
  wfe::test::temp_dir dir;
  const archive_settings s{dir.path() / "archive", 100, 250};
  auto a = open_archive(s);
  CHECK(a->bytes() == 0);
  const std::string forty(39, 'a');  // 40 bytes with its newline
  REQUIRE(a->append({forty, forty}));
  REQUIRE(a->append({forty}));  // 120 > 100: a new file first
  const auto first = s.dir / "workflows-000001.jsonl";
  const auto second = s.dir / "workflows-000002.jsonl";
  CHECK(lines_of(first) == std::vector<std::string>{forty, forty});
  CHECK(lines_of(second) == std::vector<std::string>{forty});
  CHECK(a->current_file() == second);
  CHECK(a->bytes() == 120);
  // 40 + 80 would pass 100 again: a third file. 200 in all; 80 more would pass 250:
  // refused whole, nothing written.
  REQUIRE(a->append({forty, forty}));
  const auto third = s.dir / "workflows-000003.jsonl";
  CHECK(a->current_file() == third);
  auto full = a->append({forty, forty});
  REQUIRE_FALSE(full);
  CHECK(full.error().message.find("archive-max-bytes") != std::string::npos);
  CHECK(a->bytes() == 200);
  CHECK(std::filesystem::file_size(third) == 80);
  // Reopened: the bytes are counted again and the newest file goes on.
  a.reset();
  a = open_archive(s);
  CHECK(a->bytes() == 200);
  CHECK(a->current_file() == third);
}

TEST_CASE("a line torn by a crash is cut off when the archive is opened") {
  wfe::test::temp_dir dir;
  const archive_settings s{dir.path() / "archive", 1 << 20, 1 << 20};
  {
    auto a = open_archive(s);
    REQUIRE(a->append({R"({"id":"a"})"}));
  }
  {
    std::ofstream out(s.dir / "workflows-000001.jsonl", std::ios::app);
    out << R"({"id":"b","ev)";  // the crash came mid-write
  }
  auto a = open_archive(s);
  CHECK(a->bytes() == 11);
  REQUIRE(a->append({R"({"id":"c"})"}));
  CHECK(lines_of(s.dir / "workflows-000001.jsonl") ==
        std::vector<std::string>{R"({"id":"a"})", R"({"id":"c"})"});
}

TEST_CASE("an archive dir that cannot be made is refused, naming it") {
  wfe::test::temp_dir dir;
  { std::ofstream(dir.path() / "file") << "x"; }
  auto a = workflow_archive::open({dir.path() / "file" / "archive", 1 << 20, 1 << 20});
  REQUIRE_FALSE(a);
  CHECK(a.error().message.find((dir.path() / "file" / "archive").string()) != std::string::npos);
}

namespace {

runtime_config archiving_config(const std::filesystem::path& dir,
                                std::shared_ptr<std::atomic<std::int64_t>> now) {
  auto c = default_config(dir);
  c.clock = [now] { return now->load(); };
  c.runtime.retention_finished_after = std::chrono::hours(1);
  c.runtime.retention_sweep_interval = 20ms;
  c.runtime.retention_batch_size = 2;  // several pages, several appends
  c.runtime.retention_archive_dir = dir / "archive";
  return c;
}

}  // namespace

TEST_CASE("retention archives each workflow, record and every event, before deleting it") {
  wfe::test::temp_dir dir;
  auto now = std::make_shared<std::atomic<std::int64_t>>(1'800'000'000'000);
  auto c = archiving_config(dir.path(), now);
  incarnation node(dir.path(), c);
  REQUIRE(node.parts.archiver);
  const std::vector<std::string> done{"wf-a", "wf-b", "wf-c"};
  for (const auto& id : done) node.ok(id, start(id, definition(k_three_noops)));
  const std::string failed = "wf-failed";
  node.ok(failed, start(failed, definition(R"({"name":"fails","steps":[{"name":"x","task":"fail",
      "input":{"times":9}}]})")));
  std::map<std::string, std::uint64_t> seqs;
  for (const auto& id : done) {
    REQUIRE(eventually([&] {
      auto r = node.record(id);
      return r && r->status == workflow_status::completed && (seqs[id] = r->seq) > 0;
    }));
  }
  REQUIRE(eventually([&] {
    auto r = node.record(failed);
    return r && r->status == workflow_status::failed && (seqs[failed] = r->seq) > 0;
  }));
  now->fetch_add(std::chrono::milliseconds(std::chrono::hours(1)).count() + 1);
  REQUIRE(eventually([&] { return node.stats().purged == 4; }));

  std::map<std::string, json::object> archived;
  for (const auto& entry : std::filesystem::directory_iterator(c.runtime.retention_archive_dir)) {
    for (const auto& l : lines_of(entry.path())) {
      auto o = json::parse(l).as_object();
      archived[std::string(o.at("id").as_string())] = o;
    }
  }
  REQUIRE(archived.size() == 4);
  for (const auto& [id, seq] : seqs) {
    CAPTURE(id);
    const auto& o = archived.at(id);
    CHECK(o.at("seq").to_number<std::uint64_t>() == seq);
    CHECK(o.at("status") == (id == failed ? "FAILED" : "COMPLETED"));
    CHECK(o.at("definition") == (id == failed ? "fails" : "three"));
    CHECK(o.contains("createdAt"));
    CHECK(o.at("archivedAt").as_string() == format_time_ms(now->load()));
    CHECK_FALSE(o.contains("deletedBefore"));
    const auto& events = o.at("events").as_array();
    REQUIRE(events.size() == seq);  // every event, 1..seq
    for (std::size_t i = 0; i < events.size(); ++i) {
      CHECK(events[i].at("seq").to_number<std::uint64_t>() == i + 1);
    }
    CHECK(events.front().at("type") == "WorkflowStarted");
    CHECK(events.back().at("type") == (id == failed ? "WorkflowFailed" : "WorkflowCompleted"));
    CHECK_FALSE(node.record(id).has_value());  // and then deleted
  }
  const auto bytes = bytes_in(c.runtime.retention_archive_dir);
  CHECK(node.metric("workflow_archived_total") == 4);
  CHECK(node.metric("workflow_archive_bytes") == static_cast<double>(bytes));
  CHECK(node.metric("workflow_archive_refusals_total") == 0);
}

TEST_CASE("a full archive stops retention: nothing is deleted that was not archived") {
  wfe::test::temp_dir dir;
  auto now = std::make_shared<std::atomic<std::int64_t>>(1'800'000'000'000);
  auto c = archiving_config(dir.path(), now);
  c.runtime.retention_archive_max_bytes = 100;  // less than one workflow's line
  incarnation node(dir.path(), c);
  const std::string id = "wf-kept";
  node.ok(id, start(id, definition(k_three_noops)));
  REQUIRE(eventually([&] {
    auto r = node.record(id);
    return r && r->status == workflow_status::completed;
  }));
  now->fetch_add(std::chrono::milliseconds(std::chrono::hours(1)).count() + 1);
  std::this_thread::sleep_for(400ms);  // ~20 sweeps, each refused by the archive
  CHECK(node.stats().purged == 0);
  auto r = node.record(id);
  REQUIRE(r);
  CHECK(r->status == workflow_status::completed);
  const auto bytes = bytes_in(c.runtime.retention_archive_dir);
  CHECK(bytes == 0);
  CHECK(node.metric("workflow_archive_refusals_total") >= 5);
  CHECK(node.metric("workflow_archived_total") == 0);
}
