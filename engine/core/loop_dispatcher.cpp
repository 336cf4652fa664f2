#include "engine/core/loop_dispatcher.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace wfe::core {

namespace {
// The deferred_wakeups scope open on this thread, if any.
thread_local loop_dispatcher::deferred_wakeups* current_scope = nullptr;
}  // namespace

void loop_dispatcher::guest_unit::exec_later(caf::resumable* r) { system().scheduler().enqueue(r); }

loop_dispatcher::loop_dispatcher(caf::actor_system& sys, std::size_t throughput)
    : sys_(sys),
      throughput_(std::max<std::size_t>(1, throughput)),
      home_(sys, *this),
      guest_(sys) {}

loop_dispatcher::~loop_dispatcher() { detach(); }

void loop_dispatcher::attach(post_fn post) {
  auto fn = std::make_shared<const post_fn>(std::move(post));
  const std::lock_guard lock(mu_);
  post_ = std::move(fn);
}

void loop_dispatcher::detach() {
  std::vector<caf::resumable*> rest;
  {
    const std::lock_guard lock(mu_);
    post_ = nullptr;
    drain_posted_ = false;
    rest.swap(queue_);
  }
  for (auto* r : rest) sys_.scheduler().enqueue(r);
}

void loop_dispatcher::schedule(caf::resumable* r) {
  std::shared_ptr<const post_fn> post;
  {
    const std::lock_guard lock(mu_);
    if (post_) {
      queue_.push_back(r);
      if (drain_posted_) return;
      drain_posted_ = true;
      post = post_;
    }
  }
  if (!post) {
    sys_.scheduler().enqueue(r);
    return;
  }
  // Outside the lock (posting wakes the loop, which then takes the lock to drain). A
  // detach() in between has handed the queue to the scheduler already: this drain then
  // finds nothing, or never runs on a stopped loop. Within a deferred_wakeups scope the
  // post waits for the scope's end (drain_posted_ keeps later schedules from posting).
  if (auto* scope = current_scope) {
    scope->held_.push_back({this, std::move(post)});
    return;
  }
  post_drain(*post);
}

void loop_dispatcher::post_drain(const post_fn& post) {
  post([this] { drain(); });
}

loop_dispatcher::deferred_wakeups::deferred_wakeups() : outermost_(current_scope == nullptr) {
  if (outermost_) current_scope = this;
}

loop_dispatcher::deferred_wakeups::~deferred_wakeups() {
  if (!outermost_) return;
  current_scope = nullptr;
  // Each dispatcher appears at most once: its drain_posted_ stays set until the drain
  // posted here runs. The dispatcher is alive: the actor queued on it holds it.
  for (auto& h : held_) h.dispatcher->post_drain(*h.post);
}

void loop_dispatcher::drain() {
  std::vector<caf::resumable*> batch;
  {
    const std::lock_guard lock(mu_);
    batch.swap(queue_);
    drain_posted_ = false;
  }
  for (auto* r : batch) run(r);
}

void loop_dispatcher::run(caf::resumable* r) {
  switch (r->resume(&guest_, throughput_)) {
    case caf::resumable::resume_later:
      schedule(r);  // keeps its reference: behind the others, in the next drain
      return;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
    case caf::resumable::shutdown_execution_unit:
      caf::intrusive_ptr_release(r);
      return;
  }
}

}  // namespace wfe::core
