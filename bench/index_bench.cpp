// index_bench: the workflow index's write path (engine/workflow/store/workflow_index.hpp)
// under traffic shaped like durable starts of a 1-step noop workflow: every workflow sends
// a RUNNING update and, `--lag` updates later, its COMPLETED one; updates are applied in
// batches of `--min-batch`..`--max-batch` (the index actor's WriteBatches under load).
//
//   index_bench [--workflows N] [--min-batch A] [--max-batch B] [--lag L]
//               [--per-ms K] [--timers] [--load-timers M] [--dir D]
//
// Opens a fresh index in a temp dir (or D, which must not exist), applies 2*N updates
// and prints updates/s and µs per update; the LAST line is JSON. --timers gives every
// workflow a workflow-timeout timer, and its second update keeps it and stays RUNNING
// (a step finished) instead of completing; then load_timers(M) is timed (M = --load-timers,
// default N/2): the start-up load, and each read of the timer service while over
// max-timers (engine/workflow/store/README.md, "Beyond max-timers").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "engine/workflow/store/workflow_index.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::store;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::uint64_t workflows = 200'000;
  std::uint32_t min_batch = 20;
  std::uint32_t max_batch = 60;
  std::uint32_t lag = 64;    // updates between a workflow's RUNNING and COMPLETED update
  std::uint32_t per_ms = 6;  // workflows created per millisecond (~6k starts/s)
  bool timers = false;
  std::uint64_t load_timers = 0;  // 0 = workflows / 2
  std::string dir;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--timers") {
      o.timers = true;
      continue;
    }
    if ((v = value()) == nullptr) return false;
    if (a == "--workflows") {
      o.workflows = std::strtoull(v, nullptr, 10);
    } else if (a == "--min-batch") {
      o.min_batch = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (a == "--max-batch") {
      o.max_batch = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (a == "--load-timers") {
      o.load_timers = std::strtoull(v, nullptr, 10);
    } else if (a == "--lag") {
      o.lag = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (a == "--per-ms") {
      o.per_ms = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (a == "--dir") {
      o.dir = v;
    } else {
      return false;
    }
  }
  return o.workflows > 0 && o.min_batch > 0 && o.max_batch >= o.min_batch && o.per_ms > 0;
}

// The update stream: workflow i starts (RUNNING, seq 3) and completes `lag` updates later
// (COMPLETED, seq 6), ids like the wrk script's ("b-<thread>-<counter>").
class traffic {
 public:
  explicit traffic(const options& o) : o_(o) {}

  bool next(index_update& out) {
    const bool start_due = started_ < o_.workflows;
    if (!running_.empty() && (running_.size() > o_.lag || !start_due)) {
      out = std::move(running_.front());
      running_.pop_front();
      // With --timers the second update is a step finishing (still RUNNING, same timer);
      // without, the workflow completes (no timers).
      if (!o_.timers) out.record.status = workflow_status::completed;
      out.record.seq = 6;
      out.record.updated_at_ms += 2;
      return true;
    }
    if (!start_due) return false;
    const auto i = started_++;
    index_update u;
    u.record.id = "b-" + std::to_string(1 + i % 2) + "-" + std::to_string(i / 2);
    u.record.definition = "bench1";
    u.record.version = 1;
    u.record.status = workflow_status::running;
    u.record.created_at_ms = 1'700'000'000'000LL + static_cast<std::int64_t>(i / o_.per_ms);
    u.record.updated_at_ms = u.record.created_at_ms;
    u.record.seq = 3;
    if (o_.timers) {
      u.timers.push_back(
          timer{u.record.created_at_ms + 60'000, timer_kind::workflow_timeout, "", 0});
    }
    out = u;
    running_.push_back(std::move(u));
    return true;
  }

 private:
  const options& o_;
  std::uint64_t started_ = 0;
  std::deque<index_update> running_;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: index_bench [--workflows N] [--min-batch A] [--max-batch B] [--lag L] "
                 "[--per-ms K] [--timers] [--load-timers M] [--dir D]\n");
    return 2;
  }
  namespace fs = std::filesystem;
  const bool own_dir = o.dir.empty();
  fs::path dir = o.dir;
  if (own_dir) {
    std::string tmpl = (fs::temp_directory_path() / "index_bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  } else if (fs::exists(dir)) {
    std::fprintf(stderr, "index_bench: %s exists (give a new directory)\n", o.dir.c_str());
    return 2;
  }
  int rc = 0;
  {
    index_settings settings;
    settings.dir = dir / "workflow-index";
    auto opened = workflow_index::open(settings);
    if (!opened) {
      std::fprintf(stderr, "index_bench: %s\n", opened.error().describe().c_str());
      return 1;
    }
    auto& index = **opened;
    traffic gen(o);
    std::mt19937 rng(42);
    std::uniform_int_distribution<std::uint32_t> batch_size(o.min_batch, o.max_batch);
    std::vector<index_update> batch;
    std::uint64_t updates = 0;
    std::uint64_t batches = 0;
    const auto t0 = clock_type::now();
    for (bool more = true; more;) {
      batch.clear();
      const auto n = batch_size(rng);
      index_update u;
      while (batch.size() < n && (more = gen.next(u))) batch.push_back(std::move(u));
      if (batch.empty()) break;
      auto r = index.apply(batch);
      if (!r || *r != batch.size()) {
        std::fprintf(stderr, "index_bench: apply failed: %s\n",
                     r ? "not every update applied" : r.error().describe().c_str());
        rc = 1;
        break;
      }
      updates += batch.size();
      ++batches;
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    const auto stats = index.stats();
    const double per_s = static_cast<double>(updates) / secs;
    const double us = secs * 1e6 / static_cast<double>(updates);
    std::printf("workflows %llu, updates %llu in %llu batches (%u-%u), %.3f s\n",
                static_cast<unsigned long long>(o.workflows),
                static_cast<unsigned long long>(updates), static_cast<unsigned long long>(batches),
                o.min_batch, o.max_batch, secs);
    std::printf("index: %llu completed, %llu running, %llu with timers\n",
                static_cast<unsigned long long>(stats.completed),
                static_cast<unsigned long long>(stats.running),
                static_cast<unsigned long long>(stats.workflows_with_timers));
    const auto io = index.io();
    const double n = static_cast<double>(updates);
    std::printf("rocksdb per update: %.2f gets, %.2f puts, %.2f deletes\n",
                static_cast<double>(io.gets) / n, static_cast<double>(io.puts) / n,
                static_cast<double>(io.deletes) / n);
    std::printf("%.0f updates/s, %.2f us/update\n", per_s, us);
    double load_secs = 0;
    std::uint64_t loaded = 0;
    if (o.timers) {
      const auto max = o.load_timers != 0 ? o.load_timers : o.workflows / 2;
      const auto l0 = clock_type::now();
      auto load = index.load_timers(max);
      load_secs = std::chrono::duration<double>(clock_type::now() - l0).count();
      if (!load) {
        std::fprintf(stderr, "index_bench: load_timers failed: %s\n",
                     load.error().describe().c_str());
        rc = 1;
      } else {
        for (const auto& w : load->timers) loaded += w.timers.size();
        std::printf("load_timers(%llu): %llu loaded, %llu left out, %.3f s\n",
                    static_cast<unsigned long long>(max), static_cast<unsigned long long>(loaded),
                    static_cast<unsigned long long>(load->dropped), load_secs);
      }
    }
    std::printf(
        "{\"bench\":\"index\",\"workflows\":%llu,\"updates\":%llu,\"batches\":%llu,"
        "\"timers\":%s,\"seconds\":%.3f,\"updates_per_s\":%.0f,\"us_per_update\":%.3f,"
        "\"gets\":%llu,\"puts\":%llu,\"deletes\":%llu,\"timers_loaded\":%llu,"
        "\"load_timers_seconds\":%.3f}\n",
        static_cast<unsigned long long>(o.workflows), static_cast<unsigned long long>(updates),
        static_cast<unsigned long long>(batches), o.timers ? "true" : "false", secs, per_s, us,
        static_cast<unsigned long long>(io.gets), static_cast<unsigned long long>(io.puts),
        static_cast<unsigned long long>(io.deletes), static_cast<unsigned long long>(loaded),
        load_secs);
  }
  if (own_dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return rc;
}
