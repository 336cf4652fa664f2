#include "engine/workflow/store/timer_service.hpp"

#include <algorithm>
#include <chrono>
#include <queue>
#include <unordered_map>
#include <utility>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "engine/core/logging.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/store_metrics.hpp"

namespace wfe::workflow::store {
namespace {

using wake_atom = caf::atom_constant<caf::atom("twake")>;

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A heap entry: timer `index` of workflow `id` fires at `at_ms`. Entries of a replaced
// set (generation differs) are skipped when they reach the top (lazy deletion).
struct entry {
  std::int64_t at_ms = 0;
  std::string id;
  std::uint64_t generation = 0;
  std::size_t index = 0;
  bool operator>(const entry& o) const { return at_ms > o.at_ms; }
};

struct held {
  std::uint64_t generation = 0;
  std::vector<timer> timers;
};

class timer_table {
 public:
  timer_table(timer_settings settings, timer_service_deps deps)
      : settings_(settings), deps_(std::move(deps)) {
    if (!deps_.now) deps_.now = system_now_ms;
  }

  std::int64_t now() const { return deps_.now(); }

  void set(const std::string& id, std::vector<timer> timers) {
    auto found = workflows_.find(id);
    const std::uint64_t old_size = found == workflows_.end() ? 0 : found->second.timers.size();
    const std::uint64_t others = pending_ - old_size;
    if (others + timers.size() > settings_.max_timers) {
      const auto room = settings_.max_timers > others ? settings_.max_timers - others : 0;
      std::sort(timers.begin(), timers.end(),
                [](const timer& a, const timer& b) { return a.due_ms < b.due_ms; });
      const auto dropped = timers.size() - room;
      refused_ += dropped;
      log_->error(
          "timer service holds the maximum of {} timers "
          "(pekko.workflow.timers.max-timers): {} timers of workflow '{}' dropped; "
          "they come back when the workflow recovers",
          settings_.max_timers, dropped, id);
      timers.resize(room);
    }
    pending_ = others + timers.size();
    if (timers.empty()) {
      if (found != workflows_.end()) workflows_.erase(found);
    } else {
      auto& h = workflows_[id];
      h.generation = ++generation_;
      h.timers = std::move(timers);
      for (std::size_t i = 0; i < h.timers.size(); ++i)
        heap_.push(entry{h.timers[i].due_ms, id, h.generation, i});
    }
    compact_if_needed();
    publish();
  }

  // Pops stale entries; the earliest live entry's time, if any.
  std::optional<std::int64_t> earliest() {
    while (!heap_.empty() && !live(heap_.top())) heap_.pop();
    if (heap_.empty()) return std::nullopt;
    return heap_.top().at_ms;
  }

  // Fires up to max_fire_batch due timers; true when more are due.
  bool fire_due(caf::event_based_actor* self, const caf::actor& sink) {
    const auto t = now();
    std::uint32_t n = 0;
    while (n < settings_.max_fire_batch) {
      auto at = earliest();
      if (!at || *at > t) break;
      auto e = heap_.top();
      heap_.pop();
      const auto& tm = workflows_.at(e.id).timers[e.index];
      self->send(sink, timer_due{e.id, cmd::timer_fired{tm.kind, tm.step, tm.attempt}});
      // At-least-once: fire again later unless a set_timers replaces the set first.
      e.at_ms = t + settings_.redeliver_after.count();
      heap_.push(std::move(e));
      ++n;
    }
    fired_ += n;
    if (n > 0 && deps_.metrics) deps_.metrics->timers_fired(n);
    auto at = earliest();
    return at && *at <= t;
  }

  timer_stats stats() const { return timer_stats{pending_, workflows_.size(), fired_, refused_}; }

  const timer_settings& settings() const { return settings_; }

 private:
  bool live(const entry& e) const {
    auto found = workflows_.find(e.id);
    return found != workflows_.end() && found->second.generation == e.generation;
  }

  // Replaced sets leave stale heap entries; rebuild when they dominate.
  void compact_if_needed() {
    if (heap_.size() <= 2 * pending_ + 1024) return;
    std::vector<entry> live_entries;
    live_entries.reserve(pending_);
    while (!heap_.empty()) {
      if (live(heap_.top())) live_entries.push_back(heap_.top());
      heap_.pop();
    }
    heap_ = decltype(heap_)(std::greater<>{}, std::move(live_entries));
  }

  void publish() {
    if (deps_.metrics) deps_.metrics->timers_pending(pending_);
  }

  timer_settings settings_;
  timer_service_deps deps_;
  std::unordered_map<std::string, held> workflows_;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
  std::uint64_t generation_ = 0;
  std::uint64_t pending_ = 0;
  std::uint64_t fired_ = 0;
  std::uint64_t refused_ = 0;
  std::shared_ptr<spdlog::logger> log_ = core::logger("workflow");
};

struct service_state {
  service_state() = default;  // not an aggregate (see definition_registry.cpp)
  std::unique_ptr<timer_table> table;
  caf::actor sink;
  std::uint64_t wake_generation = 0;
  std::optional<std::int64_t> wake_at;  // clock time of the scheduled wake-up
  static inline const char* name = "workflow-timer-service";
};

using self_ptr = caf::stateful_actor<service_state>*;

// Schedules one delayed wake-up for the earliest timer (capped at the tick), unless one
// is already scheduled no later than that.
void schedule(self_ptr self, bool immediately = false) {
  auto& st = self->state;
  auto at = st.table->earliest();
  if (!at) return;
  const auto now = st.table->now();
  auto delay = immediately ? 0 : std::max<std::int64_t>(0, *at - now);
  delay = std::min<std::int64_t>(delay, st.table->settings().tick.count());
  const auto wake_at = now + delay;
  if (st.wake_at && *st.wake_at <= wake_at) return;
  st.wake_at = wake_at;
  self->delayed_send(self, std::chrono::milliseconds(delay), wake_atom::value,
                     ++st.wake_generation);
}

void fire(self_ptr self) {
  auto& st = self->state;
  const bool more = st.table->fire_due(self, st.sink);
  schedule(self, more);
}

caf::behavior timer_service(self_ptr self, caf::actor sink, timer_service_deps deps,
                            timer_settings settings, std::vector<workflow_timers> initial) {
  auto& st = self->state;
  st.sink = std::move(sink);
  st.table = std::make_unique<timer_table>(settings, std::move(deps));
  std::uint64_t loaded = 0;
  for (auto& w : initial) {
    loaded += w.timers.size();
    st.table->set(w.workflow_id, std::move(w.timers));
  }
  core::logger("workflow")
      ->info("timer service started with {} timers of {} workflows", loaded, initial.size());
  fire(self);
  return {
      [self](set_timers& s) {
        self->state.table->set(s.workflow_id, std::move(s.timers));
        fire(self);
      },
      [self](wake_atom, std::uint64_t generation) {
        if (generation != self->state.wake_generation) return;  // superseded
        self->state.wake_at.reset();
        fire(self);
      },
      [self](const timer_check&) { fire(self); },
      [self](const get_timer_stats&) { return self->state.table->stats(); },
  };
}

}  // namespace

caf::actor spawn_timer_service(caf::actor_system& sys, const caf::actor& sink,
                               timer_service_deps deps, const timer_settings& settings,
                               std::vector<workflow_timers> initial) {
  return sys.spawn(timer_service, sink, std::move(deps), settings, std::move(initial));
}

}  // namespace wfe::workflow::store
