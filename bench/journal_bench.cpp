// journal_bench: durable event throughput and recovery of event-sourced entities on
// the real RocksDB journal (fsync on) through the group-commit journal actor.
//
//   journal_bench --entities N --events-per-entity M --event-bytes B --dir D
//
// Phase 1: N entities (persistence/eventsourced.hpp), each driven by its own client
//   actor that sends one command, waits for the reply (sent after the event is durable)
//   and sends the next: M persists per entity, one at a time. Per-persist latency =
//   command sent -> reply received.
// Phase 2: replay of every event of every entity, through the journal API (what the
//   journal actor runs for a recovering entity).
// Phase 3: recovery of one entity with 1,000 events, without and with a snapshot at
//   1,000: spawn -> first reply (median of several runs).
// Progress lines go to stderr-like stdout lines; the LAST line is JSON.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "persistence/eventsourced.hpp"
#include "persistence/rocksdb_journal.hpp"

#include <prometheus/registry.h>

using namespace wfe::persistence;
using clock_type = std::chrono::steady_clock;

namespace {

struct bench_cmd {
  std::uint32_t event_bytes = 0;  // 0: read the state (no event)
};

// A minimal entity: each command appends one event of `event_bytes` bytes.
struct bench_model {
  struct state_type {
    std::uint64_t events = 0;
    std::uint64_t bytes = 0;
  };
  using command_type = bench_cmd;
  using event_type = std::string;
  using reply_type = std::uint64_t;

  state_type initial_state(const persistence_id&) const { return {}; }
  wfe::core::expected<std::vector<event_type>, reply_type> decide(const state_type&,
                                                                  const command_type& c) const {
    if (c.event_bytes == 0) return std::vector<event_type>{};
    return std::vector<event_type>{std::string(c.event_bytes, 'x')};
  }
  state_type apply(state_type s, const event_type& e) const {
    return {s.events + 1, s.bytes + e.size()};
  }
  reply_type reply(const state_type& s, const command_type&) const { return s.events; }
  encoded encode_event(const event_type& e) const { return {"bench", e}; }
  result<event_type> decode_event(const event& e) const { return e.payload; }
  encoded encode_state(const state_type& s) const {
    return {"bench.v1", std::to_string(s.events) + " " + std::to_string(s.bytes)};
  }
  result<state_type> decode_state(const snapshot& s) const {
    state_type st;
    if (std::sscanf(s.payload.c_str(), "%lu %lu", &st.events, &st.bytes) != 2)
      return fail(errc::corruption, "bad bench state");
    return st;
  }
};

}  // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bench_cmd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::result<std::uint64_t>)

