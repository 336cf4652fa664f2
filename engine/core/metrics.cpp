#include "engine/core/metrics.hpp"

#include <dirent.h>
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <cstddef>
// From libasan / libtsan (GCC ships no <sanitizer/allocator_interface.h>).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <jemalloc/jemalloc.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>

#include <prometheus/gauge.h>

namespace wfe::core {

namespace {

prometheus::MetricFamily gauge_family(std::string name, std::string help, double value,
                                      prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

// Resident set size from /proc/self/statm (pages).
double resident_bytes() {
  std::ifstream in("/proc/self/statm");
  long size = 0;
  long resident = 0;
  in >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// utime + stime from /proc/self/stat (fields 14 and 15, after the ")" of comm).
double cpu_seconds() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Bytes the allocator (jemalloc, linked into every binary) has handed out and not got
// back. Unlike RSS it drops when memory is freed, even while jemalloc keeps the pages.
// A sanitizer build (`make sanitize`, or -DWFE_SANITIZE=thread) has the sanitizer's
// allocator instead of jemalloc.
double heap_in_use_bytes() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return static_cast<double>(__sanitizer_get_current_allocated_bytes());
#else
  std::uint64_t epoch = 1;
  std::size_t len = sizeof(epoch);
  mallctl("epoch", &epoch, &len, &epoch, len);  // refresh jemalloc's cached statistics
  std::size_t allocated = 0;
  len = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &len, nullptr, 0) != 0) return 0;
  return static_cast<double>(allocated);
#endif
}

double open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  double n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 2;  // "." and ".."
}

}  // namespace

metrics_registry::metrics_registry(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      start_time_seconds_(
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count()) {
  prometheus::BuildGauge()
      .Name("workflow_build_info")
      .Help("Build information of this workflow-engine binary")
      .Register(*registry_)
      .Add({{"version", std::string(version)}})
      .Set(1);
}

std::vector<prometheus::MetricFamily> metrics_registry::Collect() const {
  auto families = registry_->Collect();
  families.push_back(gauge_family("process_resident_memory_bytes", "Resident memory size in bytes",
                                  resident_bytes()));
  families.push_back(gauge_family("process_heap_in_use_bytes",
                                  "Heap bytes allocated and not freed (jemalloc stats.allocated)",
                                  heap_in_use_bytes()));
  families.push_back(gauge_family("process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds", cpu_seconds(),
                                  prometheus::MetricType::Counter));
  families.push_back(
      gauge_family("process_open_fds", "Number of open file descriptors", open_fds()));
  families.push_back(gauge_family("process_start_time_seconds",
                                  "Start time of the process since the Unix epoch in seconds",
                                  start_time_seconds_));
  const std::lock_guard lock(sampled_mu_);
  for (const auto& g : sampled_) {
    auto it = std::find_if(families.begin(), families.end(),
                           [&](const prometheus::MetricFamily& f) { return f.name == g.name; });
    if (it == families.end()) {
      families.push_back(
          prometheus::MetricFamily{g.name, g.help, prometheus::MetricType::Gauge, {}});
      it = std::prev(families.end());
    }
    prometheus::ClientMetric m;
    for (const auto& [k, v] : g.labels) m.label.push_back({k, v});
    m.gauge.value = g.sample();
    it->metric.push_back(std::move(m));
  }
  return families;
}

void metrics_registry::add_sampled_gauge(std::string name, std::string help,
                                         prometheus::Labels labels,
                                         std::function<double()> sample) {
  const std::lock_guard lock(sampled_mu_);
  sampled_.push_back({std::move(name), std::move(help), std::move(labels), std::move(sample)});
}

}  // namespace wfe::core
