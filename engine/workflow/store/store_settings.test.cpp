// The store keys of conf/reference.conf give the documented defaults; bad values are
// refused naming the key; the index dir defaults to a sibling of the journal dir.
#include "engine/workflow/store/store_settings.hpp"

#include <doctest/doctest.h>

#include "tests/support/load_settings.hpp"

using namespace wfe::workflow::store;

namespace {

std::pair<store_settings, std::string> read(std::string_view text,
                                            const std::filesystem::path& journal = "data/journal") {
  wfe::test::temp_dir dir;
  auto cfg = wfe::test::load_file(dir.write("node.conf", text));
  wfe::core::settings_reader r(cfg);
  auto s = store_settings::read(r, journal);
  return {s, wfe::core::describe(r.errors())};
}

}  // namespace

TEST_CASE("the store keys of reference.conf give the structs' documented defaults") {
  auto [s, errors] = read("");
  CHECK(errors.empty());
  const store_settings d;
  CHECK(s.definitions.max_definitions == d.definitions.max_definitions);
  CHECK(s.definitions.max_versions == d.definitions.max_versions);
  CHECK(s.index.max_batch_updates == d.index.max_batch_updates);
  CHECK(s.index.update_linger == d.index.update_linger);
  CHECK(s.index.list_default_limit == d.index.list_default_limit);
  CHECK(s.index.list_max_limit == d.index.list_max_limit);
  CHECK(s.index.list_max_scan == d.index.list_max_scan);
  CHECK(s.index.reconcile_batch == d.index.reconcile_batch);
  CHECK(s.index.write_retry_min_backoff == d.index.write_retry_min_backoff);
  CHECK(s.index.write_retry_max_backoff == d.index.write_retry_max_backoff);
  CHECK(s.index.max_retained_updates == d.index.max_retained_updates);
  CHECK(s.timers.max_timers == d.timers.max_timers);
  CHECK(s.timers.tick == d.timers.tick);
  CHECK(s.timers.redeliver_after == d.timers.redeliver_after);
  CHECK(s.timers.max_fire_batch == d.timers.max_fire_batch);
  CHECK(s.timers.reload_interval == d.timers.reload_interval);
  CHECK(s.index.dir == std::filesystem::path("data/workflow-index"));
}

TEST_CASE("the index dir defaults to workflow-index next to the journal dir") {
  CHECK(default_index_dir("/var/lib/pekko/journal") == "/var/lib/pekko/workflow-index");
  CHECK(default_index_dir("/var/lib/pekko/journal/") == "/var/lib/pekko/workflow-index");
  CHECK(default_index_dir("./data/journal") == "data/workflow-index");
  auto [s, errors] = read(R"(pekko.workflow.store.dir = "/tmp/elsewhere")");
  CHECK(errors.empty());
  CHECK(s.index.dir == "/tmp/elsewhere");
}

TEST_CASE("bad store values are refused naming the key") {
  auto [s, errors] = read(R"(
    pekko.workflow.definitions.max-versions = 0
    pekko.workflow.store { list-default-limit = 500, list-max-limit = 100, dir = "data/journal" }
    pekko.workflow.timers.tick = 0s
    pekko.workflow.timers.reload-interval = 0s
  )");
  CHECK(errors.find("pekko.workflow.definitions.max-versions") != std::string::npos);
  CHECK(errors.find("pekko.workflow.timers.tick") != std::string::npos);
  CHECK(errors.find("pekko.workflow.timers.reload-interval") != std::string::npos);
  auto [s2, errors2] = read(R"(
    pekko.workflow.store { list-default-limit = 500, list-max-limit = 100, dir = "data/journal" }
  )");
  CHECK(errors2.find("pekko.workflow.store.list-default-limit") != std::string::npos);
  CHECK(errors2.find("pekko.workflow.store.dir") != std::string::npos);
  auto [s3, errors3] = read("pekko.workflow.store.list-max-scan = 50\n");
  CHECK(errors3.find("pekko.workflow.store.list-max-scan") != std::string::npos);
  CHECK(errors3.find("at least pekko.workflow.store.list-max-limit (1000)") != std::string::npos);
  auto [s5, errors5] = read(R"(
    pekko.workflow.store { write-retry-min-backoff = 5s, write-retry-max-backoff = 1s }
  )");
  CHECK(errors5.find("pekko.workflow.store.write-retry-max-backoff") != std::string::npos);
  auto [s6, errors6] = read("pekko.workflow.store.max-retained-updates = 10\n");
  CHECK(errors6.find("at least pekko.workflow.store.max-batch-updates (1024)") !=
        std::string::npos);
  auto [s4, errors4] = read("pekko.workflow.store.list-max-scan = 2000\n");
  CHECK(errors4.empty());
  CHECK(s4.index.list_max_scan == 2000);
}
