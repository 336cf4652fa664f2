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

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The archive's bytes: its .jsonl files (not the indexes beside them).
std::uintmax_t bytes_in(const std::filesystem::path& dir) {
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".jsonl") bytes += entry.file_size();
  }
  return bytes;
}

// An archived line as the sweeper writes it (the id first), `n` events from `first`.
std::string line(const std::string& id, int n, int first = 1,
                 const std::string& status = "COMPLETED") {
  json::array events;
  for (int i = 0; i < n; ++i) events.push_back(json::object{{"seq", first + i}, {"type", "E"}});
  json::object o{
      {"id", id}, {"status", status}, {"seq", first + n - 1}, {"events", std::move(events)}};
  if (first > 1) o["deletedBefore"] = first;
  return json::serialize(o);
}

std::optional<std::string> find(const workflow_archive& a, std::string_view id) {
  auto r = a.find(id);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
  return *r;
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

TEST_CASE("an archived workflow is found by its id: the newest line, in any file, after a reopen") {
  wfe::test::temp_dir dir;
  const archive_settings s{dir.path() / "archive", 200, 1 << 20};
  auto a = open_archive(s);
  CHECK_FALSE(find(*a, "wf-1"));
  const auto first = line("wf-1", 2, 1, "FAILED");
  REQUIRE(a->append({first, line("wf-2", 1)}));
  CHECK(find(*a, "wf-1") == first);  // the current file, from memory
  // wf-1 archived again later (it was retried and finished): the newest line wins.
  const auto again = line("wf-1", 4);
  REQUIRE(a->append({line("wf-3", 3), again}));
  REQUIRE(a->append({line("wf-4", 1)}));
  CHECK(a->current_file() != s.dir / "workflows-000001.jsonl");  // files were closed
  CHECK(std::filesystem::exists(s.dir / "workflows-000001.jsonl.idx"));
  CHECK(find(*a, "wf-1") == again);
  CHECK(find(*a, "wf-2") == line("wf-2", 1));  // a closed file, through its index
  CHECK(find(*a, "wf-4") == line("wf-4", 1));
  CHECK_FALSE(find(*a, "wf-5"));
  CHECK_FALSE(find(*a, "wf-"));  // a prefix of ids is not an id
  CHECK(a->unindexed() == 0);

  a.reset();
  a = open_archive(s);
  CHECK(a->unindexed() == 0);
  CHECK(find(*a, "wf-1") == again);
  CHECK(find(*a, "wf-4") == line("wf-4", 1));  // the current file, read at the open
  // Lines written by other means (not the sweeper's shape) are found too.
  REQUIRE(a->append({R"({"status":"COMPLETED","id":"wf-odd","events":[]})"}));
  CHECK(find(*a, "wf-odd") == std::string(R"({"status":"COMPLETED","id":"wf-odd","events":[]})"));
}

TEST_CASE(
    "a missing or stale archive index is read line by line, then rebuilt, and a moved file holds "
    "nothing") {
  wfe::test::temp_dir dir;
  const archive_settings s{dir.path() / "archive", 150, 1 << 20};
  {
    auto a = open_archive(s);
    REQUIRE(a->append({line("wf-a", 3)}));
    REQUIRE(a->append({line("wf-b", 3)}));  // closes file 1
    REQUIRE(a->append({line("wf-c", 3)}));  // closes file 2
    REQUIRE(a->append({line("wf-d", 1)}));
  }
  const auto idx1 = s.dir / "workflows-000001.jsonl.idx";
  const auto idx2 = s.dir / "workflows-000002.jsonl.idx";
  REQUIRE(std::filesystem::exists(idx1));
  REQUIRE(std::filesystem::exists(idx2));
  const auto built = read_file(idx1);
  std::filesystem::remove(idx1);  // an archive of an older build, or a crash
  { std::ofstream(idx2, std::ios::binary | std::ios::trunc) << "WFEAIDX1 but cut"; }
  auto a = open_archive(s);
  CHECK(a->unindexed() == 2);
  CHECK(find(*a, "wf-a") == line("wf-a", 3));  // line by line
  CHECK(find(*a, "wf-b") == line("wf-b", 3));
  CHECK(a->index_one());
  CHECK(a->index_one());
  CHECK_FALSE(a->index_one());
  CHECK(a->unindexed() == 0);
  CHECK(read_file(idx1) == built);  // the same index as the one written at the close
  CHECK(find(*a, "wf-a") == line("wf-a", 3));
  CHECK(find(*a, "wf-b") == line("wf-b", 3));
  // An index whose file changed behind it is not trusted: the file is read instead.
  {
    std::ofstream out(s.dir / "workflows-000002.jsonl", std::ios::app);
    out << line("wf-e", 1) << "\n";
  }
  CHECK(find(*a, "wf-e") == line("wf-e", 1));
  // A file the operator moved away (the archive was full) holds nothing any more.
  std::filesystem::rename(s.dir / "workflows-000001.jsonl", dir.path() / "moved.jsonl");
  CHECK_FALSE(find(*a, "wf-a"));
  CHECK(find(*a, "wf-c") == line("wf-c", 3));
}

TEST_CASE("the archive is listed in the order written, filtered, a bounded read per page") {
  wfe::test::temp_dir dir;
  const archive_settings s{dir.path() / "archive", 300, 1 << 20};
  auto a = open_archive(s);
  auto list = [&a](archive_list q) {
    auto body = a->list(q);
    REQUIRE_MESSAGE(body, (body ? "" : body.error().describe()));
    return json::parse(*body).as_object();
  };
  auto ids = [](const json::object& page) {
    std::vector<std::string> out;
    for (const auto& i : page.at("items").as_array()) {
      CHECK_FALSE(i.as_object().contains("events"));  // the record, not the history
      out.emplace_back(i.at("id").as_string());
    }
    return out;
  };
  CHECK(ids(list({})).empty());
  std::vector<std::string> written;
  for (int i = 0; i < 9; ++i) {
    const auto id = "wf-" + std::to_string(i);
    REQUIRE(a->append({line(id, 2, 1, i % 3 == 0 ? "FAILED" : "COMPLETED")}));
    written.push_back(id);
  }
  REQUIRE(a->current_file() != s.dir / "workflows-000001.jsonl");  // several files
  auto all = list({});
  CHECK(ids(all) == written);
  CHECK_FALSE(all.contains("nextCursor"));
  CHECK(all.at("items").as_array()[0].at("status") == "FAILED");
  CHECK(all.at("items").as_array()[0].at("seq") == 2);
  // Pages of 4 follow each other across files, every line once.
  std::vector<std::string> paged;
  std::string cursor;
  int pages = 0;
  do {
    auto p = list({std::nullopt, std::nullopt, 4, cursor});
    for (auto& id : ids(p)) paged.push_back(id);
    cursor = p.contains("nextCursor") ? std::string(p.at("nextCursor").as_string()) : "";
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(paged == written);
  CHECK(pages == 3);
  CHECK(ids(list({std::string("FAILED"), std::nullopt, 100, ""})) ==
        std::vector<std::string>{"wf-0", "wf-3", "wf-6"});
  CHECK(ids(list({std::nullopt, std::string("nope"), 100, ""})).empty());
  // A rare status reads at most 10 lines per item asked: limit 1 stops after 10 lines
  // even when nothing matched, with a cursor to go on from.
  auto rare = list({std::string("CANCELLED"), std::nullopt, 1, ""});
  CHECK(ids(rare).empty());
  CHECK_FALSE(rare.contains("nextCursor"));  // 9 lines: the whole archive was read
  REQUIRE(a->append({line("wf-9", 1), line("wf-10", 1), line("wf-11", 1, 1, "CANCELLED")}));
  auto bounded = list({std::string("CANCELLED"), std::nullopt, 1, ""});
  CHECK(ids(bounded).empty());  // 10 lines read, none cancelled
  REQUIRE(bounded.contains("nextCursor"));
  auto rest = list({std::string("CANCELLED"), std::nullopt, 1,
                    std::string(bounded.at("nextCursor").as_string())});
  CHECK(ids(rest) == std::vector<std::string>{"wf-11"});
  for (const auto* bad : {"x", "1:", ":5", "1:2:3", "-1:0", "1:99999999999999999999"}) {
    CAPTURE(bad);
    auto r = a->list({std::nullopt, std::nullopt, 10, bad});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == wfe::persistence::errc::invalid_argument);
  }
  // archive-list-max-bytes: a page stops once it read that much (the line that passes it
  // is the last one), with a cursor.
  {
    auto small = s;
    small.list_max_bytes = 150;  // two of these lines
    auto narrow = open_archive(small);
    auto body = narrow->list({});
    REQUIRE(body);
    auto page = json::parse(*body).as_object();
    CHECK(ids(page) == std::vector<std::string>{"wf-0", "wf-1"});
    CHECK(page.contains("nextCursor"));
  }
  // A file moved away is left out of the listing.
  std::filesystem::rename(s.dir / "workflows-000001.jsonl", dir.path() / "moved.jsonl");
  auto after = ids(list({}));
  REQUIRE_FALSE(after.empty());
  CHECK(after.front() != "wf-0");
  CHECK(after.back() == "wf-11");
}

TEST_CASE("an archived page: events from `from`, at most `limit`, nextFrom and deletedBefore") {
  auto page = [](const std::string& l, std::uint64_t from, std::uint32_t limit) {
    auto body = archived_page_json(l, from, limit);
    REQUIRE_MESSAGE(body, (body ? "" : body.error().describe()));
    return json::parse(*body).as_object();
  };
  auto seqs = [](const json::object& o) {
    std::vector<std::int64_t> out;
    for (const auto& e : o.at("events").as_array())
      out.push_back(e.at("seq").to_number<std::int64_t>());
    return out;
  };
  const auto l = line("wf-1", 5);
  auto all = page(l, 1, 100);
  CHECK(seqs(all) == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  CHECK(all.at("status") == "COMPLETED");
  CHECK(all.at("seq") == 5);
  CHECK_FALSE(all.contains("nextFrom"));
  CHECK_FALSE(all.contains("deletedBefore"));
  auto middle = page(l, 2, 2);
  CHECK(seqs(middle) == std::vector<std::int64_t>{2, 3});
  CHECK(middle.at("nextFrom") == 4);
  CHECK(seqs(page(l, 6, 10)).empty());
  // The first events were deleted after a snapshot: said when the page starts later.
  const auto cut = line("wf-2", 3, 4);
  auto from_one = page(cut, 1, 10);
  CHECK(seqs(from_one) == std::vector<std::int64_t>{4, 5, 6});
  CHECK(from_one.at("deletedBefore") == 4);
  CHECK_FALSE(page(cut, 5, 10).contains("deletedBefore"));
  CHECK_FALSE(archived_page_json("{not json", 1, 10));
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

// Starts workflow `id` of definition `def` and waits until it is COMPLETED: its seq.
std::uint64_t start_completed(incarnation& node, const std::string& id, const std::string& def) {
  node.ok(id, start(id, definition(def)));
  std::uint64_t seq = 0;
  REQUIRE(eventually([&] {
    auto r = node.record(id);
    return r && r->status == workflow_status::completed && (seq = r->seq) > 0;
  }));
  return seq;
}

// Moves the node's clock past archiving_config's finished-after.
void expire(std::atomic<std::int64_t>& now) {
  now.fetch_add(std::chrono::milliseconds(std::chrono::hours(1)).count() + 1);
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
    if (entry.path().extension() != ".jsonl") continue;
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
  start_completed(node, id, k_three_noops);
  expire(*now);
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

TEST_CASE("a workflow with more events than archive-max-events is kept, the others archived") {
  wfe::test::temp_dir dir;
  auto now = std::make_shared<std::atomic<std::int64_t>>(1'800'000'000'000);
  auto c = archiving_config(dir.path(), now);
  c.runtime.retention_archive_max_events = 6;  // a 1-step noop workflow writes 5
  incarnation node(dir.path(), c);
  const std::string small = "wf-small";
  const std::string large = "wf-large";
  REQUIRE(start_completed(node, small, R"({"name":"one","steps":[{"name":"a","task":"noop"}]})") <=
          6);
  REQUIRE(start_completed(node, large, k_three_noops) > 6);
  expire(*now);
  REQUIRE(eventually([&] { return node.stats().purged == 1; }));
  std::this_thread::sleep_for(300ms);  // more sweeps: the large one stays
  CHECK(node.stats().purged == 1);
  CHECK_FALSE(node.record(small).has_value());
  auto kept = node.record(large);
  REQUIRE(kept);
  CHECK(kept->status == workflow_status::completed);
  std::vector<std::string> ids;
  for (const auto& entry : std::filesystem::directory_iterator(c.runtime.retention_archive_dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const auto& l : lines_of(entry.path())) {
      ids.emplace_back(json::parse(l).as_object().at("id").as_string());
    }
  }
  CHECK(ids == std::vector<std::string>{small});
  CHECK(node.metric("workflow_archived_total") == 1);
}

TEST_CASE("the archive's listing shows deletedBefore, written before or after the events") {
  wfe::test::temp_dir dir;
  auto a = open_archive({dir.path() / "archive", 1 << 20, 1 << 20});
  json::object before{{"id", "wf-new"},
                      {"status", "COMPLETED"},
                      {"seq", 9},
                      {"deletedBefore", 7},
                      {"events", json::array{json::object{{"seq", 7}, {"type", "E"}}}}};
  // An event whose data has a key of that name, in a line without deletedBefore.
  json::object decoy{{"id", "wf-decoy"},
                     {"status", "COMPLETED"},
                     {"seq", 1},
                     {"events", json::array{json::object{
                                    {"seq", 1}, {"type", "E"}, {"data", {{"deletedBefore", 5}}}}}}};
  REQUIRE(a->append({line("wf-old", 2, 4), json::serialize(before), json::serialize(decoy),
                     line("wf-whole", 2)}));
  auto body = a->list({});
  REQUIRE(body);
  std::map<std::string, std::optional<std::uint64_t>> deleted;
  const auto page = json::parse(*body);  // kept: the loop walks its items
  for (const auto& i : page.at("items").as_array()) {
    const auto& o = i.as_object();
    CHECK_FALSE(o.contains("events"));
    const auto* d = o.if_contains("deletedBefore");
    deleted[std::string(o.at("id").as_string())] =
        d != nullptr ? std::optional<std::uint64_t>(d->to_number<std::uint64_t>()) : std::nullopt;
  }
  REQUIRE(deleted.size() == 4);
  CHECK(deleted["wf-old"] == 4u);  // after its events: the older lines' order
  CHECK(deleted["wf-new"] == 7u);
  CHECK_FALSE(deleted["wf-decoy"].has_value());
  CHECK_FALSE(deleted["wf-whole"].has_value());
}

TEST_CASE("retention writes deletedBefore ahead of the events, so the listing shows it") {
  wfe::test::temp_dir dir;
  auto now = std::make_shared<std::atomic<std::int64_t>>(1'800'000'000'000);
  auto c = archiving_config(dir.path(), now);
  c.entity.snapshot_every = 2;
  c.entity.delete_events_on_snapshot = true;  // the first events go after snapshots
  incarnation node(dir.path(), c);
  const std::string id = "wf-snapshotted";
  start_completed(node, id, k_three_noops);
  expire(*now);
  REQUIRE(eventually([&] { return node.stats().purged == 1; }));
  std::vector<std::string> lines;
  for (const auto& entry : std::filesystem::directory_iterator(c.runtime.retention_archive_dir)) {
    if (entry.path().extension() == ".jsonl") lines = lines_of(entry.path());
  }
  REQUIRE(lines.size() == 1);
  const auto& l = lines.front();
  const auto at = l.find(R"("deletedBefore":)");
  REQUIRE(at != std::string::npos);
  CHECK(at < l.find(R"("events":)"));
  const auto deleted = json::parse(l).at("deletedBefore").to_number<std::uint64_t>();
  CHECK(deleted > 1);
  auto archive = open_archive({c.runtime.retention_archive_dir, 1 << 20, 1 << 20});
  auto body = archive->list({});
  REQUIRE(body);
  const auto page = json::parse(*body);
  const auto& items = page.at("items").as_array();
  REQUIRE(items.size() == 1);
  CHECK(items[0].at("deletedBefore").to_number<std::uint64_t>() == deleted);
}