namespace {

struct options {
  int entities = 64;
  std::uint64_t events_per_entity = 1000;
  std::uint32_t event_bytes = 256;
  std::filesystem::path dir = "./journal-bench-data";
  int scheduler_threads = 0;  // 0: CAF's default
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--entities")
      o.entities = std::atoi(argv[i + 1]);
    else if (a == "--events-per-entity")
      o.events_per_entity = std::stoull(argv[i + 1]);
    else if (a == "--event-bytes")
      o.event_bytes = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    else if (a == "--dir")
      o.dir = argv[i + 1];
    else if (a == "--scheduler-threads")
      o.scheduler_threads = std::atoi(argv[i + 1]);
    else
      return false;
  }
  return o.entities > 0 && o.events_per_entity > 0 && o.event_bytes > 0;
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

struct run_state {
  std::vector<std::vector<double>> latencies_ms;  // one vector per driver (no sharing)
  std::atomic<std::uint64_t> done_events{0};
  std::atomic<int> running{0};
  std::promise<void> finished;
};

// Drives one entity: M commands, each sent after the previous reply.
void driver(caf::event_based_actor* self, caf::actor entity, int index, options o, run_state* rs) {
  auto next = std::make_shared<std::function<void(std::uint64_t)>>();
  *next = [=](std::uint64_t n) {
    if (n == o.events_per_entity) {
      if (--rs->running == 0) rs->finished.set_value();
      return;
    }
    const auto sent = clock_type::now();
    ask_entity<bench_model>(self, entity, std::chrono::seconds(60), bench_cmd{o.event_bytes},
                            [=](result<std::uint64_t> r) {
                              if (!r) {
                                std::fprintf(stderr, "persist failed: %s\n",
                                             r.error().describe().c_str());
                                std::_Exit(1);
                              }
                              rs->latencies_ms[index].push_back(ms_since(sent));
                              ++rs->done_events;
                              (*next)(n + 1);
                            });
  };
  (*next)(0);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

struct node {
  prometheus::Registry registry;
  std::shared_ptr<journal_metrics> metrics = std::make_shared<journal_metrics>(&registry);
  std::shared_ptr<rocksdb_journal> journal;
  std::shared_ptr<rocksdb_snapshot_store> snapshots;
  std::shared_ptr<journal_actor_stats> stats = std::make_shared<journal_actor_stats>();
  eventsourced_deps deps;
};

void open_node(caf::actor_system& sys, const options& o, node& n) {
  std::filesystem::create_directories(o.dir);
  auto j = rocksdb_journal::open({.dir = o.dir / "journal", .fsync = true}, n.metrics);
  auto s = rocksdb_snapshot_store::open({.dir = o.dir / "snapshots"});
  if (!j || !s) {
    std::fprintf(stderr, "open failed: %s\n", (!j ? j.error() : s.error()).describe().c_str());
    std::exit(2);
  }
  n.journal = std::move(j).value();
  n.snapshots = std::move(s).value();
  n.deps.journal = spawn_journal_actor(sys, {n.journal, n.stats, n.metrics}, {});
  n.deps.snapshots = spawn_snapshot_store_actor(sys, n.snapshots);
  n.deps.recovery_permits = spawn_recovery_permits(sys, 50);
}

// Mean of a histogram of the journal metrics, in ms: where the time of a persist goes.
double mean_ms(prometheus::Registry& r, const std::string& name) {
  for (const auto& f : r.Collect()) {
    if (f.name != name || f.metric.empty()) continue;
    const auto& h = f.metric.front().histogram;
    return h.sample_count == 0 ? 0 : 1e3 * h.sample_sum / static_cast<double>(h.sample_count);
  }
  return 0;
}

struct write_figures {
  double events_per_s = 0, p50_ms = 0, p99_ms = 0, seconds = 0, events_per_sync = 0;
};

write_figures write_phase(caf::actor_system& sys, node& n, const options& o) {
  run_state rs;
  rs.latencies_ms.resize(static_cast<std::size_t>(o.entities));
  for (auto& v : rs.latencies_ms) v.reserve(o.events_per_entity);
  rs.running = o.entities;
  eventsourced_config es{.snapshot_every = 0};
  std::vector<caf::actor> entities;
  for (int i = 0; i < o.entities; ++i) {
    entities.push_back(spawn_eventsourced(
        sys, bench_model{},
        persistence_id{shard_id{static_cast<std::uint32_t>(i % 8)}, "bench-" + std::to_string(i)},
        n.deps, es));
  }
  auto done = rs.finished.get_future();
  const auto start = clock_type::now();
  for (int i = 0; i < o.entities; ++i)
    sys.spawn(driver, entities[static_cast<std::size_t>(i)], i, o, &rs);
  while (done.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
    std::printf("progress: %lu events persisted, %.0f events/s so far\n",
                static_cast<unsigned long>(rs.done_events.load()),
                static_cast<double>(rs.done_events.load()) / (ms_since(start) / 1e3));
    std::fflush(stdout);
  }
  write_figures f;
  f.seconds = ms_since(start) / 1e3;
  std::vector<double> all;
  for (auto& v : rs.latencies_ms) all.insert(all.end(), v.begin(), v.end());
  f.events_per_s = static_cast<double>(all.size()) / f.seconds;
  f.p50_ms = percentile(all, 0.50);
  f.p99_ms = percentile(all, 0.99);
  f.events_per_sync = static_cast<double>(n.stats->events.load()) /
                      static_cast<double>(std::max<std::uint64_t>(1, n.stats->writes.load()));
  for (auto& e : entities) caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  return f;
}

// The journal alone, no actors: write_many of one event for each of N ids, back to
// back; the upper bound of what the group commit can reach with N entities.
double direct_phase(node& n, const options& o) {
  constexpr int rounds = 300;
  const auto start = clock_type::now();
  for (int r = 1; r <= rounds; ++r) {
    std::vector<write_request> batch;
    for (int i = 0; i < o.entities; ++i) {
      persistence_id pid{shard_id{98}, "direct-" + std::to_string(i)};
      batch.push_back(write_request{pid,
                                    {event{static_cast<std::uint64_t>(r), "bench",
                                           std::string(o.event_bytes, 'x'), "w", 0}}});
    }
    for (auto& res : n.journal->write_many(std::move(batch))) {
      if (!res) std::fprintf(stderr, "direct write failed: %s\n", res.error().describe().c_str());
    }
  }
  const double s = ms_since(start) / 1e3;
  const double per_s = rounds * o.entities / s;
  std::printf("journal alone: write_many of %d one-event requests: %.3f ms each, %.0f events/s\n",
              o.entities, s * 1e3 / rounds, per_s);
  return per_s;
}

double replay_phase(node& n, const options& o) {
  std::uint64_t events = 0;
  const auto start = clock_type::now();
  for (int i = 0; i < o.entities; ++i) {
    persistence_id pid{shard_id{static_cast<std::uint32_t>(i % 8)}, "bench-" + std::to_string(i)};
    auto r = n.journal->replay(pid, 1, max_sequence_nr, max_sequence_nr,
                               [&](const event&) { ++events; });
    if (!r) std::fprintf(stderr, "replay failed: %s\n", r.error().describe().c_str());
  }
  const double s = ms_since(start) / 1e3;
  std::printf("replay: %lu events in %.3f s\n", static_cast<unsigned long>(events), s);
  return static_cast<double>(events) / s;
}

// Median time from spawn to the first reply of an entity with 1,000 events.
double recovery_ms(caf::actor_system& sys, node& n, const options& o, bool with_snapshot) {
  const persistence_id pid{shard_id{99}, with_snapshot ? "recover-snap" : "recover-replay"};
  std::vector<event> events;
  for (std::uint64_t s = 1; s <= 1000; ++s)
    events.push_back(event{s, "bench", std::string(o.event_bytes, 'x'), "w", 0});
  if (*n.journal->highest_sequence_nr(pid) == 0) (void)n.journal->write(pid, std::move(events));
  if (with_snapshot)
    (void)n.snapshots->save(
        pid, snapshot{1000, 0, "bench.v1", "1000 " + std::to_string(1000 * o.event_bytes)});
  eventsourced_config es{.snapshot_every = 0};
  std::vector<double> runs;
  for (int i = 0; i < 21; ++i) {
    const auto start = clock_type::now();
    auto entity = spawn_eventsourced(sys, bench_model{}, pid, n.deps, es);
    auto r = ask_entity_blocking<bench_model>(sys, entity, std::chrono::seconds(10), bench_cmd{0});
    runs.push_back(ms_since(start));
    if (!r || *r != 1000) std::fprintf(stderr, "recovery returned a wrong state\n");
    caf::anon_send_exit(entity, caf::exit_reason::user_shutdown);
  }
  return percentile(runs, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(
        stderr,
        "usage: journal_bench --entities N --events-per-entity M --event-bytes B --dir D\n");
    return 64;
  }
  std::filesystem::remove_all(o.dir);
  caf::actor_system_config cfg;
  if (o.scheduler_threads > 0) cfg.set("scheduler.max-threads", o.scheduler_threads);
  caf::actor_system sys{cfg};
  node n;
  open_node(sys, o, n);
  std::printf("journal_bench: %d entities x %lu events of %u bytes, fsync on, dir %s\n", o.entities,
              static_cast<unsigned long>(o.events_per_entity), o.event_bytes, o.dir.c_str());
  auto w = write_phase(sys, n, o);
  std::printf("write: %.0f events/s, p50 %.3f ms, p99 %.3f ms, %.1f events per synced write\n",
              w.events_per_s, w.p50_ms, w.p99_ms, w.events_per_sync);
  std::printf(
      "breakdown: journal write_many (encode + RocksDB write + fsync) %.3f ms mean; "
      "request received by the journal actor -> acknowledged %.3f ms mean\n",
      mean_ms(n.registry, "journal_sync_seconds"), mean_ms(n.registry, "journal_write_seconds"));
  const double direct = direct_phase(n, o);
  const double replay = replay_phase(n, o);
  const double rec = recovery_ms(sys, n, o, false);
  const double rec_snap = recovery_ms(sys, n, o, true);
  std::printf("recovery of 1,000 events: %.3f ms; from a snapshot at 1,000: %.3f ms\n", rec,
              rec_snap);
  for (auto& a : {n.deps.journal, n.deps.snapshots, n.deps.recovery_permits})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  std::printf(
      "{\"entities\":%d,\"events_per_entity\":%lu,\"event_bytes\":%u,\"events_per_s\":%.0f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"events_per_sync\":%.1f,\"journal_alone_events_per_s\":%."
      "0f,\"replay_events_per_s\":%.0f,"
      "\"recovery_1000_ms\":%.3f,\"recovery_1000_snapshot_ms\":%.3f}\n",
      o.entities, static_cast<unsigned long>(o.events_per_entity), o.event_bytes, w.events_per_s,
      w.p50_ms, w.p99_ms, w.events_per_sync, direct, replay, rec, rec_snap);
  return 0;
}
