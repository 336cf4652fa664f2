#include "engine/workflow/store/timer_service.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <queue>
#include <unordered_map>
#include <utility>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "engine/core/clock.hpp"
#include "engine/core/logging.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/store_metrics.hpp"
#include "engine/workflow/store/workflow_index.hpp"

namespace wfe::workflow::store {
namespace {

using wake_atom = caf::atom_constant<caf::atom("twake")>;
using reload_atom = caf::atom_constant<caf::atom("treload")>;
using scan_atom = caf::atom_constant<caf::atom("tscan")>;

using core::system_now_ms;

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
  std::int64_t first_due = 0;  // the earliest due time of `timers`
  std::vector<timer> timers;
};

constexpr auto k_never = std::numeric_limits<std::int64_t>::max();

std::int64_t first_due_of(const std::vector<timer>& timers) {
  std::int64_t first = k_never;
  for (const auto& t : timers) first = std::min(first, t.due_ms);
  return first;
}

class timer_table {
 public:
  timer_table(timer_settings settings, timer_service_deps deps)
      : settings_(settings), deps_(std::move(deps)) {
    if (!deps_.now) deps_.now = system_now_ms;
  }

  std::int64_t now() const { return deps_.now(); }

  // What load_timers(max-timers) read at start.
  void load(timer_load initial) {
    std::uint64_t loaded = 0;
    for (auto& w : initial.timers) {
      loaded += w.timers.size();
      set(w.workflow_id, std::move(w.timers));
    }
    log_->info("timer service started with {} timers of {} workflows", loaded,
               initial.timers.size());
    if (initial.dropped > 0) {
      log_->error(
          "timer service holds at most {} timers (pekko.workflow.timers.max-timers): {} more "
          "stay in the workflow index and are read back as room frees",
          settings_.max_timers, initial.dropped);
      overflow_logged_ = true;
    }
    note_unheld(initial.dropped, initial.dropped_first_due);
    publish();
  }

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
      // The set is in the index too (index_update): a reload brings the rest back.
      note_unheld(dropped, timers[room].due_ms);
      if (!overflow_logged_) {
        log_->error(
            "timer service holds the maximum of {} timers "
            "(pekko.workflow.timers.max-timers): {} timers of workflow '{}', and any others "
            "beyond it, stay in the workflow index and are read back as room frees",
            settings_.max_timers, dropped, id);
        overflow_logged_ = true;
      }
      timers.resize(room);
    }
    pending_ = others + timers.size();
    if (timers.empty()) {
      if (found != workflows_.end()) workflows_.erase(found);
    } else {
      auto& h = workflows_[id];
      h.generation = ++generation_;
      h.first_due = first_due_of(timers);
      h.timers = std::move(timers);
      latest_first_due_ = std::max(latest_first_due_, h.first_due);
      for (std::size_t i = 0; i < h.timers.size(); ++i)
        heap_.push(entry{h.timers[i].due_ms, id, h.generation, i});
    }
    compact_if_needed();
    publish();
  }

  // Whether reading the index would change what is held: some timers are only there,
  // and there is room for half the bound, or one of them is due before a set held (a
  // timer left there that is due while every set held is due earlier has to wait for
  // room either way).
  bool reload_wanted() const {
    if (!overflowed_ || reloading_) return false;
    return pending_ * 2 < settings_.max_timers || unheld_first_due_ < latest_first_due_;
  }

  // A reload_timers is sent: returns the mark that tells the sets replaced after it. The
  // answer says anew what is left in the index; refusals meanwhile add to that.
  std::uint64_t begin_reload() {
    reloading_ = true;
    saved_unheld_first_due_ = unheld_first_due_;
    overflowed_ = false;
    unheld_first_due_ = k_never;
    return generation_;
  }

  void reload_failed() {
    reloading_ = false;
    ++failed_reloads_;
    // What was only in the index before the request still is (refusals meanwhile add).
    overflowed_ = true;
    unheld_first_due_ = std::min(unheld_first_due_, saved_unheld_first_due_);
    publish();
  }

  // `load`: the index's sets due first, up to max-timers. A set held since before `mark`
  // that it does not name is due later than those (or was dropped from the index): it
  // goes back to the index. Its sets not held come in; those held are as new or newer
  // (kept as they are: a fired timer keeps its redelivery time), unless cut short here.
  void finish_reload(timer_load load, std::uint64_t mark) {
    reloading_ = false;
    ++reloads_;
    const auto named = [&load](const std::string& id) {
      auto it = std::lower_bound(
          load.timers.begin(), load.timers.end(), id,
          [](const workflow_timers& w, const std::string& key) { return w.workflow_id < key; });
      return it != load.timers.end() && it->workflow_id == id;
    };
    std::uint64_t evicted = 0;
    for (auto it = workflows_.begin(); it != workflows_.end();) {
      if (it->second.generation <= mark && !named(it->first)) {
        evicted += it->second.timers.size();
        pending_ -= it->second.timers.size();
        it = workflows_.erase(it);
      } else {
        ++it;
      }
    }
    note_unheld(load.dropped, load.dropped_first_due);
    // In: the sets not held, and those held cut short by the bound and not replaced
    // since (the index has them whole, as new or newer).
    std::vector<std::pair<std::int64_t, workflow_timers*>> in;
    for (auto& w : load.timers) {
      auto found = workflows_.find(w.workflow_id);
      if (found == workflows_.end() ||
          (found->second.generation <= mark && found->second.timers.size() < w.timers.size())) {
        in.emplace_back(first_due_of(w.timers), &w);
      }
    }
    std::sort(in.begin(), in.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto before = pending_;
    for (auto& [first, w] : in) set(w->workflow_id, std::move(w->timers));
    const auto added = pending_ - before;
    reloaded_ += added;
    latest_first_due_ = std::numeric_limits<std::int64_t>::min();
    for (const auto& [id, h] : workflows_)
      latest_first_due_ = std::max(latest_first_due_, h.first_due);
    if (deps_.metrics) deps_.metrics->timers_reloaded(added);
    if (overflowed_) {
      log_->info(
          "timer service read {} timers back from the workflow index ({} held, {} "
          "went back to it); some are still only there",
          added, pending_, evicted);
    } else {
      log_->info(
          "timer service read {} timers back from the workflow index: it holds all "
          "{} pending timers again",
          added, pending_);
      overflow_logged_ = false;
    }
    compact_if_needed();
    publish();
  }

  // Earliest live entry's time, if any (pops stale entries).
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

  timer_stats stats() const {
    return timer_stats{pending_, workflows_.size(), fired_,          refused_,
                       reloads_, reloaded_,         failed_reloads_, overflowed_ || reloading_};
  }

  const timer_settings& settings() const { return settings_; }

 private:
  bool live(const entry& e) const {
    auto found = workflows_.find(e.id);
    return found != workflows_.end() && found->second.generation == e.generation;
  }

  // `n` pending timers, the first due at `first_due`, are only in the index.
  void note_unheld(std::uint64_t n, std::int64_t first_due) {
    if (n == 0) return;
    overflowed_ = true;
    unheld_first_due_ = std::min(unheld_first_due_, first_due);
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
    if (!deps_.metrics) return;
    deps_.metrics->timers_pending(pending_);
    deps_.metrics->timers_overflowed(overflowed_ || reloading_);
  }

  timer_settings settings_;
  timer_service_deps deps_;
  std::unordered_map<std::string, held> workflows_;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
  std::uint64_t generation_ = 0;
  std::uint64_t pending_ = 0;
  std::uint64_t fired_ = 0;
  std::uint64_t refused_ = 0;
  std::uint64_t reloads_ = 0;
  std::uint64_t reloaded_ = 0;
  std::uint64_t failed_reloads_ = 0;
  // Timers only in the index: whether there are any, the earliest due of them (an
  // estimate from below), and the latest first-due of the sets held (from above).
  bool overflowed_ = false;
  bool reloading_ = false;
  bool overflow_logged_ = false;
  std::int64_t unheld_first_due_ = k_never;
  std::int64_t saved_unheld_first_due_ = k_never;
  std::int64_t latest_first_due_ = std::numeric_limits<std::int64_t>::min();
  std::shared_ptr<spdlog::logger> log_ = core::logger("workflow");
};

