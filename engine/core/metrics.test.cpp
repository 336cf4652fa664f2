#include "engine/core/metrics.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include <doctest/doctest.h>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#include <cstdlib>
#include <fstream>
#include <string>

#include <jemalloc/jemalloc.h>
#endif

namespace wfe::core {
namespace {

const prometheus::MetricFamily* family(const std::vector<prometheus::MetricFamily>& fs,
                                       const std::string& name) {
  auto it = std::find_if(fs.begin(), fs.end(), [&](const auto& f) { return f.name == name; });
  return it == fs.end() ? nullptr : &*it;
}

TEST_CASE("sampled gauges are evaluated at every scrape and grouped by name") {
  metrics_registry m("test");
  double journal = 1;
  m.add_sampled_gauge("rocksdb_memtable_bytes", "memtables", {{"db", "journal"}},
                      [&journal] { return journal; });
  m.add_sampled_gauge("rocksdb_memtable_bytes", "memtables", {{"db", "index"}}, [] { return 7.0; });
  auto first = m.Collect();
  const auto* f = family(first, "rocksdb_memtable_bytes");
  REQUIRE(f != nullptr);
  CHECK(f->type == prometheus::MetricType::Gauge);
  REQUIRE(f->metric.size() == 2);
  CHECK(f->metric[0].label.at(0).value == "journal");
  CHECK(f->metric[0].gauge.value == 1);
  CHECK(f->metric[1].gauge.value == 7);
  journal = 42;
  auto second = m.Collect();
  CHECK(family(second, "rocksdb_memtable_bytes")->metric[0].gauge.value == 42);
}

TEST_CASE("heap in use grows with live allocations and drops when they are freed") {
  metrics_registry m("test");
  auto heap = [&m] {
    return family(m.Collect(), "process_heap_in_use_bytes")->metric[0].gauge.value;
  };
  const double before = heap();
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 64; ++i) blocks.emplace_back(new char[128 * 1024]);  // 8 MiB
  // jemalloc merges some per-thread counters lazily: allow it to lag by a few blocks.
  constexpr double most = 7.0 * 1024 * 1024;
  const double during = heap();
  CHECK(during - before >= most);
  blocks.clear();
  CHECK(during - heap() >= most);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_CASE(
    "every binary's jemalloc runs with transparent huge pages and 4 arenas "
    "(allocator_options.cpp)") {
  if (std::getenv("MALLOC_CONF") != nullptr) {
    MESSAGE("MALLOC_CONF is set: it overrides the binary's options");
    return;
  }
  auto option = [](const char* name) {
    const char* value = nullptr;
    std::size_t len = sizeof(value);
    REQUIRE(mallctl(name, static_cast<void*>(&value), &len, nullptr, 0) == 0);
    return std::string(value);
  };
  // jemalloc reads the kernel's THP mode from sysfs at start; where it cannot (no /sys,
  // as in a bare chroot, or a kernel without THP) it reports the option unsupported.
  const bool sysfs = std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good();
  CHECK(option("opt.thp") == (sysfs ? "always" : "not supported"));
  CHECK(option("opt.metadata_thp") == "always");
  unsigned arenas = 0;
  std::size_t len = sizeof(arenas);
  REQUIRE(mallctl("opt.narenas", &arenas, &len, nullptr, 0) == 0);
  CHECK(arenas == 4);
}
#endif

}  // namespace
}  // namespace wfe::core
