#include "persistence/recovery_permits.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "engine/core/logging.hpp"

namespace wfe::persistence {
namespace {

using acquire_atom = caf::atom_constant<caf::atom("pacquire")>;
using release_atom = caf::atom_constant<caf::atom("prelease")>;

struct permits_state {
  std::uint32_t free = 0;
  std::shared_ptr<recovery_permit_stats> stats;
  std::multiset<caf::actor_addr> holders;
  struct waiter {
    caf::actor_addr who;
    caf::response_promise promise;
  };
  std::deque<waiter> waiting;
  // Permits held + waited for, per actor; monitored while above zero.
  std::map<caf::actor_addr, std::size_t> interest;

  void set_monitored() {
    if (stats) stats->monitored.store(interest.size(), std::memory_order_relaxed);
  }

  void grant(const caf::actor_addr& who, caf::response_promise& promise) {
    --free;
    holders.insert(who);
    if (stats) {
      stats->granted.fetch_add(1, std::memory_order_relaxed);
      auto now = stats->in_use.fetch_add(1, std::memory_order_relaxed) + 1;
      auto seen = stats->max_in_use.load(std::memory_order_relaxed);
      while (now > seen && !stats->max_in_use.compare_exchange_weak(seen, now)) {
      }
    }
    promise.deliver(true);
  }

  // Returns the permit of `who` if it holds one, then hands it to the next waiter.
  // False: `who` held none.
  bool release(const caf::actor_addr& who) {
    auto it = holders.find(who);
    if (it == holders.end()) return false;
    holders.erase(it);
    ++free;
    if (stats) stats->in_use.fetch_sub(1, std::memory_order_relaxed);
    if (!waiting.empty()) {
      auto next = std::move(waiting.front());
      waiting.pop_front();
      grant(next.who, next.promise);
    }
    return true;
  }
};

caf::behavior permits_actor(caf::stateful_actor<permits_state>* self, std::uint32_t max,
                            std::shared_ptr<recovery_permit_stats> stats) {
  self->state.free = max;
  self->state.stats = std::move(stats);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    std::erase_if(st.waiting, [&](const auto& w) { return w.who == msg.source; });
    while (st.holders.count(msg.source) > 0) st.release(msg.source);
    st.interest.erase(msg.source);
    st.set_monitored();
  });
  return {
      [self](acquire_atom) {
        auto who = self->current_sender();
        auto promise = self->make_response_promise();
        auto& st = self->state;
        if (st.interest[caf::actor_cast<caf::actor_addr>(who)]++ == 0) {
          if (auto handle = caf::actor_cast<caf::actor>(who)) self->monitor(handle);
          st.set_monitored();
        }
        if (st.free > 0) {
          st.grant(caf::actor_cast<caf::actor_addr>(who), promise);
        } else {
          st.waiting.push_back({caf::actor_cast<caf::actor_addr>(who), std::move(promise)});
        }
      },
      [self](release_atom) {
        auto& st = self->state;
        auto who = caf::actor_cast<caf::actor_addr>(self->current_sender());
        if (!st.release(who)) return;
        auto it = st.interest.find(who);
        if (it != st.interest.end() && --it->second == 0) {
          st.interest.erase(it);
          self->demonitor(who);
          st.set_monitored();
        }
      },
  };
}

}  // namespace

caf::actor spawn_recovery_permits(caf::actor_system& sys, std::uint32_t max_concurrent,
                                  std::shared_ptr<recovery_permit_stats> stats) {
  return sys.spawn(permits_actor, std::max<std::uint32_t>(max_concurrent, 1), std::move(stats));
}

void acquire_recovery_permit(caf::event_based_actor* self, const caf::actor& permits,
                             const std::function<void()>& on_granted) {
  if (!permits) {
    on_granted();
    return;
  }
  self->request(permits, caf::infinite, acquire_atom::value)
      .then([on_granted](bool) { on_granted(); },
            [on_granted](caf::error& e) {
              core::logger("persistence")
                  ->warn("recovery permit actor unavailable ({}); recovering without a permit",
                         caf::to_string(e));
              on_granted();
            });
}

void release_recovery_permit(caf::event_based_actor* self, const caf::actor& permits) {
  if (permits) self->send(permits, release_atom::value);
}

}  // namespace wfe::persistence