struct service_state {
  service_state() = default;  // not an aggregate (see definition_registry.cpp)
  std::unique_ptr<timer_table> table;
  caf::actor sink;
  caf::actor index;
  std::uint64_t wake_generation = 0;
  std::optional<std::int64_t> wake_at;  // clock time of the scheduled wake-up
  bool reload_scheduled = false;        // a reload_atom is on its way
  std::int64_t next_reload_at = std::numeric_limits<std::int64_t>::min();
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

void fire(self_ptr self);

// A one-shot detached actor: one load_timers on its own thread, then it stops.
caf::behavior timer_scanner(caf::event_based_actor* self,
                            std::shared_ptr<const workflow_index> index, std::uint64_t max_timers) {
  return {
      [self, index = std::move(index), max_timers](scan_atom) -> timer_load_result {
        self->quit();
        return index->load_timers(max_timers);
      },
  };
}

// Asks the index for the timers beyond max-timers when that would change what is held,
// at most once per reload-interval (later: a reload_atom is scheduled).
void maybe_reload(self_ptr self) {
  auto& st = self->state;
  if (!st.index || !st.table->reload_wanted()) return;
  const auto now = st.table->now();
  if (now < st.next_reload_at) {
    if (!st.reload_scheduled) {
      st.reload_scheduled = true;
      self->delayed_send(self, std::chrono::milliseconds(st.next_reload_at - now),
                         reload_atom::value);
    }
    return;
  }
  const auto mark = st.table->begin_reload();
  const auto failed = [self](const std::string& why) {
    auto& s = self->state;
    s.next_reload_at = s.table->now() + s.table->settings().reload_interval.count();
    core::logger("workflow")
        ->error("timer service: reading timers from the workflow index: {}", why);
    s.table->reload_failed();
    fire(self);
  };
  // The index actor writes what waits and hands over the index; the scan then runs on a
  // thread of its own, so the index's writes and queries go on meanwhile.
  self->request(st.index, caf::infinite, reload_timers{})
      .then(
          [self, mark, failed](timer_scan& scan) {
            auto scanner = self->spawn<caf::detached>(timer_scanner, std::move(scan.index),
                                                      self->state.table->settings().max_timers);
            self->request(scanner, caf::infinite, scan_atom::value)
                .then(
                    [self, mark, failed](timer_load_result& r) {
                      if (!r) return failed(r.error().describe());
                      auto& s = self->state;
                      s.next_reload_at =
                          s.table->now() + s.table->settings().reload_interval.count();
                      for (auto& id : r->damaged) {
                        core::logger("workflow")
                            ->warn("workflow '{}' is recovered: its timers were damaged", id);
                        self->send(s.sink, timers_damaged{std::move(id)});
                      }
                      s.table->finish_reload(std::move(*r), mark);
                      fire(self);
                    },
                    [failed](caf::error& e) { failed(caf::to_string(e)); });
          },
          [failed](caf::error& e) {
            failed("the index actor did not answer: " + caf::to_string(e));
          });
}

void fire(self_ptr self) {
  auto& st = self->state;
  const bool more = st.table->fire_due(self, st.sink);
  schedule(self, more);
  maybe_reload(self);
}

caf::behavior timer_service(self_ptr self, caf::actor sink, timer_service_deps deps,
                            timer_settings settings, timer_load initial) {
  auto& st = self->state;
  st.sink = std::move(sink);
  st.index = deps.index;
  st.table = std::make_unique<timer_table>(settings, std::move(deps));
  st.table->load(std::move(initial));
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
      [self](reload_atom) {
        self->state.reload_scheduled = false;
        maybe_reload(self);
      },
      [self](const timer_check&) { fire(self); },
      [self](const get_timer_stats&) { return self->state.table->stats(); },
  };
}

}  // namespace

caf::actor spawn_timer_service(caf::actor_system& sys, const caf::actor& sink,
                               timer_service_deps deps, const timer_settings& settings,
                               timer_load initial) {
  return sys.spawn(timer_service, sink, std::move(deps), settings, std::move(initial));
}

}  // namespace wfe::workflow::store
